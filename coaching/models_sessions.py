"""Formal coaching: 1:1 sessions (prepared by a supervisor for one agent, GROW notes, action
items, private coach-only notes, the agent's self-assessment and usefulness rating), coaching
categories with their admin-defined prompts, and SMART goals whose progress is computed from the
rollups.

Private coach-only notes live in their own table (``SessionPrivateNote``) and are read through one
selector that only ever returns them to the session's coach: nothing that serializes, renders,
mails or exports a ``CoachingSession`` can reach them by accident.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from coachhub.tenancy.models import Membership, PublicIdMixin, TenantModel
from feedback.models import Response


class SessionCategory(PublicIdMixin, TenantModel):
    """A coaching category (e.g. "Performance", "Development") with its template: the prompts
    the supervisor's preparation form starts from."""

    name = models.CharField(max_length=60)
    prompts = models.TextField(blank=True, help_text="One prompt per line.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="sessioncategory_name"),
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="sessioncategory_public_id"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def prompt_list(self) -> list[str]:
        return [p.strip() for p in self.prompts.splitlines() if p.strip()]


class SessionState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SHARED = "shared", "Shared with the agent"
    ACKNOWLEDGED = "acknowledged", "Acknowledged by the agent"
    FOLLOWED_UP = "followed_up", "Followed up"
    CLOSED = "closed", "Closed"


class CoachingSession(PublicIdMixin, TenantModel):
    supervisor = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    agent = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    category = models.ForeignKey(
        SessionCategory,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # ONE focus behaviour per session (one purpose per session): a single FK, never a list.
    behaviour = models.ForeignKey(
        "coaching.FocusBehaviour",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    state = models.CharField(
        max_length=12, choices=SessionState.choices, default=SessionState.DRAFT
    )
    scheduled_for = models.DateTimeField(null=True, blank=True)
    purpose = models.TextField(blank=True)
    # The category's template prompts as they were when the session was prepared (or its
    # category changed): an admin editing the template later does not rewrite past sessions.
    # None: prepared before templates were copied; the category's current prompts are shown.
    prompts = models.TextField(null=True, blank=True)
    # The agent's KPIs vs the team's over the 30 days before preparation (from rollups).
    metric_snapshot = models.JSONField(default=dict, blank=True)
    # The agent's part, before the meeting.
    self_assessment = models.TextField(blank=True)
    agent_topics = models.TextField(blank=True)
    # GROW notes and the positive open/close.
    grow_goal = models.TextField(blank=True)
    grow_reality = models.TextField(blank=True)
    grow_options = models.TextField(blank=True)
    grow_will = models.TextField(blank=True)
    kudos_open = models.TextField(blank=True)
    kudos_close = models.TextField(blank=True)
    developmental = models.BooleanField(
        default=False, help_text="Constructive feedback was given: a follow-up is due."
    )
    follow_up_due_at = models.DateTimeField(null=True, blank=True)
    follow_up_reminded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    shared_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    followed_up_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The agent's usefulness rating (shown to admins only, aggregated per supervisor, n >= 5).
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_comment = models.TextField(blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="coachingsession_public_id"
            ),
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="coachingsession_rating_range",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "agent", "-created_at"], name="coachingsession_agent"
            ),
            models.Index(
                fields=["organization", "supervisor", "-created_at"],
                name="coachingsession_supervisor",
            ),
            models.Index(
                fields=["organization", "follow_up_due_at"],
                condition=models.Q(follow_up_due_at__isnull=False, followed_up_at__isnull=True),
                name="coachingsession_follow_up",
            ),
            models.Index(fields=["organization", "updated_at"], name="coachingsession_updated"),
        ]

    @property
    def prompt_list(self) -> list[str]:
        if self.prompts is None:
            return self.category.prompt_list if self.category_id else []
        return [p.strip() for p in self.prompts.splitlines() if p.strip()]


class SessionPrivateNote(TenantModel):
    """Coach-only notes: never shown, serialized, mailed or exported to the agent."""

    session = models.ForeignKey(
        CoachingSession, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    author = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["organization", "session"], name="sessionprivatenote_session"),
        ]


class SessionItem(TenantModel):
    """An item brought to the session: a response, a micro-coaching note or a QA review the
    agent or the supervisor saved (copied from their saved lists when the session is prepared).
    Review items are shown to a viewer only when qa's rules let them see the review."""

    session = models.ForeignKey(
        CoachingSession, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    saved_by = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    response = models.ForeignKey(
        Response, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    note = models.ForeignKey(
        "coaching.CoachingNote",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    review = models.ForeignKey(
        "qa.Review",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(response__isnull=False)
                | models.Q(note__isnull=False)
                | models.Q(review__isnull=False),
                name="sessionitem_something",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "session"], name="sessionitem_session"),
        ]


class ActionItem(PublicIdMixin, TenantModel):
    session = models.ForeignKey(
        CoachingSession, on_delete=models.CASCADE, related_name="actions", db_index=False
    )
    text = models.CharField(max_length=300)
    owner = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    due_date = models.DateField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="actionitem_public_id"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "session"], name="actionitem_session"),
        ]


class GoalMetric(models.TextChoices):
    AVG_STARS = "avg_stars", "Average stars"
    CSAT = "csat", "CSAT %"
    FCR = "fcr", "FCR %"
    NPS = "nps", "NPS"
    QA_SCORE = "qa_score", "QA score"
    RESPONSES = "responses", "Response count"


class GoalStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    MET = "met", "Met"
    MISSED = "missed", "Missed"


class Goal(PublicIdMixin, TenantModel):
    """A SMART goal on a real metric. Progress is computed from the rollups, never typed in."""

    agent = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    session = models.ForeignKey(
        CoachingSession,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="goals",
        db_index=False,
    )
    title = models.CharField(max_length=200, help_text="Specific: what, in the agent's words.")
    metric = models.CharField(max_length=12, choices=GoalMetric.choices)
    baseline = models.FloatField(null=True, blank=True)
    baseline_n = models.PositiveIntegerField(default=0)
    target = models.FloatField()
    # Local days (organization time zone): progress counts rollup days start_day..due_date.
    start_day = models.DateField()
    due_date = models.DateField()
    status = models.CharField(max_length=8, choices=GoalStatus.choices, default=GoalStatus.ACTIVE)
    final_value = models.FloatField(null=True, blank=True)
    final_n = models.PositiveIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "public_id"], name="goal_public_id"),
        ]
        indexes = [
            models.Index(fields=["organization", "agent", "-created_at"], name="goal_agent"),
            models.Index(
                fields=["organization", "due_date"],
                condition=models.Q(status="active"),
                name="goal_active",
            ),
            models.Index(fields=["organization", "updated_at"], name="goal_updated"),
        ]
