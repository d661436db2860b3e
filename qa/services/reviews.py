"""Review writes: start (from an interaction, a response, an alert or at random), autosave the
draft, submit (score it with qa.scoring, notify the agent), discard a draft."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from coachhub.core.notifications import notify
from coachhub.tenancy.models import Membership
from feedback.models import Interaction

from .. import scoring
from ..models import (
    Answer,
    Criterion,
    Review,
    ReviewEvent,
    ReviewSource,
    ReviewStatus,
    ScorecardVersion,
    VersionStatus,
)
from ..selectors import can_review_agent, versions_for_interaction


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(str(round(float(value), 3)))


@transaction.atomic
def review_start(
    *,
    reviewer: Membership,
    interaction: Interaction,
    version: ScorecardVersion,
    source: str = ReviewSource.INTERACTION,
) -> Review:
    """A draft review of ``interaction`` with ``version``; the reviewer's existing draft of the
    same interaction and version is returned instead of a second one."""
    agent = interaction.agent
    if not can_review_agent(reviewer, agent):
        raise PermissionDenied("You cannot review this agent.")
    if version.status != VersionStatus.PUBLISHED or version.scorecard.is_archived:
        raise ValidationError({"scorecard": "Choose a published scorecard."})
    if not versions_for_interaction(interaction).filter(pk=version.pk).exists():
        raise ValidationError({"scorecard": "This scorecard does not apply to this interaction."})
    if source not in ReviewSource.values:
        source = ReviewSource.INTERACTION
    existing = Review.objects.filter(
        organization_id=reviewer.organization_id,
        interaction=interaction,
        version=version,
        reviewer=reviewer,
        status=ReviewStatus.DRAFT,
    ).first()
    if existing:
        return existing
    review = Review.objects.create(
        organization_id=reviewer.organization_id,
        version=version,
        interaction=interaction,
        agent_id=interaction.agent_id,
        team_id=interaction.team_id,
        reviewer=reviewer,
        source=source,
    )
    Answer.objects.bulk_create(
        [
            Answer(organization_id=review.organization_id, review=review, criterion=c)
            for c in Criterion.objects.filter(
                organization_id=review.organization_id, version=version
            )
        ]
    )
    return review


def parse_answer(criterion: Criterion, raw: str | None):
    """The form's value for one criterion → int, NOT_APPLICABLE or None (unanswered)."""
    raw = (raw or "").strip()
    if raw == "":
        return None
    if raw.lower() == "na":
        if not criterion.na_allowed:
            raise ValidationError({f"c-{criterion.public_id}": "N/A is not allowed here."})
        return scoring.NOT_APPLICABLE
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({f"c-{criterion.public_id}": "Choose one of the answers."}) from None
    if value not in criterion.values:
        raise ValidationError({f"c-{criterion.public_id}": "Choose one of the answers."})
    return value


def _lock_draft(review: Review) -> Review:
    locked = (
        Review.objects.select_for_update()
        .filter(organization_id=review.organization_id, pk=review.pk)
        .first()
    )
    if locked is None or locked.status != ReviewStatus.DRAFT:
        raise ValidationError("This review is already submitted: only a dispute can change it.")
    return locked


def _apply(review: Review, data: dict) -> list[Answer]:
    """Write the draft's answers and options from ``data`` (criterion public id → (raw value,
    comment)); returns the answers."""
    answers = list(
        Answer.objects.filter(organization_id=review.organization_id, review=review).select_related(
            "criterion"
        )
    )
    errors = {}
    for answer in answers:
        key = str(answer.criterion.public_id)
        if key not in data.get("answers", {}):
            continue
        raw, comment = data["answers"][key]
        try:
            value = parse_answer(answer.criterion, raw)
        except ValidationError as exc:
            errors.update(exc.message_dict)
            continue
        answer.na = value is scoring.NOT_APPLICABLE
        answer.value = None if answer.na else value
        answer.comment = (comment or "")[:5000]
    if errors:
        raise ValidationError(errors)
    Answer.objects.bulk_update(answers, ["value", "na", "comment"])
    review.overall_comment = (data.get("overall_comment") or "")[:10000]
    review.coaching_only = bool(data.get("coaching_only"))
    review.hide_reviewer = bool(data.get("hide_reviewer"))
    review.updated_at = timezone.now()
    review.save(update_fields=["overall_comment", "coaching_only", "hide_reviewer", "updated_at"])
    return answers


def score_answers(answers: list[Answer]) -> scoring.ScoreResult:
    specs = [a.criterion.spec() for a in answers]
    values = {a.criterion_id: a.scoring_value for a in answers}
    return scoring.score(specs, values)


def _store_score(review: Review, answers: list[Answer], result: scoring.ScoreResult) -> None:
    for answer in answers:
        answer.percent = _dec(result.criteria[answer.criterion_id].percent)
    Answer.objects.bulk_update(answers, ["percent"])
    review.score = _dec(result.percent)
    review.scorable = result.scorable
    review.failed = result.failed


@transaction.atomic
def review_autosave(review: Review, data: dict) -> scoring.ScoreResult:
    """Save the draft as it is (unanswered criteria allowed); returns the live preview."""
    review = _lock_draft(review)
    answers = _apply(review, data)
    return score_answers(answers)


@transaction.atomic
def review_submit(review: Review, data: dict, *, notify_agent: bool = True) -> Review:
    """Score and submit the draft; tells the agent (``notify_agent=False`` only for seeded
    history, which must not e-mail anyone)."""
    review = _lock_draft(review)
    answers = _apply(review, data)
    missing = [a for a in answers if a.value is None and not a.na]
    if missing:
        raise ValidationError(
            {f"c-{a.criterion.public_id}": "Answer this criterion (or N/A)." for a in missing}
        )
    result = score_answers(answers)
    _store_score(review, answers, result)
    now = timezone.now()
    review.status, review.submitted_at = ReviewStatus.SUBMITTED, now
    review.save(update_fields=["status", "submitted_at", "score", "scorable", "failed"])
    ReviewEvent.objects.create(
        organization_id=review.organization_id,
        review=review,
        actor=review.reviewer,
        kind=ReviewEvent.Kind.SUBMITTED,
        new_value=percent_label(result),
    )
    if notify_agent:
        _notify_submitted(review, result)
    return review


def _notify_submitted(review: Review, result: scoring.ScoreResult) -> None:
    agent = Membership.objects.select_related("organization").get(
        organization_id=review.organization_id, pk=review.agent_id
    )
    by = "A reviewer" if review.hide_reviewer else review.reviewer.display_name
    notify(
        agent,
        "qa.review_submitted",
        f"New QA review: {percent_label(result)}",
        f"{by} reviewed your interaction {review.interaction.external_id}"
        + (" (coaching only — does not count toward your score)." if review.coaching_only else "."),
        url=reverse(
            "qa:review_detail",
            kwargs={"org": agent.organization.slug, "review_id": review.public_id},
        ),
    )


def percent_label(result: scoring.ScoreResult) -> str:
    if not result.scorable:
        return "not scorable"
    return f"{scoring.rounded(result.percent)} %"


@transaction.atomic
def review_discard(review: Review) -> None:
    review = _lock_draft(review)
    review.delete()
