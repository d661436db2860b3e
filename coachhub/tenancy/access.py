"""The only way views fetch protected objects: access functions that filter by organization
first and then narrow by role (admin → everything, supervisor → teams they lead, agent → self).

"Missing" and "not yours" are the same ``Http404``; ``PermissionDenied`` (403) is only for "you
may see this but not change it" or a page your role does not have.
"""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from .models import Membership, Role, Team


def require_role(*roles: str):
    """View decorator: the member's role must be one of ``roles`` (else 403)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            member = getattr(request, "member", None)
            if member is None:
                raise Http404("No such page")
            if member.role not in roles:
                raise PermissionDenied("Your role cannot use this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


admin_required = require_role(Role.ADMIN)
staff_required = require_role(Role.ADMIN, Role.SUPERVISOR)


def teams_visible_to(member: Membership) -> QuerySet[Team]:
    qs = Team.objects.filter(organization_id=member.organization_id)
    if member.is_admin:
        return qs
    if member.is_supervisor:
        return qs.filter(id__in=member.led_team_ids)
    return qs.filter(id=member.team_id) if member.team_id else qs.none()


def members_visible_to(member: Membership) -> QuerySet[Membership]:
    qs = Membership.objects.filter(organization_id=member.organization_id).select_related(
        "user", "team"
    )
    if member.is_admin:
        return qs
    if member.is_supervisor:
        return qs.filter(team_id__in=member.led_team_ids) | qs.filter(pk=member.pk)
    return qs.filter(pk=member.pk)


def _get(qs: QuerySet, public_id):
    try:
        return qs.get(public_id=public_id)
    except (qs.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such page") from exc
    except Exception as exc:  # a malformed UUID is "missing", not a 500
        from django.core.exceptions import ValidationError

        if isinstance(exc, ValidationError):
            raise Http404("No such page") from exc
        raise


def get_team_for(member: Membership, public_id) -> Team:
    return _get(teams_visible_to(member), public_id)


def get_member_for(member: Membership, public_id) -> Membership:
    return _get(members_visible_to(member), public_id)
