"""Feedback: interactions, their feedback requests, survey responses, unsubscribes and the
daily rollups dashboards read.

Every model is a tenant model: ``organization`` leads every index and is part of every unique
constraint; foreign keys carry ``db_index=False`` and get explicit organization-first indexes.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from coachhub.tenancy.models import Membership, Organization, PublicIdMixin, Team, TenantModel


class Channel(models.TextChoices):
    """Built-in channels; organizations may add their own (setting ``custom_channels``)."""

    PHONE = "phone", "Phone"
    EMAIL = "email", "E-mail"
    CHAT = "chat", "Chat"
    SMS = "sms", "SMS"
    SOCIAL = "social", "Social"


class Mode(models.TextChoices):
    LIVE = "live", "Live"
    TEST = "test", "Test"


MAX_TAGS = 20
MAX_TAG_LENGTH = 100
MAX_PROPERTIES = 50
MAX_PROPERTY_KEY_LENGTH = 100
MAX_PROPERTY_VALUE_LENGTH = 2000


class Interaction(PublicIdMixin, TenantModel):
    """One customer contact handled by one agent: what a feedback request is about.

    ``agent`` and ``team`` are recorded as they were when the interaction arrived, so its
    rating belongs to them even if the ticket is reassigned or the agent changes teams later.
    """

    external_id = models.CharField(max_length=200, help_text="The helpdesk's id for this contact.")
    source = models.CharField(max_length=50, default="api")
    mode = models.CharField(max_length=4, choices=Mode.choices, default=Mode.LIVE)
    channel = models.CharField(max_length=40)
    customer_name = models.CharField(max_length=200)
    customer_email = models.EmailField(max_length=254, help_text="Stored lower-case.")
    customer_phone = models.CharField(max_length=40, blank=True)
    customer_language = models.CharField(max_length=16, blank=True)
    agent = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="interactions", db_index=False
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    occurred_at = models.DateTimeField()
    # occurred_at's date in the organization's time zone when it arrived: the rollup day.
    # ``rebuild_rollups`` re-derives it if the organization's time zone changes.
    local_day = models.DateField()
    tags = ArrayField(
        models.CharField(max_length=MAX_TAG_LENGTH), size=MAX_TAGS, default=list, blank=True
    )
    properties = models.JSONField(default=dict, blank=True)
    ticket_url = models.URLField(max_length=1000, blank=True)
    do_not_send = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Idempotency: a retried or duplicated delivery hits this and becomes "already done".
            # external_id second: the same index answers a lookup by helpdesk id alone (the
            # API's ``external_id`` filter), so no second index is kept for it.
            models.UniqueConstraint(
                fields=["organization", "external_id", "mode", "source"],
                name="interaction_external",
            ),
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="interaction_public_id"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "agent", "occurred_at"], name="interaction_agent"),
            models.Index(fields=["organization", "team", "occurred_at"], name="interaction_team"),
            models.Index(fields=["organization", "occurred_at"], name="interaction_occurred"),
            # Suppression and data-subject requests look customers up by address.
            models.Index(fields=["organization", "customer_email"], name="interaction_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class RequestKind(models.TextChoices):
    INITIAL = "initial", "Initial"
    RECOVERY = "recovery", "Service-recovery follow-up"


class RequestStatus(models.TextChoices):
    """Delivery status (API ``status``)."""

    SCHEDULED = "scheduled", "Scheduled"
    SENT = "sent", "Sent"
    SUPPRESSED = "suppressed", "Suppressed"
    DO_NOT_SEND = "do_not_send", "Do not send"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    BOUNCED = "bounced", "Bounced"
    TEST = "test", "Test"


class SurveyState(models.TextChoices):
    """The survey's progress (API ``survey_state``)."""

    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    ANSWERED = "answered", "Answered"
    FINISHED = "finished", "Finished"
    EXPIRED = "expired", "Expired"
    NONE = "none", "Nothing to send"


class FeedbackRequest(PublicIdMixin, TenantModel):
    """The survey about an interaction. Written in the same transaction as the interaction;
    the row (its status) is the truth the sender works from."""

    # No database foreign key to the organization on this table: a request's organization is
    # its interaction's (row-level security makes both the organization of the transaction
    # that writes them), the interaction's own foreign key keeps that organization, and the
    # foreign key below keeps the interaction. The check it would add per row (a lookup and
    # lock of the organization row at commit) was ~4 % of a bulk ingest's time. Deleting an
    # organization still cascades here (Django's collector follows the field).
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    interaction = models.ForeignKey(
        Interaction, on_delete=models.CASCADE, related_name="requests", db_index=False
    )
    kind = models.CharField(max_length=10, choices=RequestKind.choices, default=RequestKind.INITIAL)
    status = models.CharField(max_length=12, choices=RequestStatus.choices)
    survey_state = models.CharField(max_length=10, choices=SurveyState.choices)
    send_after = models.DateTimeField(help_text="Not sent before this time (send delay).")
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(help_text="Unanswered surveys expire then.")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    # SHA-256 of the survey token (set when sent; the token itself is only in the e-mail).
    # GlobalLookup maps the same digest to this row before the organization is known.
    token_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "interaction"],
                condition=models.Q(kind="initial"),
                name="request_one_initial",
            ),
            models.UniqueConstraint(fields=["organization", "public_id"], name="request_public_id"),
        ]
        indexes = [
            # An interaction's initial request is found by ``request_one_initial``; this one
            # holds the others (recovery follow-ups), so ingest writes one index, not two.
            models.Index(
                fields=["organization", "interaction"],
                condition=~models.Q(kind="initial"),
                name="request_followups",
            ),
            # The survey sweeps: never-sent requests (live and test) that are due, and sent,
            # unanswered ones that expire.
            models.Index(
                fields=["organization", "send_after"],
                condition=models.Q(survey_state="pending"),
                name="request_pending",
            ),
            models.Index(
                fields=["organization", "expires_at"],
                condition=models.Q(survey_state="sent"),
                name="request_open",
            ),
        ]


class Response(PublicIdMixin, TenantModel):
    """A customer's answers to one feedback request. Written by the survey; counted in rollups
    once ``confirmed`` (a person loaded the page), unless ``excluded`` from metrics."""

    request = models.ForeignKey(
        FeedbackRequest, on_delete=models.CASCADE, related_name="responses", db_index=False
    )
    interaction = models.ForeignKey(
        Interaction, on_delete=models.CASCADE, related_name="responses", db_index=False
    )
    agent = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    stars = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    resolved = models.BooleanField(null=True, blank=True)
    nps = models.PositiveSmallIntegerField(null=True, blank=True)
    qualities = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    reward_tier = models.CharField(max_length=20, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    confirmed = models.BooleanField(default=False)
    finished = models.BooleanField(default=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    excluded = models.BooleanField(default=False, help_text="Left out of every metric.")
    excluded_reason = models.CharField(max_length=200, blank=True)
    excluded_by = models.ForeignKey(
        Membership,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    excluded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "request"], name="response_request"),
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="response_public_id"
            ),
            models.CheckConstraint(
                condition=models.Q(stars__isnull=True) | models.Q(stars__gte=1, stars__lte=5),
                name="response_stars_range",
            ),
            models.CheckConstraint(
                condition=models.Q(nps__isnull=True) | models.Q(nps__lte=10),
                name="response_nps_range",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "interaction"], name="response_interaction"),
            models.Index(fields=["organization", "agent", "submitted_at"], name="response_agent"),
            models.Index(fields=["organization", "team", "submitted_at"], name="response_team"),
            # BI sync: ?since= on updated_at.
            models.Index(fields=["organization", "updated_at"], name="response_updated"),
            # The finish sweep: answered surveys whose finish window has passed.
            models.Index(
                fields=["organization", "updated_at"],
                condition=models.Q(finished=False),
                name="response_unfinished",
            ),
        ]


class Unsubscribe(TenantModel):
    """A customer address that asked for no more feedback requests from this organization."""

    email = models.EmailField(max_length=254, help_text="Stored lower-case.")
    source = models.CharField(max_length=40, blank=True, help_text="Where it came from.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "email"], name="unsubscribe_email"),
        ]


ROLLUP_COUNTERS = (
    "interactions",
    "requests_sent",
    "responses",
    "stars_sum",
    "stars_count",
    "stars_1",
    "stars_2",
    "stars_3",
    "stars_4",
    "stars_5",
    "csat_count",
    "fcr_yes",
    "fcr_no",
    "nps_promoters",
    "nps_passives",
    "nps_detractors",
)


class DailyRollup(TenantModel):
    """Counters per (organization, day, agent, team), maintained incrementally by
    ``feedback.services.rollups`` and rebuildable from raw data (``rebuild_rollups``).

    ``day`` is the interaction's local day in the organization's time zone; agent and team are
    those recorded on the interaction. Test interactions and recovery surveys never count.
    """

    day = models.DateField()
    agent = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    interactions = models.IntegerField(default=0)
    requests_sent = models.IntegerField(default=0)
    responses = models.IntegerField(default=0)
    stars_sum = models.IntegerField(default=0)
    stars_count = models.IntegerField(default=0)
    stars_1 = models.IntegerField(default=0)
    stars_2 = models.IntegerField(default=0)
    stars_3 = models.IntegerField(default=0)
    stars_4 = models.IntegerField(default=0)
    stars_5 = models.IntegerField(default=0)
    csat_count = models.IntegerField(default=0, help_text="4- and 5-star ratings.")
    fcr_yes = models.IntegerField(default=0)
    fcr_no = models.IntegerField(default=0)
    nps_promoters = models.IntegerField(default=0)
    nps_passives = models.IntegerField(default=0)
    nps_detractors = models.IntegerField(default=0)
    # Interactions of this row whose customer came back (another live interaction) within the
    # organization's ``repeat_contact_days``: repeat-contact FCR = 1 − repeat_contacts /
    # interactions (feedback/metrics.py). Maintained at ingest (a late repeat contact adjusts the
    # earlier day's row) by the ingest statement (``feedback.services.ingest``); not in
    # ROLLUP_COUNTERS, so a database default keeps the other writers' INSERTs valid.
    repeat_contacts = models.IntegerField(default=0, db_default=0)

    class Meta:
        constraints = [
            # NULLS NOT DISTINCT: an agent without a team still has exactly one row per day, so
            # the upsert's ON CONFLICT finds it.
            models.UniqueConstraint(
                fields=["organization", "day", "agent", "team"],
                name="rollup_key",
                nulls_distinct=False,
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "agent", "day"], name="rollup_agent"),
            models.Index(fields=["organization", "team", "day"], name="rollup_team"),
        ]


# Inbound channels' models (webhook endpoints, recorded deliveries, CSV imports) live in their
# own module, owned by the channels work; imported here so Django registers them with the app.
from .models_channels import *  # noqa: E402, F401, F403
