"""Reads for the survey side: interactions with their request and response, narrowed by role
(admin → all, supervisor → teams they lead, agent → their own). Missing and not-yours are the
same 404."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from coachhub.tenancy.models import Membership

from .models import FeedbackRequest, Interaction, RequestKind, Response


def interactions_visible_to(member: Membership) -> QuerySet[Interaction]:
    qs = Interaction.objects.filter(organization_id=member.organization_id)
    if member.is_admin:
        return qs
    if member.is_supervisor:
        return qs.filter(team_id__in=member.led_team_ids)
    return qs.filter(agent_id=member.pk)


def _with_survey(qs: QuerySet[Interaction]) -> QuerySet[Interaction]:
    return qs.select_related("agent__user", "team").prefetch_related(
        Prefetch(
            "requests",
            queryset=FeedbackRequest.objects.filter(kind=RequestKind.INITIAL),
            to_attr="initial_requests",
        ),
        Prefetch(
            "responses", queryset=Response.objects.order_by("submitted_at"), to_attr="answers"
        ),
    )


def get_interaction_for(member: Membership, public_id) -> Interaction:
    try:
        return _with_survey(interactions_visible_to(member)).get(public_id=public_id)
    except (Interaction.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such interaction") from exc


def surveys_recent_for(member: Membership, limit: int = 100) -> list[Interaction]:
    """The newest interactions the member may see, with their survey (a status page)."""
    return list(_with_survey(interactions_visible_to(member)).order_by("-occurred_at")[:limit])
