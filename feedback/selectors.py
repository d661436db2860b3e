"""Feedback reads. Every selector filters by organization explicitly (the scope is the net)."""

from __future__ import annotations

from datetime import date

from django.db.models import F, FilteredRelation, Q, QuerySet, Sum

from coachhub.tenancy.models import Membership, Role

from .models import ROLLUP_COUNTERS, DailyRollup, Interaction, RequestKind, Response


def interactions_for(organization) -> QuerySet[Interaction]:
    """Interactions with their agent, team and initial request's status, for the API."""
    return (
        Interaction.objects.filter(organization_id=organization.pk)
        .select_related("agent__user", "team")
        .annotate(
            initial=FilteredRelation("requests", condition=Q(requests__kind=RequestKind.INITIAL)),
            agent_profile=FilteredRelation("agent__profiles"),
        )
        .annotate(
            status=F("initial__status"),
            survey_state=F("initial__survey_state"),
            agent_employee_id=F("agent_profile__employee_id"),
            agent_display_name=F("agent_profile__display_name"),
        )
    )


def agents_for(organization) -> QuerySet[Membership]:
    """Every agent membership of the organization, active or not, with identifiers."""
    return (
        Membership.objects.filter(organization_id=organization.pk, role=Role.AGENT)
        .select_related("user", "team")
        .annotate(profile=FilteredRelation("profiles"))
        .annotate(employee_id=F("profile__employee_id"), display=F("profile__display_name"))
    )


def responses_for(organization) -> QuerySet[Response]:
    """Confirmed answers only: a star click no page has confirmed yet is not a response."""
    return (
        Response.objects.filter(organization_id=organization.pk, confirmed=True)
        .select_related("interaction", "agent__user")
        .annotate(agent_profile=FilteredRelation("agent__profiles"))
        .annotate(agent_display_name=F("agent_profile__display_name"))
    )


def rollup_totals(organization, *, start: date, end: date, agent_ids=None, team_ids=None) -> dict:
    """Summed rollup counters over [start, end] (local days), optionally for some agents or
    teams: what KPI tiles read instead of raw history."""
    qs = DailyRollup.objects.filter(organization_id=organization.pk, day__gte=start, day__lte=end)
    if agent_ids is not None:
        qs = qs.filter(agent_id__in=agent_ids)
    if team_ids is not None:
        qs = qs.filter(team_id__in=team_ids)
    totals = qs.aggregate(**{c: Sum(c) for c in ROLLUP_COUNTERS})
    return {c: totals[c] or 0 for c in ROLLUP_COUNTERS}
