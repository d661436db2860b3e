"""QA: scorecards (versioned), reviews with their answers, disputes and the review history.

A scorecard is a family of versions. Only a *draft* version is editable; publishing freezes it
(and supersedes the previous published one); editing a published card copies it into a new
draft. A review points at the exact version it was scored with (PROTECT), so archiving or
re-publishing never changes a stored score. Criteria keep a ``lineage`` id across versions so
reports can follow "the same question" through edits.

Every model is a tenant model: ``organization`` leads every index and is in every unique
constraint; foreign keys carry ``db_index=False`` and get organization-first indexes.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from coachhub.tenancy.models import Membership, PublicIdMixin, Team, TenantModel
from feedback.models import Interaction

from . import scoring


class Scorecard(PublicIdMixin, TenantModel):
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    # Applicability: empty means every channel / every team.
    channels = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    created_by = models.ForeignKey(
        Membership, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="scorecard_public_id"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class ScorecardTeam(TenantModel):
    """Limits a scorecard to some teams (explicit through table: it carries the organization)."""

    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.CASCADE, related_name="team_links", db_index=False
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "scorecard", "team"], name="scorecardteam_unique"
            )
        ]
        indexes = [models.Index(fields=["organization", "team"], name="scorecardteam_team")]


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded"


class ScorecardVersion(PublicIdMixin, TenantModel):
    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.CASCADE, related_name="versions", db_index=False
    )
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=VersionStatus.choices, default="draft")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        Membership, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        Membership, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="scorecardversion_public_id"
            ),
            models.UniqueConstraint(
                fields=["organization", "scorecard", "number"], name="scorecardversion_number"
            ),
            # At most one draft and one published version per scorecard, as a constraint.
            models.UniqueConstraint(
                fields=["organization", "scorecard"],
                condition=Q(status="draft"),
                name="scorecardversion_one_draft",
            ),
            models.UniqueConstraint(
                fields=["organization", "scorecard"],
                condition=Q(status="published"),
                name="scorecardversion_one_published",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scorecard.name} v{self.number}"

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT


class Section(PublicIdMixin, TenantModel):
    version = models.ForeignKey(
        ScorecardVersion, on_delete=models.CASCADE, related_name="sections", db_index=False
    )
    title = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "public_id"], name="section_public_id"),
        ]
        indexes = [models.Index(fields=["organization", "version"], name="section_version")]

    def __str__(self) -> str:
        return self.title


class Scale(models.TextChoices):
    YES_NO = "yes_no", "Yes / no"
    ONE_THREE = "1_3", "1–3"
    ONE_FIVE = "1_5", "1–5"
    CUSTOM = "custom", "Custom labelled points"


SCALE_POINTS = {
    Scale.YES_NO: [{"value": 1, "label": "Yes"}, {"value": 0, "label": "No"}],
    Scale.ONE_THREE: [{"value": v, "label": str(v)} for v in (3, 2, 1)],
    Scale.ONE_FIVE: [{"value": v, "label": str(v)} for v in (5, 4, 3, 2, 1)],
}


class Criterion(PublicIdMixin, TenantModel):
    section = models.ForeignKey(
        Section, on_delete=models.CASCADE, related_name="criteria", db_index=False
    )
    version = models.ForeignKey(
        ScorecardVersion, on_delete=models.CASCADE, related_name="criteria", db_index=False
    )
    lineage = models.UUIDField(default=uuid.uuid4, help_text="Same across versions.")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    scale = models.CharField(max_length=10, choices=Scale.choices, default=Scale.YES_NO)
    # The answer options, best first: [{"value": int, "label": str}, ...]
    points = models.JSONField(default=list)
    weight = models.PositiveSmallIntegerField(default=10)
    na_allowed = models.BooleanField(default=True)
    critical = models.BooleanField(default=False)
    critical_effect = models.CharField(
        max_length=10,
        choices=[
            (scoring.SECTION, "Fails its section"),
            (scoring.REVIEW, "Fails the whole review"),
        ],
        default=scoring.SECTION,
    )
    fail_at_or_below = models.IntegerField(null=True, blank=True)
    agent_controllable = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="criterion_public_id"
            ),
            models.CheckConstraint(condition=Q(weight__lte=100), name="criterion_weight_range"),
        ]
        indexes = [
            models.Index(fields=["organization", "section"], name="criterion_section"),
            models.Index(fields=["organization", "version"], name="criterion_version"),
            models.Index(fields=["organization", "lineage"], name="criterion_lineage"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def options(self) -> list[dict]:
        return self.points or SCALE_POINTS.get(self.scale, [])

    @property
    def values(self) -> list[int]:
        return [int(p["value"]) for p in self.options]

    @property
    def minimum(self) -> int:
        return min(self.values)

    @property
    def maximum(self) -> int:
        return max(self.values)

    def label_for(self, value) -> str:
        for p in self.options:
            if int(p["value"]) == value:
                return p["label"]
        return str(value)

    def spec(self) -> scoring.CriterionSpec:
        return scoring.CriterionSpec(
            key=self.pk,
            section=self.section_id,
            weight=self.weight,
            minimum=self.minimum,
            maximum=self.maximum,
            critical=self.critical,
            effect=self.critical_effect,
            fail_at_or_below=self.fail_at_or_below,
        )


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"


class ReviewSource(models.TextChoices):
    INTERACTION = "interaction", "Interaction page"
    RESPONSE = "response", "Customer response"
    ALERT = "alert", "Alert"
    RANDOM = "random", "Random interaction"


class Review(PublicIdMixin, TenantModel):
    version = models.ForeignKey(
        ScorecardVersion, on_delete=models.PROTECT, related_name="reviews", db_index=False
    )
    interaction = models.ForeignKey(
        Interaction, on_delete=models.PROTECT, related_name="qa_reviews", db_index=False
    )
    # The agent and team as recorded on the interaction (the review belongs to them).
    agent = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="qa_reviews", db_index=False
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    reviewer = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="qa_reviews_given", db_index=False
    )
    status = models.CharField(max_length=10, choices=ReviewStatus.choices, default="draft")
    source = models.CharField(
        max_length=12, choices=ReviewSource.choices, default=ReviewSource.INTERACTION
    )
    coaching_only = models.BooleanField(
        default=False, help_text="Coaching only — does not count toward the QA score."
    )
    hide_reviewer = models.BooleanField(
        default=False, help_text="Hide the reviewer's name from the agent."
    )
    overall_comment = models.TextField(blank=True)
    # What qa.scoring computed at submit (and after each dispute decision): the QA part.
    score = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    scorable = models.BooleanField(default=False)
    failed = models.BooleanField(default=False, help_text="A critical criterion failed it.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "public_id"], name="review_public_id"),
        ]
        indexes = [
            models.Index(fields=["organization", "agent", "submitted_at"], name="review_agent"),
            models.Index(fields=["organization", "team", "submitted_at"], name="review_team"),
            models.Index(
                fields=["organization", "reviewer", "submitted_at"], name="review_reviewer"
            ),
            models.Index(fields=["organization", "interaction"], name="review_interaction"),
            models.Index(fields=["organization", "version"], name="review_version"),
            models.Index(fields=["organization", "submitted_at"], name="review_submitted"),
        ]

    @property
    def is_draft(self) -> bool:
        return self.status == ReviewStatus.DRAFT

    @property
    def counts(self) -> bool:
        return self.status == ReviewStatus.SUBMITTED and not self.coaching_only


class Answer(TenantModel):
    review = models.ForeignKey(
        Review, on_delete=models.CASCADE, related_name="answers", db_index=False
    )
    criterion = models.ForeignKey(
        Criterion, on_delete=models.PROTECT, related_name="answers", db_index=False
    )
    value = models.IntegerField(null=True, blank=True)
    na = models.BooleanField(default=False)
    comment = models.TextField(blank=True)
    # The criterion's 0–100 % (qa.scoring rule 1); null for N/A or unanswered. Reports read it.
    percent = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "review", "criterion"], name="answer_unique"
            ),
        ]
        indexes = [models.Index(fields=["organization", "criterion"], name="answer_criterion")]

    @property
    def scoring_value(self):
        if self.na:
            return scoring.NOT_APPLICABLE
        return self.value


class DisputeStatus(models.TextChoices):
    AWAITING_LEAD = "awaiting_lead", "Awaiting team lead"
    OPEN = "open", "Open: with the reviewer"
    ACCEPTED = "accepted", "Accepted"
    PARTIAL = "partial", "Partially accepted"
    REJECTED = "rejected", "Rejected"
    LEAD_DECLINED = "lead_declined", "Declined by the team lead"


OPEN_DISPUTE_STATUSES = (DisputeStatus.AWAITING_LEAD, DisputeStatus.OPEN)


class Dispute(PublicIdMixin, TenantModel):
    review = models.ForeignKey(
        Review, on_delete=models.CASCADE, related_name="disputes", db_index=False
    )
    raised_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    whole_review = models.BooleanField(default=False)
    reason = models.TextField()
    status = models.CharField(max_length=14, choices=DisputeStatus.choices)
    created_at = models.DateTimeField(default=timezone.now)
    lead_decided_by = models.ForeignKey(
        Membership,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    lead_decided_at = models.DateTimeField(null=True, blank=True)
    lead_note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        Membership,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "public_id"], name="dispute_public_id"),
            # One dispute per review, ever: the decision is final (no ping-pong).
            models.UniqueConstraint(
                fields=["organization", "review"], name="dispute_one_per_review"
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"], name="dispute_status")]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_DISPUTE_STATUSES


class DisputeItem(TenantModel):
    """A criterion the agent disputes (none when the whole review is disputed)."""

    dispute = models.ForeignKey(
        Dispute, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    criterion = models.ForeignKey(
        Criterion, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dispute", "criterion"], name="disputeitem_unique"
            )
        ]


class ReviewEvent(TenantModel):
    """The review's history: who did what when, and every value change (old → new)."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        DISPUTED = "disputed", "Disputed"
        LEAD_APPROVED = "lead_approved", "Team lead sent the dispute to the reviewer"
        LEAD_DECLINED = "lead_declined", "Team lead declined the dispute"
        ACCEPTED = "accepted", "Dispute accepted"
        PARTIAL = "partial", "Dispute partially accepted"
        REJECTED = "rejected", "Dispute rejected"
        ANSWER_CHANGED = "answer_changed", "Answer changed"
        SCORE_CHANGED = "score_changed", "Score changed"

    review = models.ForeignKey(
        Review, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    dispute = models.ForeignKey(
        Dispute, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    actor = models.ForeignKey(
        Membership, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    criterion = models.ForeignKey(
        Criterion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    old_value = models.CharField(max_length=100, blank=True)
    new_value = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["organization", "review"], name="reviewevent_review")]
