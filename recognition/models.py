"""Recognition: kudos, the reward catalogue, customer votes and the rewards they earn,
achievements (badges) and signed read-only TV links for leaderboards.

Every model is a tenant model: ``organization`` leads every index and is part of every unique
constraint; foreign keys carry ``db_index=False`` and get explicit organization-first indexes.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from coachhub.tenancy.models import Membership, PublicIdMixin, Team, TenantModel
from feedback.models import Response


class Tier(models.TextChoices):
    SMALL = "small", "Small"
    MEDIUM = "medium", "Medium"
    LARGE = "large", "Large"


class Kudos(PublicIdMixin, TenantModel):
    """Praise from a supervisor or a peer, tied to one behaviour and optionally to a customer
    response or a QA review. Who may see it follows the recipient's recognition preference
    *at read time* (recognition.selectors), so changing the preference re-hides old kudos."""

    giver = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    recipient = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # The giver was a supervisor or admin when giving it: counts as praise in their ratio.
    from_supervisor = models.BooleanField(default=False)
    behaviour = models.CharField(max_length=80)
    message = models.TextField(max_length=500)
    response = models.ForeignKey(
        Response, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    review = models.ForeignKey(
        "qa.Review",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "public_id"], name="kudos_public_id"),
            models.CheckConstraint(
                condition=~models.Q(giver=models.F("recipient")), name="kudos_not_self"
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "recipient", "-created_at"], name="kudos_recipient"
            ),
            models.Index(fields=["organization", "giver", "created_at"], name="kudos_giver"),
            models.Index(fields=["organization", "-created_at"], name="kudos_recent"),
        ]


class KudosBehaviour(PublicIdMixin, TenantModel):
    """The behaviours a kudos can name: recognition's own list, kept by the organization's
    admins (its defaults come from ``recognition.settings``). Retired ones stay for the record
    but are no longer offered. A kudos stores the name it was given with, so renaming or retiring
    a behaviour never rewrites kudos already given."""

    name = models.CharField(max_length=80)
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="kudosbehaviour_name"),
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="kudosbehaviour_public_id"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RewardItem(PublicIdMixin, TenantModel):
    """The admin's catalogue: what a reward of a tier can be."""

    tier = models.CharField(max_length=10, choices=Tier.choices)
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tier", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="rewarditem_public_id"
            ),
            models.UniqueConstraint(
                fields=["organization", "tier", "name"], name="rewarditem_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RewardVote(TenantModel):
    """A customer's finished reward recommendation. The unique constraint on the response is
    what makes a vote count exactly once, however often the event is delivered."""

    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    agent = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    tier = models.CharField(max_length=10, choices=Tier.choices)
    counted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "response"], name="rewardvote_response"
            ),
        ]
        indexes = [models.Index(fields=["organization", "agent", "tier"], name="rewardvote_agent")]


class RewardCounter(TenantModel):
    """Votes towards the agent's next reward of a tier (restarts when one is earned)."""

    agent = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    tier = models.CharField(max_length=10, choices=Tier.choices)
    votes = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "agent", "tier"], name="rewardcounter_key"
            ),
        ]


class RewardStatus(models.TextChoices):
    EARNED = "earned", "Earned: waiting for an admin"
    APPROVED = "approved", "Approved"
    FULFILLED = "fulfilled", "Fulfilled"


class EarnedReward(PublicIdMixin, TenantModel):
    agent = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    tier = models.CharField(max_length=10, choices=Tier.choices)
    votes = models.IntegerField(help_text="Votes it took (the tier's threshold then).")
    earned_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=RewardStatus.choices, default=RewardStatus.EARNED
    )
    item = models.ForeignKey(
        RewardItem,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    approved_by = models.ForeignKey(
        Membership,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    fulfilled_by = models.ForeignKey(
        Membership,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-earned_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="earnedreward_public_id"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "agent", "-earned_at"], name="earnedreward_agent"),
            models.Index(
                fields=["organization", "status", "-earned_at"], name="earnedreward_status"
            ),
        ]


class Badge(models.TextChoices):
    FIRST_FIVE_STAR = "first_five_star", "First five-star rating"
    RATINGS_10 = "ratings_10", "10 ratings"
    RATINGS_100 = "ratings_100", "100 ratings"
    RATINGS_1000 = "ratings_1000", "1,000 ratings"
    FIRST_KUDOS = "first_kudos", "First kudos"
    FIRST_SAVED = "first_saved", "First item saved for a 1:1"
    QUICK_ACK = "quick_ack", "Coaching note acknowledged within a day"
    GOAL_MET = "goal_met", "SMART goal met"
    IMPROVED = "improved", "Average up 0.3 stars in 30 days"
    STREAK_5 = "streak_5", "5-day streak, nothing below 4 stars"


BADGE_ICONS = {
    Badge.FIRST_FIVE_STAR: "star",
    Badge.RATINGS_10: "chart-dots",
    Badge.RATINGS_100: "chart-dots-2",
    Badge.RATINGS_1000: "chart-dots-3",
    Badge.FIRST_KUDOS: "heart-handshake",
    Badge.FIRST_SAVED: "bookmark",
    Badge.QUICK_ACK: "checks",
    Badge.GOAL_MET: "target-arrow",
    Badge.IMPROVED: "trending-up",
    Badge.STREAK_5: "flame",
}


class Achievement(TenantModel):
    """A badge, earned exactly once per agent (unique constraint)."""

    member = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    badge = models.CharField(max_length=30, choices=Badge.choices)
    earned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-earned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "member", "badge"], name="achievement_once"
            ),
        ]

    @property
    def icon(self) -> str:
        return BADGE_ICONS.get(self.badge, "award")


class TVLink(PublicIdMixin, TenantModel):
    """A signed, read-only, revocable link to a leaderboard for a floor screen. The secret is
    only in the URL; its SHA-256 is here and in GlobalLookup (kind ``tv_link``)."""

    name = models.CharField(max_length=80)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    metric = models.CharField(max_length=10, default="stars")
    period = models.CharField(max_length=10, default="week")
    token_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        Membership, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "public_id"], name="tvlink_public_id"),
            models.UniqueConstraint(fields=["organization", "token_hash"], name="tvlink_token"),
        ]


MOTIVATOR_CHOICES = [
    ("shout_out", "A shout-out in front of the team"),
    ("private_thanks", "A private thank-you"),
    ("growth", "Learning something new"),
    ("time", "Time off or flexibility"),
    ("treats", "Small treats"),
]


class Motivation(TenantModel):
    """What motivates an agent, as a few choices (the free text is AgentProfile.motivators)."""

    member = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    choices = ArrayField(models.CharField(max_length=20), default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "member"], name="motivation_member"),
        ]
