"""Service recovery: a case per negative response (opened by the organization's rule when the
response finishes, or by a supervisor from an alert), worked through
new → claimed → contacted → follow-up survey sent → recovered / not recovered / closed without
action; every transition is a row with who, when and a note."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from coachhub.tenancy.models import Membership, PublicIdMixin, Team, TenantModel
from feedback.models import FeedbackRequest, Interaction, Response

__all__ = ["CaseState", "FINAL_STATES", "OPEN_STATES", "RecoveryCase", "RecoveryTransition"]


class CaseState(models.TextChoices):
    NEW = "new", "New"
    CLAIMED = "claimed", "Claimed"
    CONTACTED = "contacted", "Contacted"
    SURVEY_SENT = "survey_sent", "Follow-up survey sent"
    RECOVERED = "recovered", "Recovered"
    NOT_RECOVERED = "not_recovered", "Not recovered"
    CLOSED = "closed", "Closed without action"


OPEN_STATES = (CaseState.NEW, CaseState.CLAIMED, CaseState.CONTACTED, CaseState.SURVEY_SENT)
FINAL_STATES = (CaseState.RECOVERED, CaseState.NOT_RECOVERED, CaseState.CLOSED)


class RecoveryCase(PublicIdMixin, TenantModel):
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
    alert = models.ForeignKey(
        "coaching.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )  # fmt: skip
    reason = models.CharField(max_length=200)
    state = models.CharField(max_length=14, choices=CaseState.choices, default=CaseState.NEW)
    opened_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False, help_text="Empty: opened by the organization's rule.",
    )  # fmt: skip
    claimed_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )  # fmt: skip
    follow_up = models.ForeignKey(
        FeedbackRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False, help_text="The recovery follow-up survey (kind recovery).",
    )  # fmt: skip
    initial_stars = models.PositiveSmallIntegerField(null=True, blank=True)
    follow_up_stars = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    first_contact_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One case per response, ever: the rule, a redelivered event and a supervisor's
            # click all land on the same case.
            models.UniqueConstraint(fields=["organization", "response"], name="recovery_response"),
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="recovery_public_id"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "state", "created_at"], name="recovery_queue"),
            models.Index(fields=["organization", "created_at"], name="recovery_created"),
            models.Index(fields=["organization", "follow_up"], name="recovery_follow_up"),
        ]

    def __str__(self) -> str:
        return f"recovery case {self.public_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class RecoveryTransition(TenantModel):
    case = models.ForeignKey(
        RecoveryCase, on_delete=models.CASCADE, related_name="transitions", db_index=False
    )
    from_state = models.CharField(max_length=14, blank=True)
    to_state = models.CharField(max_length=14, choices=CaseState.choices)
    by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )  # fmt: skip
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["organization", "case", "at"], name="recovery_transition")]
