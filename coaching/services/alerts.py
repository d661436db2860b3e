"""Alert rules at work: every ``response.answered`` event is evaluated by the outbox consumer in
``coaching/consumers.py``, which calls ``response_evaluate`` in the delivery's transaction (the
alert, its inbox rows, its channel deliveries and "done" commit together, exactly once).

* One alert per (rule, response), ever: the unique constraint decides; a conflict is "already
  raised" (a redelivered event, or the same rule matching again after an edit).
* A later answer that no longer matches marks the alert (``no_longer_matches``), never deletes
  it; matching again clears the mark.
* Rolling averages fire on the crossing: a per (rule, agent) row remembers "below", locked while
  evaluating so two ratings of one agent cannot both see the crossing.

The consumer drains deliveries in batches (``batch=N`` in coaching/consumers.py). What every
response of a batch needs — the organization's rules, the recipients per team, the Slack target
and the webhook endpoint — is read once per batch (``batch_memo``), and the queries per response
do not grow with the number of rules or recipients: one read of the response (with its
organization and the alerts it already raised), one ``INSERT … ON CONFLICT DO NOTHING`` for
every rule that fired, then per new alert its inbox rows and ``alert.created`` event (plus a
constant few for rolling averages and channels). tests/test_alerts_pipeline.py asserts the
counts.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, TextField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from coachhub.core.models import Notification
from coachhub.core.outbox import batch_memo, event_record
from coachhub.tenancy.models import Membership, Organization, Role
from feedback.models import Mode, RequestKind, Response

from ..models import (
    Alert,
    AlertChannel,
    AlertRule,
    AlertState,
    ChannelDelivery,
    DeliveryKind,
    RuleAgentState,
    RuleKind,
    SlackTarget,
)
from . import rules as rule_logic
from .transports import slack_escape
from .webhooks import deliveries_create, webhook_delivery

log = logging.getLogger(__name__)

EVENT_ALERT_CREATED = "alert.created"


def rules_for(organization_id: int, team_id: int | None) -> list[AlertRule]:
    """The active rules that apply to a response of ``team_id`` (the organization's and the
    team's), read once per delivery batch for every team."""
    rules = batch_memo(
        "coaching.rules",
        lambda: list(
            AlertRule.objects.filter(organization_id=organization_id, is_active=True).order_by("id")
        ),
    )
    return [r for r in rules if r.team_id is None or r.team_id == team_id]


def recent_stars(response: Response, n: int) -> list[int]:
    """The agent's last ``n`` counted star ratings, newest first."""
    return list(
        Response.objects.filter(
            organization_id=response.organization_id,
            agent_id=response.agent_id,
            confirmed=True,
            excluded=False,
            stars__isnull=False,
            interaction__mode=Mode.LIVE,
            request__kind=RequestKind.INITIAL,
        )
        .order_by("-submitted_at", "-id")
        .values_list("stars", flat=True)[:n]
    )


def _rolling_crossings(rules: list[AlertRule], response: Response) -> dict[int, str]:
    """{rule id: reason} for the rolling-average rules whose line the agent just crossed.
    A constant number of queries for any number of rules: the (rule, agent) state rows are
    made if missing and locked together, the stars read once for the widest window."""
    org_id, agent_id = response.organization_id, response.agent_id
    RuleAgentState.objects.bulk_create(
        [RuleAgentState(organization_id=org_id, rule=r, agent_id=agent_id) for r in rules],
        ignore_conflicts=True,
    )
    states = {
        s.rule_id: s
        for s in RuleAgentState.objects.select_for_update().filter(
            organization_id=org_id, agent_id=agent_id, rule_id__in=[r.pk for r in rules]
        )
    }
    stars = recent_stars(response, max(r.window for r in rules))
    reasons: dict[int, str] = {}
    flips: dict[bool, list[int]] = {True: [], False: []}
    for rule in rules:
        window = stars[: rule.window]
        avg = Decimal(sum(window)) / len(window) if window else None
        below = avg is not None and len(window) == rule.window and avg < rule.threshold
        state = states[rule.pk]
        if below and not state.below:
            reasons[rule.pk] = (
                f"Average of the last {rule.window} ratings fell to {avg:.2f} "
                f"(below {rule.threshold.normalize()})"
            )
        if below != state.below:
            flips[below].append(state.pk)
    now = timezone.now()
    for below, ids in flips.items():
        if ids:
            RuleAgentState.objects.filter(organization_id=org_id, pk__in=ids).update(
                below=below, updated_at=now
            )
    return reasons


# What the rules, the messages and the payloads read (a deferred field would cost a query per
# response: tests/test_alerts_pipeline.py counts them).
_RESPONSE_FIELDS = (
    "organization_id",
    "public_id",
    "interaction_id",
    "agent_id",
    "team_id",
    "stars",
    "resolved",
    "nps",
    "comment",
    "confirmed",
    "organization__slug",
    "organization__name",
    "interaction__mode",
    "interaction__public_id",
    "interaction__external_id",
    "request__kind",
    "agent__public_id",
    "agent__user__first_name",
    "agent__user__last_name",
    "agent__user__email",
)


# The alerts a response already has, as JSON [[id, rule id, no longer matches], …], read with
# the response (a correlated subquery: one round trip, and cheap to build, unlike the ORM's).
_RAISED_SQL = (
    "SELECT COALESCE(json_agg(json_build_array(a.id, a.rule_id, a.no_longer_matches)), '[]')"
    "::text FROM coaching_alert a WHERE a.organization_id = feedback_response.organization_id"
    " AND a.response_id = feedback_response.id"
)


def _response_of(organization_id: int, response_public_id: str) -> Response | None:
    """The response with what the rules and messages read, and ``raised``: {rule id: (alert
    id, no longer matches)} of the alerts it already has."""
    found = list(
        Response.objects.select_related("organization", "interaction", "request", "agent__user")
        .only(*_RESPONSE_FIELDS)
        .annotate(raised_json=RawSQL(_RAISED_SQL, (), output_field=TextField()))  # noqa: S611 (constant SQL)
        .filter(organization_id=organization_id, public_id=response_public_id)
    )
    if not found:
        return None
    response = found[0]
    response.raised = {
        rule: (pk, no_longer) for pk, rule, no_longer in json.loads(response.raised_json)
    }
    return response


def response_evaluate(organization_id: int, response_public_id: str) -> list[Alert]:
    """Run the organization's rules on a response as it is now. Returns the new alerts."""
    response = _response_of(organization_id, response_public_id)
    if response is None or not response.confirmed:
        return []
    interaction = response.interaction
    if interaction.mode != Mode.LIVE or response.request.kind != RequestKind.INITIAL:
        return []  # test data and recovery follow-ups raise no alerts
    answer = rule_logic.Answer(
        stars=response.stars,
        resolved=response.resolved,
        nps=response.nps,
        comment=response.comment,
    )
    existing = response.raised
    rules = rules_for(organization_id, response.team_id)
    rolling = [r for r in rules if r.kind == RuleKind.ROLLING_AVERAGE]
    crossed = _rolling_crossings(rolling, response) if rolling else {}
    now = timezone.now()
    fired: list[tuple[AlertRule, str]] = []
    marks: dict[bool, list[int]] = {True: [], False: []}  # no_longer_matches → alert ids
    for rule in rules:
        if rule.kind == RuleKind.ROLLING_AVERAGE:
            # A crossing is a moment: it is not "un-matched" by later edits.
            if rule.pk in crossed and rule.pk not in existing:
                fired.append((rule, crossed[rule.pk]))
            continue
        reason = rule_logic.matches(rule, answer)
        alert = existing.get(rule.pk)
        if alert is None:
            if reason:
                fired.append((rule, reason))
        elif bool(reason) == alert[1]:  # (id, no longer matches)
            # Changed since: mark (or clear the mark), never delete.
            marks[not reason].append(alert[0])
    for no_longer, ids in marks.items():
        if ids:
            Alert.objects.filter(organization_id=organization_id, pk__in=ids).update(
                no_longer_matches=no_longer,
                no_longer_matches_at=now if no_longer else None,
                updated_at=now,
            )
    created = _alerts_insert(
        [
            Alert(
                organization_id=organization_id,
                rule=rule,
                response=response,
                interaction_id=response.interaction_id,
                agent_id=response.agent_id,
                team_id=response.team_id,
                reason=reason[:300],
                created_at=now,
                updated_at=now,
            )
            for rule, reason in fired
        ]
    )
    for alert in created:
        _alert_notify(response.organization, alert, response)
    return created


def _alerts_insert(alerts: list[Alert]) -> list[Alert]:
    """Insert the alerts in one ``INSERT … ON CONFLICT DO NOTHING RETURNING``; returns those
    that are new. A (rule, response) that already has its alert — raised meanwhile by a
    concurrent evaluation of the same response — is skipped: the unique constraint decides,
    without a savepoint per alert."""
    if not alerts:
        return []
    meta = Alert._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    qn = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)})"  # noqa: S608
        f" VALUES {', '.join([row] * len(alerts))}"
        " ON CONFLICT ON CONSTRAINT alert_once_per_response DO NOTHING"
        f" RETURNING {qn(meta.pk.column)}, {qn(meta.get_field('public_id').column)}"
    )
    params = [
        f.get_db_prep_save(f.pre_save(alert, add=True), connection)
        for alert in alerts
        for f in fields
    ]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        new = {str(public_id): pk for pk, public_id in cur.fetchall()}
    created = []
    for alert in alerts:
        if str(alert.public_id) in new:
            alert.pk = new[str(alert.public_id)]
            alert._state.adding, alert._state.db = False, connection.alias
            created.append(alert)
    return created


class Recipient(NamedTuple):
    """Who gets an alert: the membership, and where its e-mail goes if they want e-mail."""

    id: int
    email: str
    email_notifications: bool


def alert_recipients(organization_id: int, team_id: int | None) -> list[Recipient]:
    """The supervisors leading the alert's team; the admins when nobody leads it (one query:
    the team's leads and the admins, told apart in Python)."""
    rows = (
        Membership.objects.filter(organization_id=organization_id, is_active=True)
        .filter((Q(role=Role.ADMIN) | Q(leads__team_id=team_id)) if team_id else Q(role=Role.ADMIN))
        .order_by("id")
        .values_list("id", "user__email", "email_notifications", "role", "leads__team_id")
    )
    leads: dict[int, Recipient] = {}
    admins: dict[int, Recipient] = {}
    for pk, email, wants_email, role, led_team in rows:
        recipient = Recipient(pk, email or "", wants_email)
        if team_id is not None and led_team == team_id:
            leads[pk] = recipient
        if role == Role.ADMIN:
            admins[pk] = recipient
    return list((leads or admins).values())


def alert_path(organization, alert: Alert) -> str:
    return f"/o/{organization.slug}/coaching/alerts/{alert.public_id}/"


def alert_data(organization, alert: Alert, response: Response) -> dict:
    """The ``alert.created`` payload (webhook ``data`` and the recorded event)."""
    return {
        "id": str(alert.public_id),
        "rule": {"id": str(alert.rule.public_id), "name": alert.rule.name, "kind": alert.rule.kind},
        "interaction": str(response.interaction.public_id),
        "external_id": response.interaction.external_id,
        "response": str(response.public_id),
        "agent": str(response.agent.public_id),
        "reason": alert.reason,
        "state": alert.state,
        "created_at": alert.created_at.isoformat(),
        "stars": response.stars,
        "resolved": response.resolved,
        "nps": response.nps,
        "comment": response.comment,
    }


def slack_body(organization, alert: Alert, response: Response) -> str:
    import json

    agent = response.agent.display_name
    link = f"{settings.SITE_URL}{alert_path(organization, alert)}"
    stars = f"{response.stars}★ " if response.stars else ""
    headline = f"{stars}{slack_escape(alert.reason)} · {slack_escape(agent)}"
    lines = [f"*{headline}*"]
    if response.comment:
        lines.append("> " + slack_escape(response.comment[:500]).replace("\n", "\n> "))
    lines.append(f"<{link}|Open the alert in CoachHub>")
    text = "\n".join(lines)
    return json.dumps(
        {
            "text": f"CoachHub alert: {headline}",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        },
        ensure_ascii=False,
    )


def email_text(organization, alert: Alert, response: Response) -> str:
    link = f"{settings.SITE_URL}{alert_path(organization, alert)}"
    parts = [
        f"{alert.reason}.",
        f"Agent: {response.agent.display_name}",
        f"Interaction: {response.interaction.external_id}",
    ]
    if response.stars:
        parts.append(f"Stars: {response.stars}")
    if response.comment:
        parts.append(f"Comment: {response.comment}")
    parts += ["", f"Open the alert: {link}"]
    return "\n".join(parts)


def _alert_notify(organization, alert: Alert, response: Response) -> None:
    """Inbox rows, the ``alert.created`` event and each chosen channel's delivery, all in the
    alert's transaction."""
    rule = alert.rule
    recipients = batch_memo(
        ("coaching.recipients", alert.team_id),
        lambda: alert_recipients(organization.pk, alert.team_id),
    )
    path = alert_path(organization, alert)
    title = f"Alert: {response.agent.display_name} — {alert.reason}"[:200]
    # The inbox is always on. Written directly (not notify()): whether e-mail goes out is the
    # rule's choice, made below.
    Notification.objects.bulk_create(
        [
            Notification(
                organization_id=organization.pk,
                recipient_id=m.id,
                kind="alert",
                title=title,
                body=response.comment[:500],
                url=path,
            )
            for m in recipients
        ]
    )
    data = alert_data(organization, alert, response)
    event = event_record(organization.pk, EVENT_ALERT_CREATED, data)
    rows: list[ChannelDelivery] = []
    channels = set(rule.channels)
    if AlertChannel.EMAIL in channels:
        body = email_text(organization, alert, response)
        for m in recipients:
            if m.email_notifications and m.email:
                rows.append(
                    ChannelDelivery(
                        kind=DeliveryKind.EMAIL,
                        event_id=event.public_id,
                        event_type=EVENT_ALERT_CREATED,
                        alert=alert,
                        target=m.email,
                        subject=f"[{organization.name}] {title}"[:200],
                        body=body,
                    )
                )
    if AlertChannel.SLACK in channels:
        target = batch_memo(
            ("coaching.slack", alert.team_id),
            lambda: slack_target_for(organization.pk, alert.team_id),
        )
        if target:
            rows.append(
                ChannelDelivery(
                    kind=DeliveryKind.SLACK,
                    event_id=event.public_id,
                    event_type=EVENT_ALERT_CREATED,
                    alert=alert,
                    target=target.url,
                    body=slack_body(organization, alert, response),
                )
            )
    if AlertChannel.WEBHOOK in channels:
        hook = webhook_delivery(
            organization,
            event_id=event.public_id,
            event_type=EVENT_ALERT_CREATED,
            created_at=event.created_at,
            data=data,
            alert=alert,
        )
        if hook:
            rows.append(hook)
    deliveries_create(organization.pk, rows)


def slack_target_for(organization_id: int, team_id: int | None) -> SlackTarget | None:
    """The team's Slack channel, else the organization's."""
    targets = {
        t.team_id: t
        for t in SlackTarget.objects.filter(organization_id=organization_id).filter(
            Q(team__isnull=True) | Q(team_id=team_id)
        )
    }
    return targets.get(team_id) or targets.get(None)


# --- response.finished → the outbound webhook ------------------------------------------------

PUBLIC_RESPONSE_FIELDS = (
    "response",
    "interaction",
    "external_id",
    "agent",
    "stars",
    "resolved",
    "nps",
    "qualities",
    "reward_tier",
    "comment",
    "finished",
    "updated_at",
)


def response_finished_forward(event) -> None:
    if event.data.get("mode") != Mode.LIVE:
        return
    organization = Organization.objects.get(pk=event.organization_id)
    data = {k: event.data.get(k) for k in PUBLIC_RESPONSE_FIELDS}
    delivery = webhook_delivery(
        organization,
        event_id=event.public_id,
        event_type=event.type,
        created_at=event.created_at,
        data=data,
    )
    if delivery:
        deliveries_create(organization.pk, [delivery])


# --- the inbox's actions ---------------------------------------------------------------------


@transaction.atomic
def alert_acknowledge(alert: Alert, member: Membership) -> bool:
    now = timezone.now()
    return bool(
        Alert.objects.filter(
            organization_id=alert.organization_id, pk=alert.pk, state=AlertState.OPEN
        ).update(
            state=AlertState.ACKNOWLEDGED,
            acknowledged_by=member,
            acknowledged_at=now,
            updated_at=now,
        )
    )


@transaction.atomic
def alert_resolve(alert: Alert, member: Membership) -> bool:
    now = timezone.now()
    return bool(
        Alert.objects.filter(organization_id=alert.organization_id, pk=alert.pk)
        .exclude(state=AlertState.RESOLVED)
        .update(state=AlertState.RESOLVED, resolved_by=member, resolved_at=now, updated_at=now)
    )


@transaction.atomic
def alert_reopen(alert: Alert, member: Membership) -> bool:
    return bool(
        Alert.objects.filter(
            organization_id=alert.organization_id, pk=alert.pk, state=AlertState.RESOLVED
        ).update(
            state=AlertState.OPEN, resolved_by=None, resolved_at=None, updated_at=timezone.now()
        )
    )


# --- rules: admin writes ---------------------------------------------------------------------


@transaction.atomic
def rule_save(organization, values: dict, *, rule: AlertRule | None = None, team=None) -> AlertRule:
    cleaned = rule_logic.clean_rule(values)
    rule = rule or AlertRule(organization=organization)
    for field, value in cleaned.items():
        setattr(rule, field, value)
    rule.team = team
    rule.is_active = bool(values.get("is_active", True))
    rule.save()
    return rule


@transaction.atomic
def rule_delete(rule: AlertRule) -> str:
    """Rules with alerts are deactivated (the alerts keep their rule); others deleted."""
    if Alert.objects.filter(organization_id=rule.organization_id, rule=rule).exists():
        AlertRule.objects.filter(organization_id=rule.organization_id, pk=rule.pk).update(
            is_active=False
        )
        return "deactivated"
    AlertRule.objects.filter(organization_id=rule.organization_id, pk=rule.pk).delete()
    return "deleted"


@transaction.atomic
def slack_target_set(organization, *, team=None, url: str) -> SlackTarget | None:
    qs = SlackTarget.objects.filter(organization_id=organization.pk, team=team)
    if not url:
        qs.delete()
        return None
    target = qs.first()
    if target:
        target.url = url
        target.save(update_fields=["url"])
        return target
    return SlackTarget.objects.create(organization=organization, team=team, url=url)
