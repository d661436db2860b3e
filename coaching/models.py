"""Coaching: alert rules and the alerts they raise, their notifications to each channel (with
every attempt), the organization's outbound webhook and Slack targets, and micro-coaching notes
with follow-ups and the agent's saved list.

Every model is a tenant model: ``organization`` leads every index and is part of every unique
constraint; foreign keys carry ``db_index=False`` and get explicit organization-first indexes.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from coachhub.tenancy.models import Membership, PublicIdMixin, Team, TenantModel
from feedback.models import Interaction, Response

# --- alert rules ------------------------------------------------------------------------------


class RuleKind(models.TextChoices):
    STARS_AT_MOST = "stars_at_most", "Stars at most N"
    NOT_RESOLVED = "not_resolved", "Customer says not resolved"
    NPS_DETRACTOR = "nps_detractor", "NPS detractor (0–6)"
    COMMENT_KEYWORDS = "comment_keywords", "Comment contains a keyword"
    COMMENT_REGEX = "comment_regex", "Comment matches a pattern"
    ROLLING_AVERAGE = "rolling_average", "Agent's average over the last K falls below X"


class AlertChannel(models.TextChoices):
    """The in-app inbox is always on; these are the extra channels a rule may choose."""

    EMAIL = "email", "E-mail"
    SLACK = "slack", "Slack"
    WEBHOOK = "webhook", "Outbound webhook"


class AlertRule(PublicIdMixin, TenantModel):
    name = models.CharField(max_length=120)
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        help_text="Only this team's responses (blank: the whole organization).",
    )
    kind = models.CharField(max_length=20, choices=RuleKind.choices)
    # stars_at_most: N (1–5); rolling_average: X (e.g. 3.5).
    threshold = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    window = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="rolling_average: the last K responses."
    )
    keywords = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    pattern = models.CharField(max_length=500, blank=True, help_text="RE2 syntax.")
    channels = ArrayField(
        models.CharField(max_length=10, choices=AlertChannel.choices), default=list, blank=True
    )
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="alertrule_public_id"
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "team"],
                condition=models.Q(is_active=True),
                name="alertrule_active",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RuleAgentState(TenantModel):
    """Whether an agent is below a rolling-average rule's line, so it fires on the crossing
    only. The row is locked while a response is evaluated (concurrent ratings serialize)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="+", db_index=False)
    agent = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    below = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "rule", "agent"], name="ruleagentstate_key"
            ),
        ]


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Alert(PublicIdMixin, TenantModel):
    rule = models.ForeignKey(
        AlertRule, on_delete=models.PROTECT, related_name="alerts", db_index=False
    )
    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    interaction = models.ForeignKey(
        Interaction, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    agent = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    reason = models.CharField(max_length=300)
    state = models.CharField(max_length=12, choices=AlertState.choices, default=AlertState.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    acknowledged_by = models.ForeignKey(
        Membership,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        Membership,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The response was changed later so the rule no longer matches: kept, but marked.
    no_longer_matches = models.BooleanField(default=False)
    no_longer_matches_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One alert per (rule, response), ever: a redelivered event is "already done".
            models.UniqueConstraint(
                fields=["organization", "rule", "response"], name="alert_once_per_response"
            ),
            models.UniqueConstraint(fields=["organization", "public_id"], name="alert_public_id"),
        ]
        indexes = [
            models.Index(fields=["organization", "state", "-created_at"], name="alert_inbox"),
            models.Index(fields=["organization", "team", "-created_at"], name="alert_team"),
            models.Index(fields=["organization", "response"], name="alert_response"),
            # GET /api/v1/alerts/?since= and the cursor (-id).
            models.Index(fields=["organization", "updated_at"], name="alert_updated"),
        ]


# --- where notifications go -----------------------------------------------------------------


class SlackTarget(PublicIdMixin, TenantModel):
    """A Slack incoming-webhook URL for the organization (team blank) or one team."""

    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    url = models.URLField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "team"], name="slacktarget_scope", nulls_distinct=False
            ),
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="slacktarget_public_id"
            ),
        ]


class OutboundWebhook(PublicIdMixin, TenantModel):
    """The organization's outbound webhook (one per organization)."""

    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="outboundwebhook_one"),
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="outboundwebhook_public_id"
            ),
        ]


class DeliveryKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    SLACK = "slack", "Slack"
    WEBHOOK = "webhook", "Webhook"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class ChannelDelivery(PublicIdMixin, TenantModel):
    """One notification to one channel target (an e-mail address, a Slack URL, the webhook):
    written in the transaction that raised it, sent by a worker, retried, swept.

    ``body`` is frozen at creation: a webhook retry carries the same bytes (and event id)."""

    kind = models.CharField(max_length=10, choices=DeliveryKind.choices)
    event_id = models.UUIDField(help_text="The event's id: receivers dedupe on it.")
    event_type = models.CharField(max_length=40)
    alert = models.ForeignKey(
        Alert,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
    )
    target = models.CharField(max_length=500)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    is_test = models.BooleanField(default=False)

    class Meta:
        constraints = [
            # One notification per event, channel and target, ever.
            models.UniqueConstraint(
                fields=["organization", "event_id", "kind", "target"], name="channeldelivery_once"
            ),
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="channeldelivery_public_id"
            ),
        ]
        indexes = [
            # The sweeper: pending rows that are due.
            models.Index(
                fields=["organization", "next_attempt_at"],
                condition=models.Q(state="pending"),
                name="channeldelivery_due",
            ),
            models.Index(
                fields=["organization", "kind", "-created_at"], name="channeldelivery_log"
            ),
            models.Index(fields=["organization", "alert"], name="channeldelivery_alert"),
        ]


class DeliveryAttempt(TenantModel):
    """Every attempt, with the receiver's status code or the network error."""

    delivery = models.ForeignKey(
        ChannelDelivery, on_delete=models.CASCADE, related_name="attempt_log", db_index=False
    )
    number = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "delivery", "number"], name="deliveryattempt_number"
            ),
        ]


# --- micro-coaching -------------------------------------------------------------------------


class FocusBehaviour(PublicIdMixin, TenantModel):
    """The organization's catalogue of behaviours a note focuses on."""

    name = models.CharField(max_length=60)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="focusbehaviour_name"),
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="focusbehaviour_public_id"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class NoteKind(models.TextChoices):
    PRAISE = "praise", "Praise"
    DEVELOPMENTAL = "developmental", "Developmental"


class CoachingNote(PublicIdMixin, TenantModel):
    author = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    agent = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=14, choices=NoteKind.choices)
    behaviour = models.ForeignKey(
        FocusBehaviour, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    body = models.TextField()
    interaction = models.ForeignKey(
        Interaction,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    response = models.ForeignKey(
        Response, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # A QA review (qa.Review) by public id: qa sits to our left, but a soft link keeps a
    # deleted review from taking the note with it.
    review_public_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    reply = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="coachingnote_public_id"
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "agent", "-created_at"], name="coachingnote_agent"
            ),
            models.Index(
                fields=["organization", "author", "-created_at"], name="coachingnote_author"
            ),
        ]


class FollowUp(PublicIdMixin, TenantModel):
    """A developmental note's reminder to reconvene, in the supervisor's inbox when due."""

    note = models.ForeignKey(
        CoachingNote, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    supervisor = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    due_at = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "note"], name="followup_once"),
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="followup_public_id"
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "supervisor", "due_at"],
                condition=models.Q(done_at__isnull=True),
                name="followup_open",
            ),
        ]


class SavedItem(PublicIdMixin, TenantModel):
    """Saved for the next 1:1: a response, a note or a QA review. Agents save their own; a
    supervisor (or admin) saves a QA review of an agent they coach, for that agent's next 1:1."""

    member = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    response = models.ForeignKey(
        Response, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    note = models.ForeignKey(
        CoachingNote,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    # qa sits to our left: a real foreign key (a deleted review takes the saved item with it).
    review = models.ForeignKey(
        "qa.Review",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "member", "response"],
                condition=models.Q(response__isnull=False),
                name="saveditem_response",
            ),
            models.UniqueConstraint(
                fields=["organization", "member", "note"],
                condition=models.Q(note__isnull=False),
                name="saveditem_note",
            ),
            models.UniqueConstraint(
                fields=["organization", "member", "review"],
                condition=models.Q(review__isnull=False),
                name="saveditem_review",
            ),
            models.CheckConstraint(
                condition=models.Q(response__isnull=False)
                | models.Q(note__isnull=False)
                | models.Q(review__isnull=False),
                name="saveditem_something",
            ),
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="saveditem_public_id"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "member", "-created_at"], name="saveditem_member"),
        ]


# Service recovery and digests live in their own modules; imported so Django registers them.
from .models_digest import *  # noqa: E402, F401, F403
from .models_recovery import *  # noqa: E402, F401, F403
from .models_sessions import *  # noqa: E402, F401, F403
