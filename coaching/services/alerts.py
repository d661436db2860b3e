"""Alert rules at work: every ``response.answered`` event is evaluated by the outbox consumer in
``coaching/consumers.py``, which calls ``response_evaluate`` in the delivery's transaction (the
alert, its inbox rows, its channel deliveries and "done" commit together, exactly once).

* One alert per (rule, response), ever: the unique constraint decides; a conflict is "already
  raised" (a redelivered event, or the same rule matching again after an edit).
* A later answer that no longer matches marks the alert (``no_longer_matches``), never deletes
  it; matching again clears the mark.
* Rolling averages fire on the crossing: a per (rule, agent) row remembers "below", locked while
  evaluating so two ratings of one agent cannot both see the crossing.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from coachhub.core.models import Notification
from coachhub.core.outbox import event_record
from coachhub.tenancy.models import Membership, Organization, Role, TeamLead
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
    qs = AlertRule.objects.filter(organization_id=organization_id, is_active=True)
    return list(qs.filter(Q(team__isnull=True) | Q(team_id=team_id)).order_by("id"))


def rolling_average(response: Response, window: int) -> tuple[int, Decimal | None]:
    """(how many, average) of the agent's last ``window`` counted star ratings."""
    stars = list(
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
        .values_list("stars", flat=True)[:window]
    )
    if not stars:
        return 0, None
    return len(stars), Decimal(sum(stars)) / len(stars)


def _rolling_crossing(rule: AlertRule, response: Response) -> str | None:
    state, _ = RuleAgentState.objects.select_for_update().get_or_create(
        organization_id=response.organization_id, rule=rule, agent_id=response.agent_id
    )
    n, avg = rolling_average(response, rule.window)
    below = n >= rule.window and avg < rule.threshold
    crossed = below and not state.below
    if below != state.below:
        state.below = below
        state.updated_at = timezone.now()
        state.save(update_fields=["below", "updated_at"])
    if crossed:
        return (
            f"Average of the last {rule.window} ratings fell to {avg:.2f} "
            f"(below {rule.threshold.normalize()})"
        )
    return None


def response_evaluate(organization_id: int, response_public_id: str) -> list[Alert]:
    """Run the organization's rules on a response as it is now. Returns the new alerts."""
    response = (
        Response.objects.select_related("interaction", "request", "agent__user")
        .filter(organization_id=organization_id, public_id=response_public_id)
        .first()
    )
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
    existing = {
        a.rule_id: a
        for a in Alert.objects.filter(organization_id=organization_id, response=response)
    }
    created: list[Alert] = []
    now = timezone.now()
    for rule in rules_for(organization_id, response.team_id):
        if rule.kind == RuleKind.ROLLING_AVERAGE:
            reason = _rolling_crossing(rule, response)
            if reason and rule.pk not in existing:
                alert = _alert_create(rule, response, reason, now)
                if alert:
                    created.append(alert)
            continue  # a crossing is a moment: it is not "un-matched" by later edits
        reason = rule_logic.matches(rule, answer)
        alert = existing.get(rule.pk)
        if alert is None:
            if reason:
                alert = _alert_create(rule, response, reason, now)
                if alert:
                    created.append(alert)
        elif bool(reason) == alert.no_longer_matches:
            # Changed since: mark (or clear the mark), never delete.
            Alert.objects.filter(organization_id=organization_id, pk=alert.pk).update(
                no_longer_matches=not reason,
                no_longer_matches_at=None if reason else now,
                updated_at=now,
            )
    if created:
        organization = Organization.objects.get(pk=organization_id)
        for alert in created:
            _alert_notify(organization, alert, response)
    return created


def _alert_create(rule: AlertRule, response: Response, reason: str, now) -> Alert | None:
    try:
        with transaction.atomic():  # savepoint: a conflict must not spoil the delivery's tx
            return Alert.objects.create(
                organization_id=response.organization_id,
                rule=rule,
                response=response,
                interaction_id=response.interaction_id,
                agent_id=response.agent_id,
                team_id=response.team_id,
                reason=reason[:300],
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        return None  # already raised for this (rule, response)


def alert_recipients(organization_id: int, team_id: int | None) -> list[Membership]:
    """The supervisors leading the alert's team; the admins when nobody leads it."""
    leads = []
    if team_id is not None:
        leads = list(
            Membership.objects.filter(
                organization_id=organization_id,
                is_active=True,
                pk__in=TeamLead.objects.filter(
                    organization_id=organization_id, team_id=team_id
                ).values("membership_id"),
            ).select_related("user")
        )
    if leads:
        return leads
    return list(
        Membership.objects.filter(
            organization_id=organization_id, is_active=True, role=Role.ADMIN
        ).select_related("user")
    )


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
    recipients = alert_recipients(organization.pk, alert.team_id)
    path = alert_path(organization, alert)
    title = f"Alert: {response.agent.display_name} — {alert.reason}"[:200]
    # The inbox is always on. Written directly (not notify()): whether e-mail goes out is the
    # rule's choice, made below.
    Notification.objects.bulk_create(
        [
            Notification(
                organization_id=organization.pk,
                recipient=m,
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
            if m.email_notifications and m.user.email:
                rows.append(
                    ChannelDelivery(
                        kind=DeliveryKind.EMAIL,
                        event_id=event.public_id,
                        event_type=EVENT_ALERT_CREATED,
                        alert=alert,
                        target=m.user.email,
                        subject=f"[{organization.name}] {title}"[:200],
                        body=body,
                    )
                )
    if AlertChannel.SLACK in channels:
        target = slack_target_for(organization.pk, alert.team_id)
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
