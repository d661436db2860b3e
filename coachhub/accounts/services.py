"""Writes for people, teams, invitations and API keys. Each owns its transaction; callers are
inside the organization's context (a request under /o/<org>/ or a task)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from coachhub.tenancy.models import (
    AgentProfile,
    ApiKey,
    ApiKeyMode,
    GlobalLookup,
    Invitation,
    LookupKind,
    Membership,
    Organization,
    Role,
    Team,
    TeamLead,
    sha256_hex,
)

User = get_user_model()
INVITATION_DAYS = 7


def organization_create(
    *, slug: str, name: str, time_zone: str = "UTC", language: str = "en"
) -> Organization:
    """A new tenant with working defaults. Later issues hook their defaults in here."""
    from coachhub.tenancy.context import tenant_context

    org = Organization.objects.create(slug=slug, name=name, time_zone=time_zone, language=language)
    with tenant_context(org):
        for hook in ORGANIZATION_DEFAULTS:
            hook(org)
    return org


# Callables ``hook(org)`` run inside the new organization's context (default alert rules,
# survey questions, qualities, ...). Apps append to it from their AppConfig.ready().
ORGANIZATION_DEFAULTS: list = []


def user_get_or_create(*, email: str, first_name: str = "", last_name: str = "") -> User:
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(
            username=email, email=email, first_name=first_name, last_name=last_name
        )
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def membership_create(
    *,
    organization: Organization,
    user,
    role: str,
    team: Team | None = None,
    teams_led=(),
    display_name: str = "",
    bio: str = "",
    employee_id: str = "",
    is_reviewer: bool = False,
    is_recovery: bool = False,
) -> Membership:
    member, _ = Membership.objects.update_or_create(
        organization=organization,
        user=user,
        defaults={
            "role": role,
            "team": team,
            "is_active": True,
            "deactivated_at": None,
            "is_reviewer": is_reviewer,
            "is_recovery": is_recovery,
        },
    )
    for led in teams_led:
        TeamLead.objects.get_or_create(organization=organization, membership=member, team=led)
    AgentProfile.objects.update_or_create(
        organization=organization,
        membership=member,
        defaults={
            "display_name": display_name or user.get_full_name(),
            "bio": bio,
            "employee_id": employee_id,
        },
    )
    return member


@transaction.atomic
def membership_deactivate(member: Membership) -> None:
    """Keeps history; the person can no longer sign in to this organization and gets no new
    surveys (ingestion refuses inactive agents)."""
    Membership.objects.filter(organization_id=member.organization_id, pk=member.pk).update(
        is_active=False, deactivated_at=timezone.now()
    )


@transaction.atomic
def membership_reactivate(member: Membership) -> None:
    Membership.objects.filter(organization_id=member.organization_id, pk=member.pk).update(
        is_active=True, deactivated_at=None
    )


@transaction.atomic
def team_create(*, organization: Organization, name: str) -> Team:
    return Team.objects.create(organization=organization, name=name)


@transaction.atomic
def api_key_create(
    *, organization: Organization, name: str, mode: str = ApiKeyMode.LIVE, created_by=None
) -> tuple[ApiKey, str]:
    """Returns the key object and the secret, which is never stored and never shown again."""
    secret = ApiKey.generate(mode)
    key = ApiKey.objects.create(
        organization=organization,
        name=name,
        mode=mode,
        prefix=secret[: len(f"chk_{mode}_") + 6],
        key_hash=sha256_hex(secret),
        created_by=created_by,
    )
    GlobalLookup.register(LookupKind.API_KEY, secret, key)
    return key, secret


@transaction.atomic
def api_key_revoke(key: ApiKey) -> None:
    ApiKey.objects.filter(
        organization_id=key.organization_id, pk=key.pk, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    GlobalLookup.objects.filter(
        kind=LookupKind.API_KEY, organization_id=key.organization_id, object_id=key.pk
    ).delete()


@transaction.atomic
def invitation_create(
    *, organization: Organization, email: str, role: str, team: Team | None, invited_by
) -> tuple[Invitation, str]:
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=organization,
        email=User.objects.normalize_email(email).lower(),
        role=role,
        team=team,
        invited_by=invited_by,
        token_hash=sha256_hex(token),
        expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
    )
    GlobalLookup.register(LookupKind.INVITATION, token, invitation)
    return invitation, token


@transaction.atomic
def invitation_accept(
    invitation: Invitation,
    *,
    first_name: str = "",
    last_name: str = "",
    password: str | None = None,
):
    """Creates (or reuses) the user, sets the password, and adds the membership.

    ``password=None`` is for a person who already has an account (and proved it by signing
    in): an invitation link must never reset an existing account's password.
    """
    user = user_get_or_create(email=invitation.email, first_name=first_name, last_name=last_name)
    if first_name:
        user.first_name, user.last_name = first_name, last_name
    if password is not None:
        user.set_password(password)
    user.save()
    org = Organization.objects.get(pk=invitation.organization_id)
    member = membership_create(
        organization=org,
        user=user,
        role=invitation.role,
        team=invitation.team,
        teams_led=[invitation.team]
        if invitation.team and invitation.role == Role.SUPERVISOR
        else [],
    )
    Invitation.objects.filter(organization=org, pk=invitation.pk).update(accepted_at=timezone.now())
    GlobalLookup.objects.filter(
        kind=LookupKind.INVITATION, organization=org, object_id=invitation.pk
    ).delete()
    return member


def user_has_account(email: str) -> bool:
    """True when a user with this e-mail can already sign in (usable password)."""
    user = User.objects.filter(email__iexact=email).first()
    return bool(user and user.has_usable_password())


@transaction.atomic
def invitation_cancel(invitation: Invitation) -> None:
    GlobalLookup.objects.filter(
        kind=LookupKind.INVITATION,
        organization_id=invitation.organization_id,
        object_id=invitation.pk,
    ).delete()
    Invitation.objects.filter(organization_id=invitation.organization_id, pk=invitation.pk).delete()


@transaction.atomic
def invitation_renew(invitation: Invitation) -> str:
    """A fresh token and expiry for a pending invitation (resend); the old link stops working."""
    token = secrets.token_urlsafe(32)
    GlobalLookup.objects.filter(
        kind=LookupKind.INVITATION,
        organization_id=invitation.organization_id,
        object_id=invitation.pk,
    ).delete()
    invitation.token_hash = sha256_hex(token)
    invitation.expires_at = timezone.now() + timedelta(days=INVITATION_DAYS)
    invitation.save(update_fields=["token_hash", "expires_at"])
    GlobalLookup.register(LookupKind.INVITATION, token, invitation)
    return token


@transaction.atomic
def team_update(team: Team, *, name: str, supervisors=None) -> Team:
    """Rename a team and, when ``supervisors`` is given, make exactly them its leads."""
    team.name = name
    team.save(update_fields=["name"])
    if supervisors is not None:
        wanted = {m.pk for m in supervisors}
        leads = TeamLead.objects.filter(organization_id=team.organization_id, team=team)
        leads.exclude(membership_id__in=wanted).delete()
        have = set(leads.values_list("membership_id", flat=True))
        TeamLead.objects.bulk_create(
            [
                TeamLead(organization_id=team.organization_id, team=team, membership_id=pk)
                for pk in wanted - have
            ]
        )
    return team


@transaction.atomic
def membership_update(
    member: Membership,
    *,
    role: str,
    team: Team | None,
    teams_led=(),
    is_reviewer: bool = False,
    is_recovery: bool = False,
) -> Membership:
    """Change role, team, led teams and capabilities. Only supervisors lead teams."""
    member.role = role
    member.team = team
    member.is_reviewer = is_reviewer
    member.is_recovery = is_recovery
    member.save(update_fields=["role", "team", "is_reviewer", "is_recovery"])
    leads = TeamLead.objects.filter(organization_id=member.organization_id, membership=member)
    wanted = {t.pk for t in teams_led} if role == Role.SUPERVISOR else set()
    leads.exclude(team_id__in=wanted).delete()
    have = set(leads.values_list("team_id", flat=True))
    TeamLead.objects.bulk_create(
        [
            TeamLead(organization_id=member.organization_id, membership=member, team_id=pk)
            for pk in wanted - have
        ]
    )
    member.__dict__.pop("led_team_ids", None)
    return member


@transaction.atomic
def profile_ensure(member: Membership) -> AgentProfile:
    """Every membership has a profile (membership_create makes one); this mends older rows."""
    profile = member.profile
    if profile is None:
        profile, _ = AgentProfile.objects.get_or_create(
            organization_id=member.organization_id,
            membership=member,
            defaults={"display_name": member.user.get_full_name()},
        )
        member.__dict__["profile"] = profile
    return profile


@transaction.atomic
def profile_update(profile: AgentProfile, **fields) -> AgentProfile:
    """Update an agent profile's editable fields (display name, photo, bio, ...)."""
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.save(update_fields=list(fields))
    return profile


@transaction.atomic
def organization_update(organization: Organization, **fields) -> Organization:
    for name, value in fields.items():
        setattr(organization, name, value)
    organization.save(update_fields=list(fields))
    return organization
