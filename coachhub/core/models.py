"""Shared services' tables: the event outbox with one delivery row per consumer, and
in-app notifications."""

from django.db import models
from django.utils import timezone

from coachhub.tenancy.models import Membership, PublicIdMixin, TenantModel


class Event(PublicIdMixin, TenantModel):
    """Something that happened, recorded in the same transaction as its cause."""

    type = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "public_id"], name="event_public_id"),
        ]
        indexes = [models.Index(fields=["organization", "type", "created_at"], name="event_type")]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed permanently"


class Delivery(TenantModel):
    """One consumer's handling of one event: claimed, retried and swept on its own."""

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    consumer = models.CharField(max_length=100)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One delivery per consumer per event, ever: a repeated record is "already done".
            models.UniqueConstraint(
                fields=["organization", "event", "consumer"], name="delivery_once"
            ),
        ]
        indexes = [
            # The sweeper's query: what is due, per organization.
            models.Index(
                fields=["organization", "next_attempt_at"],
                name="delivery_due",
                condition=models.Q(status="pending"),
            ),
        ]


class Notification(PublicIdMixin, TenantModel):
    """An in-app notification (the bell); e-mailed too when the recipient opted in."""

    recipient = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    kind = models.CharField(max_length=50)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="notification_public_id"
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "recipient", "-created_at"], name="notification_inbox"
            ),
        ]
