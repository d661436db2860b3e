"""Disputes: the only way a submitted review's score changes.

awaiting_lead (when the organization wants a team lead's approval) → open → accepted /
partial / rejected; or awaiting_lead → lead_declined. Every step and every changed answer is a
``ReviewEvent`` (who, when, old → new).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from coachhub.core.notifications import notify
from coachhub.tenancy.models import Membership

from .. import scoring
from ..models import (
    Answer,
    Criterion,
    Dispute,
    DisputeItem,
    DisputeStatus,
    Review,
    ReviewEvent,
    ReviewStatus,
)
from ..selectors import can_decide, can_lead_decide, leads_of
from ..settings import qa_setting
from .reviews import _dec, parse_answer, percent_label, score_answers


def _url(review: Review) -> str:
    return reverse(
        "qa:review_detail",
        kwargs={"org": review.organization.slug, "review_id": review.public_id},
    )


def dispute_deadline(review: Review):
    days = int(qa_setting(review.organization, "qa_dispute_window_days"))
    return review.submitted_at + timedelta(days=days) if review.submitted_at else None


def can_dispute(review: Review, member: Membership, *, now=None) -> bool:
    now = now or timezone.now()
    return (
        review.status == ReviewStatus.SUBMITTED
        and member.pk == review.agent_id
        and dispute_deadline(review) is not None
        and now <= dispute_deadline(review)
        and not Dispute.objects.filter(
            organization_id=review.organization_id, review=review
        ).exists()
    )


def answer_label(answer: Answer) -> str:
    if answer.na:
        return "N/A"
    if answer.value is None:
        return "—"
    label = answer.criterion.label_for(answer.value)
    return label if label == str(answer.value) else f"{label} ({answer.value})"


@transaction.atomic
def dispute_open(
    review: Review,
    *,
    agent: Membership,
    reason: str,
    whole_review: bool,
    criteria: list[Criterion],
    now=None,
    quiet: bool = False,
) -> Dispute:
    """``quiet`` (seeded demo data only) skips the notifications."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if agent.pk != review.agent_id:
        raise PermissionDenied("Only the reviewed agent can dispute a review.")
    if review.status != ReviewStatus.SUBMITTED:
        raise ValidationError("Only a submitted review can be disputed.")
    deadline = dispute_deadline(review)
    if now > deadline:
        raise ValidationError(f"The dispute window closed on {deadline:%Y-%m-%d %H:%M}.")
    if not reason:
        raise ValidationError({"reason": "Say why you dispute this review."})
    if not whole_review and not criteria:
        raise ValidationError({"criteria": "Choose the criteria you dispute, or the whole review."})
    if any(c.version_id != review.version_id for c in criteria):
        raise ValidationError({"criteria": "Choose criteria of this review."})
    lead_step = bool(qa_setting(review.organization, "qa_dispute_lead_approval"))
    leads = leads_of(review) if lead_step else []
    status = DisputeStatus.AWAITING_LEAD if leads else DisputeStatus.OPEN
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(
                organization_id=review.organization_id,
                review=review,
                raised_by=agent,
                whole_review=whole_review,
                reason=reason,
                status=status,
                created_at=now,
            )
    except IntegrityError:
        raise ValidationError("This review has already been disputed.") from None
    if not whole_review:
        DisputeItem.objects.bulk_create(
            [
                DisputeItem(organization_id=review.organization_id, dispute=dispute, criterion=c)
                for c in criteria
            ]
        )
    ReviewEvent.objects.create(
        organization_id=review.organization_id,
        review=review,
        dispute=dispute,
        actor=agent,
        kind=ReviewEvent.Kind.DISPUTED,
        note=reason,
        new_value="whole review"
        if whole_review
        else ", ".join(c.title[:40] for c in criteria)[:100],
    )
    recipients = leads if status == DisputeStatus.AWAITING_LEAD else [review.reviewer]
    for person in [] if quiet else recipients:
        notify(
            person,
            "qa.dispute_opened",
            f"{agent.display_name} disputes a QA review",
            reason[:300],
            url=_url(review),
        )
    return dispute


def _lock_open(dispute: Dispute, status: str) -> Dispute:
    locked = (
        Dispute.objects.select_for_update()
        .filter(organization_id=dispute.organization_id, pk=dispute.pk)
        .select_related("review")
        .first()
    )
    if locked is None or locked.status != status:
        raise ValidationError("This dispute is not waiting for that decision any more.")
    return locked


@transaction.atomic
def dispute_lead_decide(dispute: Dispute, *, lead: Membership, approve: bool, note: str) -> Dispute:
    if not can_lead_decide(lead, dispute):
        raise PermissionDenied("Only the agent's team lead decides this step.")
    note = (note or "").strip()
    if not approve and not note:
        raise ValidationError({"note": "Say why you decline this dispute."})
    dispute = _lock_open(dispute, DisputeStatus.AWAITING_LEAD)
    dispute.status = DisputeStatus.OPEN if approve else DisputeStatus.LEAD_DECLINED
    dispute.lead_decided_by, dispute.lead_decided_at, dispute.lead_note = lead, timezone.now(), note
    dispute.save(update_fields=["status", "lead_decided_by", "lead_decided_at", "lead_note"])
    review = dispute.review
    ReviewEvent.objects.create(
        organization_id=dispute.organization_id,
        review=review,
        dispute=dispute,
        actor=lead,
        kind=ReviewEvent.Kind.LEAD_APPROVED if approve else ReviewEvent.Kind.LEAD_DECLINED,
        note=note,
    )
    if approve:
        notify(
            review.reviewer,
            "qa.dispute_opened",
            "A QA review of yours is disputed",
            dispute.reason[:300],
            url=_url(review),
        )
    else:
        notify(
            review.agent,
            "qa.dispute_decided",
            "Your dispute was declined by your team lead",
            note[:300],
            url=_url(review),
        )
    return dispute


OUTCOMES = {
    "accept": DisputeStatus.ACCEPTED,
    "partial": DisputeStatus.PARTIAL,
    "reject": DisputeStatus.REJECTED,
}
EVENT_FOR = {
    DisputeStatus.ACCEPTED: ReviewEvent.Kind.ACCEPTED,
    DisputeStatus.PARTIAL: ReviewEvent.Kind.PARTIAL,
    DisputeStatus.REJECTED: ReviewEvent.Kind.REJECTED,
}


@transaction.atomic
def dispute_decide(
    dispute: Dispute,
    *,
    decider: Membership,
    outcome: str,
    reason: str,
    changes: dict[str, str],
) -> Dispute:
    """Accept, partially accept (both change answers) or reject, always with a reason.

    ``changes`` maps criterion public id → the new raw answer ("3", "na"); only disputed
    criteria (any, for a whole-review dispute) may change. Accepting a criteria dispute changes
    every disputed criterion; a partial acceptance changes at least one; a rejection none.
    """
    if not can_decide(decider, dispute):
        raise PermissionDenied("Only the reviewer (or an admin) decides a dispute.")
    if outcome not in OUTCOMES:
        raise ValidationError({"outcome": "Choose accept, partially accept or reject."})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give the reason for your decision."})
    dispute = _lock_open(dispute, DisputeStatus.OPEN)
    review = Review.objects.select_for_update().get(
        organization_id=dispute.organization_id, pk=dispute.review_id
    )
    answers = list(
        Answer.objects.filter(organization_id=review.organization_id, review=review).select_related(
            "criterion"
        )
    )
    disputed = set(dispute.items.values_list("criterion_id", flat=True))
    changed: list[tuple[Answer, str]] = []
    errors = {}
    for answer in answers:
        key = str(answer.criterion.public_id)
        if key not in changes or changes[key] in (None, ""):
            continue
        if not dispute.whole_review and answer.criterion_id not in disputed:
            errors[f"c-{key}"] = "Only disputed criteria can change."
            continue
        try:
            value = parse_answer(answer.criterion, changes[key])
        except ValidationError as exc:
            errors.update(exc.message_dict)
            continue
        na = value is scoring.NOT_APPLICABLE
        new_value = None if na else value
        if (na, new_value) == (answer.na, answer.value):
            continue
        old = answer_label(answer)
        answer.na, answer.value = na, new_value
        changed.append((answer, old))
    if errors:
        raise ValidationError(errors)
    status = OUTCOMES[outcome]
    if status == DisputeStatus.REJECTED and changed:
        raise ValidationError(
            {"outcome": "A rejection changes no answer; choose partially accept."}
        )
    if status != DisputeStatus.REJECTED and not changed:
        raise ValidationError({"outcome": "Change at least one answer to accept, or reject."})
    if status == DisputeStatus.ACCEPTED and not dispute.whole_review:
        unchanged = disputed - {a.criterion_id for a, _ in changed}
        if unchanged:
            raise ValidationError(
                {"outcome": "Accepting changes every disputed criterion; else partially accept."}
            )
    now = timezone.now()
    if changed:
        Answer.objects.bulk_update([a for a, _ in changed], ["na", "value"])
        for answer, old in changed:
            ReviewEvent.objects.create(
                organization_id=review.organization_id,
                review=review,
                dispute=dispute,
                actor=decider,
                kind=ReviewEvent.Kind.ANSWER_CHANGED,
                criterion=answer.criterion,
                old_value=old[:100],
                new_value=answer_label(answer)[:100],
                created_at=now,
            )
        old_score = "not scorable" if not review.scorable else f"{round(float(review.score), 1)} %"
        result = score_answers(answers)
        for answer in answers:
            answer.percent = _dec(result.criteria[answer.criterion_id].percent)
        Answer.objects.bulk_update(answers, ["percent"])
        review.score, review.scorable, review.failed = (
            _dec(result.percent),
            result.scorable,
            result.failed,
        )
        review.updated_at = now
        review.save(update_fields=["score", "scorable", "failed", "updated_at"])
        new_score = percent_label(result)
        if new_score != old_score:
            ReviewEvent.objects.create(
                organization_id=review.organization_id,
                review=review,
                dispute=dispute,
                actor=decider,
                kind=ReviewEvent.Kind.SCORE_CHANGED,
                old_value=old_score,
                new_value=new_score,
                created_at=now,
            )
    dispute.status, dispute.decided_by, dispute.decided_at = status, decider, now
    dispute.decision_reason = reason
    dispute.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    ReviewEvent.objects.create(
        organization_id=review.organization_id,
        review=review,
        dispute=dispute,
        actor=decider,
        kind=EVENT_FOR[status],
        note=reason,
        created_at=now,
    )
    agent = Membership.objects.select_related("organization").get(
        organization_id=review.organization_id, pk=review.agent_id
    )
    notify(
        agent,
        "qa.dispute_decided",
        f"Your QA dispute: {dispute.get_status_display().lower()}",
        reason[:300],
        url=_url(review),
    )
    return dispute
