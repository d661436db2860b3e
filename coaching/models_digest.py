"""Daily digest (supervisors) and weekly recap (agents): one row per (organization, member,
day, kind), claimed before sending, so a digest goes out once per member per day whatever beat,
a dying worker or the sweeper do."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from coachhub.tenancy.models import Membership, TenantModel

__all__ = ["Digest", "DigestKind", "DigestOptOut", "DigestStatus"]


class DigestKind(models.TextChoices):
    DAILY = "daily", "Daily digest"
    WEEKLY = "weekly", "Weekly recap"


class DigestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    EMPTY = "empty", "Nothing to report"
    FAILED = "failed", "Failed"


class Digest(TenantModel):
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    day = models.DateField(
        help_text="The organization-local day the digest is for (sent the day after)."
    )
    kind = models.CharField(max_length=8, choices=DigestKind.choices)
    status = models.CharField(
        max_length=8, choices=DigestStatus.choices, default=DigestStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    subject = models.CharField(max_length=200, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "membership", "day", "kind"], name="digest_once"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "created_at"], name="digest_status"),
            models.Index(fields=["organization", "membership", "day"], name="digest_member"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} digest {self.day} for {self.membership_id}"


class DigestOptOut(TenantModel):
    """A member who does not want this kind of digest."""

    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=8, choices=DigestKind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "membership", "kind"], name="digest_opt_out"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.membership_id} opted out of {self.kind}"
