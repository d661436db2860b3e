"""Organizations, teams, people and keys: the tenancy core every app builds on."""

from __future__ import annotations

import hashlib
import secrets
import uuid
import zoneinfo

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django_scopes import ScopedManager
from uuid6 import uuid7

TIME_ZONE_CHOICES = sorted((tz, tz) for tz in zoneinfo.available_timezones() if "/" in tz)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Organization(models.Model):
    """A tenant. Not itself a tenant row: it is what every tenant row points at."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=120)
    time_zone = models.CharField(max_length=64, default="UTC", choices=TIME_ZONE_CHOICES)
    language = models.CharField(max_length=8, default="en", choices=settings.LANGUAGES)
    brand_color = models.CharField(
        max_length=7,
        default="#206bc4",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #206bc4.")],
    )
    # Feature settings later issues add (thresholds, survey questions, ...). Read them through
    # ``setting()`` so every key has one default in one place.
    settings = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    DEFAULT_SETTINGS: dict = {}

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def setting(self, key: str):
        if key in self.settings:
            return self.settings[key]
        return self.DEFAULT_SETTINGS[key]


class TenantModel(models.Model):
    """Abstract base of every tenant table.

    ``organization`` is NOT NULL, leads every index and is part of every unique constraint
    (checked by tests against the catalogue); the default manager refuses to run outside an
    organization scope; Postgres RLS is applied to every concrete subclass after migrate.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )

    objects = ScopedManager(organization="organization")

    class Meta:
        abstract = True


class PublicIdMixin(models.Model):
    """An opaque public identifier for URLs and the API; sequential ids never leave the DB.

    UUIDv7 (RFC 9562: a millisecond timestamp, then 74 random bits): new ids go to the right
    edge of the (organization, public_id) index, as sequential keys do. Random v4 ids put every
    insert on a random leaf page: once an index outgrew the buffer cache, each new row cost a
    page read and write (a 1,000-row bulk insert at ~2 M rows: 250 ms, 60 ms with v7). The
    creation time an id reveals is in the API's answers anyway. Raw SQL inserts use the
    database function ``coachhub_uuid7()``, the same format."""

    public_id = models.UUIDField(default=uuid7, editable=False)

    class Meta:
        abstract = True


class Team(PublicIdMixin, TenantModel):
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "public_id"], name="team_public_id"),
            models.UniqueConstraint(fields=["organization", "name"], name="team_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    SUPERVISOR = "supervisor", "Supervisor"
    AGENT = "agent", "Agent"


class Membership(PublicIdMixin, TenantModel):
    """A user's place in one organization: one role, optional capabilities, teams."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        db_index=False,
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    # Capabilities later features check; independent of the role.
    is_reviewer = models.BooleanField(
        default=False, help_text="May review QA without leading a team."
    )
    is_recovery = models.BooleanField(default=False, help_text="Works the service-recovery queue.")
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        db_index=False,
        help_text="The team an agent works in.",
    )
    is_active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    email_notifications = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__first_name", "user__last_name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_user"),
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="membership_public_id"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "team"], name="membership_team"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.get_role_display()})"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR

    @property
    def is_agent(self) -> bool:
        return self.role == Role.AGENT

    @cached_property
    def led_team_ids(self) -> frozenset[int]:
        if self.is_admin:
            return frozenset(
                Team.objects.filter(organization_id=self.organization_id).values_list(
                    "id", flat=True
                )
            )
        return frozenset(
            TeamLead.objects.filter(
                organization_id=self.organization_id, membership=self
            ).values_list("team_id", flat=True)
        )

    @cached_property
    def profile(self) -> AgentProfile | None:
        return AgentProfile.objects.filter(
            organization_id=self.organization_id, membership=self
        ).first()

    @property
    def display_name(self) -> str:
        """The colleague's name inside the product: full name, else e-mail — the same answer
        wherever it is asked, with no query beyond the user. What *customers* see is the
        profile's ``display_name`` (survey e-mail and page), read explicitly there."""
        return self.user.get_full_name() or self.user.email


class TeamLead(TenantModel):
    """A supervisor leads a team. Explicit so the join table carries the organization too."""

    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="leads", db_index=False
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="leads", db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "membership", "team"], name="teamlead_unique"
            )
        ]
        indexes = [models.Index(fields=["organization", "team"], name="teamlead_team")]

    def __str__(self) -> str:
        return f"{self.membership_id} leads {self.team_id}"


class RecognitionPreference(models.TextChoices):
    PUBLIC = "public", "Public: team wall and digest"
    PRIVATE = "private", "Private: only me and my supervisors"


def agent_photo_path(instance, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "png"
    return f"agents/{uuid.uuid4().hex}.{ext}"


class AgentProfile(TenantModel):
    """What customers see of an agent in the feedback e-mail, plus identifiers."""

    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="profiles", db_index=False
    )
    display_name = models.CharField(max_length=80, blank=True)
    photo = models.ImageField(upload_to=agent_photo_path, blank=True)
    bio = models.CharField(max_length=140, blank=True)
    employee_id = models.CharField(max_length=64, blank=True)
    recognition_preference = models.CharField(
        max_length=10, choices=RecognitionPreference.choices, default=RecognitionPreference.PUBLIC
    )
    motivators = models.CharField(
        max_length=200, blank=True, help_text="What motivates this person, in their words."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "membership"], name="profile_member"),
            models.UniqueConstraint(
                fields=["organization", "employee_id"],
                condition=~models.Q(employee_id=""),
                name="profile_employee_id",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or f"profile {self.pk}"


class ApiKeyMode(models.TextChoices):
    LIVE = "live", "Live"
    TEST = "test", "Test"


class ApiKey(PublicIdMixin, TenantModel):
    """An organization's API key. Only a SHA-256 of the key is stored; it is shown once."""

    name = models.CharField(max_length=80)
    mode = models.CharField(max_length=4, choices=ApiKeyMode.choices, default=ApiKeyMode.LIVE)
    prefix = models.CharField(max_length=24, help_text="The first characters, to recognise it.")
    key_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key_hash"], name="apikey_hash"),
            models.UniqueConstraint(fields=["organization", "public_id"], name="apikey_public_id"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def generate(mode: str) -> str:
        # 256 bits from the CSPRNG; the prefix lets secret scanners and people recognise it.
        return f"chk_{mode}_{secrets.token_urlsafe(32)}"


class Invitation(PublicIdMixin, TenantModel):
    """An admin invites a person by e-mail; the link (token stored hashed) sets the password."""

    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "token_hash"], name="invitation_token"),
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="invitation_public_id"
            ),
        ]

    def __str__(self) -> str:
        return f"invitation for {self.email}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()


_org_lookup = None  # (RowReader(Organization), its Prepared lookup), made on first use


class LookupKind(models.TextChoices):
    API_KEY = "api_key"
    SURVEY_TOKEN = "survey_token"  # noqa: S105 - a kind name, not a secret
    WEBHOOK_ENDPOINT = "webhook_endpoint"
    TV_LINK = "tv_link"
    INVITATION = "invitation"


class GlobalLookup(models.Model):
    """The one narrow path from a secret to its organization, used before the org is known.

    Holds only (kind, digest) → (organization id, object id): never tenant data. It has no
    row-level security because it is read before any organization context exists; the object
    itself is then loaded inside that organization's context, under RLS. It is one of the
    listed exceptions to "organization in every unique constraint" (see tests).
    """

    kind = models.CharField(max_length=20, choices=LookupKind.choices)
    digest = models.CharField(max_length=64)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    object_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "digest"], name="lookup_kind_digest"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → org {self.organization_id} #{self.object_id}"

    @classmethod
    def register(cls, kind: str, secret: str, obj: models.Model) -> GlobalLookup:
        return cls.objects.create(
            kind=kind,
            digest=sha256_hex(secret),
            organization_id=obj.organization_id,
            object_id=obj.pk,
        )

    @classmethod
    def resolve_with_organization(cls, kind: str, secret: str) -> tuple[Organization, int] | None:
        """(organization, object id) in one prepared statement: every API call starts here,
        and building the ORM query cost several times running it."""
        global _org_lookup
        from django.db import connection

        from .raw import Prepared, RowReader

        if _org_lookup is None:
            reader = RowReader(Organization, "o")
            statement = Prepared(
                "tenancy_lookup_organization",
                f"SELECT g.object_id, {reader.columns} FROM coachhub_globallookup g "  # noqa: S608 - model columns
                "JOIN coachhub_organization o ON o.id = g.organization_id "
                "WHERE g.kind = $1 AND g.digest = $2",
                ["text", "text"],
            )
            _org_lookup = (reader, statement)
        reader, statement = _org_lookup
        with connection.cursor() as cur:
            statement.execute(cur, [kind, sha256_hex(secret)])
            row = cur.fetchone()
        return (reader.instance(row[1:]), row[0]) if row else None

    @classmethod
    def resolve(cls, kind: str, secret: str) -> tuple[int, int] | None:
        row = (
            cls.objects.filter(kind=kind, digest=sha256_hex(secret))
            .values_list("organization_id", "object_id")
            .first()
        )
        return tuple(row) if row else None
