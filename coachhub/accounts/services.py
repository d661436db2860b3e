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


def organization_create(*, slug: str, name: str, time_zone: str = "UTC", language: str = "en") -> Organization:
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
def api_key_create(*, organization: Organization, name: str, mode: str = ApiKeyMode.LIVE, created_by=None) -> tuple[ApiKey, str]:
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
    ApiKey.objects.filter(organization_id=key.organization_id, pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    GlobalLookup.objects.filter(
        kind=LookupKind.API_KEY, organization_id=key.organization_id, object_id=key.pk
    ).delete()


@transaction.atomic
def invitation_create(*, organization: Organization, email: str, role: str, team: Team | None, invited_by) -> tuple[Invitation, str]:
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
def invitation_accept(invitation: Invitation, *, first_name: str, last_name: str, password: str):
    """Creates (or reuses) the user, sets the password, and adds the membership."""
    user = user_get_or_create(email=invitation.email, first_name=first_name, last_name=last_name)
    if first_name:
        user.first_name, user.last_name = first_name, last_name
    user.set_password(password)
    user.save()
    org = Organization.objects.get(pk=invitation.organization_id)
    member = membership_create(
        organization=org,
        user=user,
        role=invitation.role,
        team=invitation.team,
        teams_led=[invitation.team] if invitation.team and invitation.role == Role.SUPERVISOR else [],
    )
    Invitation.objects.filter(organization=org, pk=invitation.pk).update(accepted_at=timezone.now())
    GlobalLookup.objects.filter(kind=LookupKind.INVITATION, organization=org, object_id=invitation.pk).delete()
    return member
