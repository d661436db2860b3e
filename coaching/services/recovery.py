"""Service recovery writes: open a case (the organization's rule on ``response.finished``, or a
supervisor from an alert), move it through its states (illegal transitions refused, each one
recorded with who/when/note), send the follow-up survey (a ``recovery`` feedback request on the
same interaction, sent by the survey machinery, never suppressed, never counted in metrics),
and record the follow-up rating when that survey finishes.

Organization setting ``recovery_rule`` (defaults in ``RECOVERY_DEFAULTS``): a case opens when
any enabled condition matches.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from coachhub.tenancy.models import Membership
from feedback.models import (
    FeedbackRequest,
    Mode,
    RequestKind,
    RequestStatus,
    Response,
    SurveyState,
)
from feedback.settings import org_setting

from ..models_recovery import CaseState, RecoveryCase, RecoveryTransition

RECOVERY_DEFAULTS = {
    "enabled": True,
    "stars_at_most": 2,  # None: not a condition
    "not_resolved": False,
    "nps_detractor": False,
    "tag": "",
}

# to_state → states it may come from
TRANSITIONS: dict[str, tuple[str, ...]] = {
    CaseState.CLAIMED: (CaseState.NEW,),
    CaseState.CONTACTED: (CaseState.CLAIMED,),
    CaseState.SURVEY_SENT: (CaseState.CONTACTED,),
    CaseState.RECOVERED: (CaseState.CONTACTED, CaseState.SURVEY_SENT),
    CaseState.NOT_RECOVERED: (CaseState.CONTACTED, CaseState.SURVEY_SENT),
    CaseState.CLOSED: (CaseState.NEW, CaseState.CLAIMED, CaseState.CONTACTED),
}

MAX_NOTE = 4000


class TransitionRefused(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def recovery_rule(organization) -> dict:
    stored = (organization.settings or {}).get("recovery_rule") or {}
    return {**RECOVERY_DEFAULTS, **stored}


def rule_reason(rule: dict, *, stars, resolved, nps, tags) -> str:
    """Why the rule opens a case for these answers ('' = it does not)."""
    if not rule.get("enabled"):
        return ""
    limit = rule.get("stars_at_most")
    if limit is not None and stars is not None and stars <= int(limit):
        return f"{stars} star{'s' if stars != 1 else ''} (rule: {limit} or fewer)"
    if rule.get("not_resolved") and resolved is False:
        return "Not resolved"
    if rule.get("nps_detractor") and nps is not None and nps <= 6:
        return f"NPS detractor ({nps})"
    tag = (rule.get("tag") or "").strip()
    if tag and tag in (tags or []):
        return f"Tagged {tag}"
    return ""


def rule_update(organization, values: dict) -> dict:
    """Validate and store the rule. Raises TransitionRefused-like errors by field."""
    errors: dict[str, str] = {}
    rule = dict(RECOVERY_DEFAULTS)
    rule["enabled"] = bool(values.get("enabled"))
    raw = str(values.get("stars_at_most", "") or "").strip()
    if raw:
        if not raw.isdigit() or not 1 <= int(raw) <= 5:
            errors["stars_at_most"] = "Enter a number of stars from 1 to 5, or leave it empty."
        else:
            rule["stars_at_most"] = int(raw)
    else:
        rule["stars_at_most"] = None
    rule["not_resolved"] = bool(values.get("not_resolved"))
    rule["nps_detractor"] = bool(values.get("nps_detractor"))
    rule["tag"] = str(values.get("tag", "") or "").strip()[:100]
    if errors:
        raise TransitionRefused(errors)
    organization.settings = {**(organization.settings or {}), "recovery_rule": rule}
    organization.save(update_fields=["settings"])
    return rule


def _record(case: RecoveryCase, from_state: str, to_state: str, by, note: str, now) -> None:
    RecoveryTransition.objects.create(
        organization_id=case.organization_id,
        case=case,
        from_state=from_state,
        to_state=to_state,
        by=by,
        note=note[:MAX_NOTE],
        at=now,
    )


def case_open(
    response: Response, *, reason: str, by: Membership | None = None, alert=None, now=None
) -> tuple[RecoveryCase, bool]:
    """Open the response's case, or return the existing one. (case, created)."""
    now = now or timezone.now()
    existing = RecoveryCase.objects.filter(
        organization_id=response.organization_id, response=response
    ).first()
    if existing:
        if alert is not None and existing.alert_id is None:
            existing.alert = alert
            existing.save(update_fields=["alert"])
        return existing, False
    try:
        with transaction.atomic():
            case = RecoveryCase.objects.create(
                organization_id=response.organization_id,
                response=response,
                interaction_id=response.interaction_id,
                agent_id=response.agent_id,
                team_id=response.team_id,
                alert=alert,
                reason=reason[:200],
                opened_by=by,
                initial_stars=response.stars,
                created_at=now,
                updated_at=now,
            )
            _record(case, "", CaseState.NEW, by, reason, now)
    except IntegrityError:  # a concurrent opener won
        return RecoveryCase.objects.get(
            organization_id=response.organization_id, response=response
        ), False
    return case, True


def response_finished(organization, data: dict) -> RecoveryCase | None:
    """Outbox consumer of ``response.finished``: open a case if the rule matches (initial,
    live answers), or record the follow-up rating of a recovery survey."""
    if data.get("mode") != Mode.LIVE:
        return None
    response = (
        Response.objects.filter(organization_id=organization.pk, public_id=data["response"])
        .select_related("interaction")
        .first()
    )
    if response is None:
        return None
    if data.get("kind") == RequestKind.RECOVERY:
        case = (
            RecoveryCase.objects.select_for_update()
            .filter(organization_id=organization.pk, follow_up_id=response.request_id)
            .first()
        )
        if case is not None and case.follow_up_stars != response.stars:
            case.follow_up_stars = response.stars
            case.updated_at = timezone.now()
            case.save(update_fields=["follow_up_stars", "updated_at"])
        return case
    if data.get("kind") != RequestKind.INITIAL or response.excluded:
        return None
    reason = rule_reason(
        recovery_rule(organization),
        stars=response.stars,
        resolved=response.resolved,
        nps=response.nps,
        tags=response.interaction.tags,
    )
    if not reason:
        return None
    case, _ = case_open(response, reason=reason)
    return case


def case_open_from_alert(alert, member: Membership) -> RecoveryCase:
    response = Response.objects.get(organization_id=alert.organization_id, pk=alert.response_id)
    case, _ = case_open(
        response, reason=f"From alert: {alert.reason}"[:200], by=member, alert=alert
    )
    return case


@transaction.atomic
def case_transition(
    case: RecoveryCase, to_state: str, *, by: Membership, note: str = "", now=None
) -> RecoveryCase:
    """Move the case (locked) to ``to_state``; refuses what the state machine does not allow."""
    now = now or timezone.now()
    case = RecoveryCase.objects.select_for_update().get(
        organization_id=case.organization_id, pk=case.pk
    )
    allowed_from = TRANSITIONS.get(to_state)
    if allowed_from is None:
        raise TransitionRefused({"action": f"Unknown action {to_state!r}."})
    if case.state not in allowed_from:
        raise TransitionRefused(
            {
                "action": f"A case that is {case.get_state_display().lower()} cannot become "
                f"{CaseState(to_state).label.lower()}."
            }
        )
    note = (note or "").strip()
    if to_state == CaseState.CONTACTED and not note:
        raise TransitionRefused({"note": "Say how you contacted the customer and what happened."})
    if to_state == CaseState.SURVEY_SENT:
        _follow_up_create(case, now)
    from_state = case.state
    case.state = to_state
    case.updated_at = now
    if to_state == CaseState.CLAIMED:
        case.claimed_by = by
    if to_state == CaseState.CONTACTED and case.first_contact_at is None:
        case.first_contact_at = now
    if to_state in (CaseState.RECOVERED, CaseState.NOT_RECOVERED, CaseState.CLOSED):
        case.closed_at = now
    case.save()
    _record(case, from_state, to_state, by, note, now)
    return case


def _follow_up_create(case: RecoveryCase, now) -> FeedbackRequest:
    """A recovery request on the original interaction, due now: the survey sender sends it
    (never suppressed — suppression is decided at ingest for initial requests only; an
    unsubscribed customer is still respected by the sender)."""
    interaction = case.interaction
    expiry = timedelta(days=int(org_setting(case.organization, "survey_expiry_days")))
    fr = FeedbackRequest.objects.create(
        organization_id=case.organization_id,
        interaction=interaction,
        kind=RequestKind.RECOVERY,
        status=RequestStatus.SCHEDULED,
        survey_state=SurveyState.PENDING,
        send_after=now,
        expires_at=now + expiry,
        created_at=now,
        updated_at=now,
    )
    case.follow_up = fr
    org_id, ids = case.organization_id, [fr.pk]

    def ring():
        from feedback.tasks import requests_send_task

        # Broker down: the row is committed and the survey sweep sends it.
        with contextlib.suppress(Exception):
            requests_send_task.apply_async(kwargs={"organization_id": org_id, "request_ids": ids})

    transaction.on_commit(ring)
    return fr
