"""Inbound channels: helpdesk webhook endpoints, their recorded deliveries, and CSV imports.

Imported by ``feedback/models.py`` so Django registers them with the app.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from coachhub.tenancy.models import Membership, PublicIdMixin, TenantModel


class EndpointKind(models.TextChoices):
    ZENDESK = "zendesk", "Zendesk"


def endpoint_token() -> str:
    # The URL segment: 192 bits from the CSPRNG, never derived from anything guessable.
    return secrets.token_urlsafe(24)


def endpoint_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(PublicIdMixin, TenantModel):
    """One inbound integration URL (``/hooks/<kind>/<token>/``) bound to one organization.

    The token is registered in ``GlobalLookup`` (kind ``webhook_endpoint``) so the receiver
    finds the organization before any organization context exists. Two secrets can be valid at
    once: after a rotation the previous one keeps working until the helpdesk is updated and an
    admin retires it. Secrets are stored as-is because HMAC verification needs them.
    """

    kind = models.CharField(
        max_length=20, choices=EndpointKind.choices, default=EndpointKind.ZENDESK
    )
    name = models.CharField(max_length=80)
    token = models.CharField(max_length=64, default=endpoint_token, editable=False)
    secret = models.CharField(max_length=200)
    previous_secret = models.CharField(max_length=200, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        Membership,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="webhookendpoint_public_id"
            ),
            models.UniqueConstraint(fields=["organization", "token"], name="webhookendpoint_token"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.name}"

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.secret, self.previous_secret) if s]


class InboundStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the worker"
    PROCESSED = "processed", "Interaction created"
    DUPLICATE = "duplicate", "Already imported"
    PARKED = "parked", "Parked"


class InboundDelivery(PublicIdMixin, TenantModel):
    """A verified webhook call exactly as it arrived, recorded before any processing.

    ``(organization, endpoint, dedupe_key)`` is unique and the receiver inserts with ON CONFLICT
    DO NOTHING, so a helpdesk's retries and double-fires collapse into one row (and one event to
    the worker). A delivery that cannot become an interaction is PARKED with its reason and kept
    for replay; nothing is ever dropped.
    """

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    dedupe_key = models.CharField(max_length=200)
    body = models.TextField()
    external_id = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=10, choices=InboundStatus.choices, default=InboundStatus.PENDING
    )
    reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    interaction_public_id = models.UUIDField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "endpoint", "dedupe_key"], name="inbounddelivery_once"
            ),
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="inbounddelivery_public_id"
            ),
        ]
        indexes = [
            # The status page: newest deliveries of an endpoint, and the parked ones.
            models.Index(
                fields=["organization", "endpoint", "-received_at"], name="inbound_recent"
            ),
            models.Index(
                fields=["organization", "endpoint", "received_at"],
                name="inbound_parked",
                condition=models.Q(status="parked"),
            ),
        ]


class ImportStatus(models.TextChoices):
    VALIDATING = "validating", "Checking the file"
    INVALID = "invalid", "Has errors"
    READY = "ready", "Ready to import"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed, nothing imported"


def import_upload_path(instance, filename: str) -> str:
    # Never the uploaded name: it is untrusted and may collide.
    return f"imports/{instance.organization_id}/{instance.public_id.hex}.csv"


class CsvImport(PublicIdMixin, TenantModel):
    """An uploaded interactions file: checked first (preview + every row error), then imported
    in one transaction by a worker. Progress columns are written from a separate connection so
    the page can show them while the import's own transaction is still open."""

    file = models.FileField(upload_to=import_upload_path, max_length=300)
    original_name = models.CharField(max_length=255)
    size = models.BigIntegerField(default=0)
    encoding = models.CharField(max_length=20, blank=True)
    history = models.BooleanField(
        default=False, help_text="Import as history: stored and counted, never surveyed."
    )
    status = models.CharField(
        max_length=12, choices=ImportStatus.choices, default=ImportStatus.VALIDATING
    )
    header = models.JSONField(default=list, blank=True)
    preview = models.JSONField(default=list, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    failure_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        Membership,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="csvimport_public_id"
            ),
        ]
        indexes = [models.Index(fields=["organization", "-created_at"], name="csvimport_recent")]

    @property
    def is_busy(self) -> bool:
        return self.status in (ImportStatus.VALIDATING, ImportStatus.QUEUED, ImportStatus.RUNNING)

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(100, int(self.processed_rows * 100 / self.total_rows))


class CsvImportError(TenantModel):
    """One problem in one row of an import file: every one is kept and listed, not the first."""

    csv_import = models.ForeignKey(
        CsvImport, on_delete=models.CASCADE, related_name="errors", db_index=False
    )
    row = models.PositiveIntegerField(help_text="Line number in the file; the header is row 1.")
    column = models.CharField(max_length=200, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["row", "id"]
        indexes = [
            models.Index(fields=["organization", "csv_import", "row"], name="csvimporterror_row")
        ]
