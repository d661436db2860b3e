"""Reads for people, teams, invitations and keys. Each filters by organization first and then
narrows by role through the access functions."""

from __future__ import annotations

import functools

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from coachhub.tenancy.access import members_visible_to, teams_visible_to
from coachhub.tenancy.context import user_rows
from coachhub.tenancy.models import (
    AgentProfile,
    ApiKey,
    Invitation,
    Membership,
    Organization,
    TeamLead,
)
from coachhub.tenancy.raw import RowReader, split_row


@functools.cache
def _switcher():
    """(membership reader, organization reader, SQL), made on first use."""
    m, o = RowReader(Membership, "m"), RowReader(Organization, "o")
    sql = (
        f"SELECT {m.columns}, {o.columns} FROM {Membership._meta.db_table} m "  # noqa: S608 - model columns
        f"JOIN {Organization._meta.db_table} o ON o.id = m.organization_id "
        "WHERE m.user_id = %s AND m.is_active AND o.is_active ORDER BY o.name, o.id"
    )
    return m, o, sql


def user_memberships(user) -> list[Membership]:
    """The signed-in user's active memberships in active organizations (the org switcher),
    with their organizations, by organization name: every page's layout asks, so one round
    trip with the user setting (``user_rows``) instead of a context's five."""
    m, o, sql = _switcher()
    out = []
    for row in user_rows(user, sql, [int(user.pk)]):
        member_values, org_values, _ = split_row(row, (m, o))
        member = m.instance(member_values)
        member.organization = o.instance(org_values)
        out.append(member)
    return out


def _attach_profiles(members) -> list[Membership]:
    members = list(members)
    for m in members:
        profiles = (
            m._prefetched_objects_cache.get("profiles")
            if hasattr(m, "_prefetched_objects_cache")
            else None
        )
        if profiles is not None:
            m.__dict__["profile"] = profiles[0] if profiles else None
    return members


def people_for(
    member: Membership, *, q: str = "", status: str = "active", team=None, role: str = ""
):
    qs = (
        members_visible_to(member)
        .prefetch_related(
            Prefetch(
                "profiles",
                queryset=AgentProfile.objects.filter(organization_id=member.organization_id),
            ),
            Prefetch(
                "leads",
                queryset=TeamLead.objects.filter(
                    organization_id=member.organization_id
                ).select_related("team"),
            ),
        )
        .order_by("user__first_name", "user__last_name", "user__email")
    )
    if status == "active":
        qs = qs.filter(is_active=True)
    elif status == "inactive":
        qs = qs.filter(is_active=False)
    if q:
        qs = qs.filter(
            Q(user__first_name__icontains=q)
            | Q(user__last_name__icontains=q)
            | Q(user__email__icontains=q)
            | Q(profiles__display_name__icontains=q)
            | Q(profiles__employee_id__iexact=q)
        ).distinct()
    if team is not None:
        qs = qs.filter(Q(team=team) | Q(leads__team=team)).distinct()
    if role:
        qs = qs.filter(role=role)
    return _attach_profiles(qs)


def team_members(member: Membership, team) -> list[Membership]:
    """The active people of a team that ``member`` may see (agents and its supervisors)."""
    qs = (
        members_visible_to(member)
        .filter(Q(team=team) | Q(leads__team=team), is_active=True)
        .prefetch_related(
            Prefetch(
                "profiles",
                queryset=AgentProfile.objects.filter(organization_id=member.organization_id),
            )
        )
        .distinct()
        .order_by("role", "user__first_name")
    )
    return _attach_profiles(qs)


def teams_for(member: Membership) -> QuerySet:
    return (
        teams_visible_to(member)
        .annotate(
            agent_count=Count(
                "members", filter=Q(members__is_active=True, members__role="agent"), distinct=True
            )
        )
        .prefetch_related(
            Prefetch(
                "leads",
                queryset=TeamLead.objects.filter(
                    organization_id=member.organization_id
                ).select_related("membership__user"),
            )
        )
        .order_by("name")
    )


def pending_invitations(member: Membership) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(
            organization_id=member.organization_id,
            accepted_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("team")
        .order_by("-created_at")
    )


def api_keys_for(member: Membership) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organization_id=member.organization_id).select_related(
        "created_by"
    )


def organization_counts(member: Membership) -> dict:
    people = Membership.objects.filter(organization_id=member.organization_id, is_active=True)
    by_role = dict(people.values_list("role").annotate(n=Count("id")).values_list("role", "n"))
    return {
        "people": sum(by_role.values()),
        "agents": by_role.get("agent", 0),
        "supervisors": by_role.get("supervisor", 0),
        "admins": by_role.get("admin", 0),
        "teams": teams_visible_to(member).count(),
        "api_keys": ApiKey.objects.filter(
            organization_id=member.organization_id, revoked_at__isnull=True
        ).count(),
        "invitations": pending_invitations(member).count(),
    }


def _get(qs: QuerySet, public_id):
    try:
        return qs.get(public_id=public_id)
    except (qs.model.DoesNotExist, ValueError) as exc:
        from django.http import Http404

        raise Http404("No such page") from exc


def get_api_key_for(member: Membership, public_id) -> ApiKey:
    """Admins only (the views check the role); another organization's key is a 404."""
    return _get(api_keys_for(member), public_id)


def get_invitation_for(member: Membership, public_id) -> Invitation:
    return _get(pending_invitations(member), public_id)
