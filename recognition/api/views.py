"""``/api/v1/`` read endpoints of recognition: public kudos, earned rewards, leaderboards."""

from __future__ import annotations

import uuid

from django.utils.dateparse import parse_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from coachhub.tenancy.api import CURSOR, ERRORS, LIMIT, TenantAPIView
from coachhub.tenancy.models import Membership, Team

from .. import selectors
from ..models import EarnedReward
from . import serializers as s

METHOD = (
    "Bayesian-smoothed average: (prior_weight × team mean + sum) ÷ (prior_weight + n); "
    "agents with n < min_n are listed in not_enough_data."
)


def _uuid(request, name):
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise exceptions.ValidationError({name: ["Use an id (a UUID)."]}) from None


class KudosListView(TenantAPIView):
    serializer_class = s.KudosOut

    def get_tenant_queryset(self):
        return selectors.public_kudos(self.organization).select_related("giver__user", "response")

    @extend_schema(
        summary="List public kudos",
        description="Only kudos to agents whose recognition preference is public (read at "
        "request time: an agent switching to private disappears here at once). Newest first.",
        parameters=[
            OpenApiParameter("agent", OpenApiTypes.UUID, description="Only kudos to this agent."),
            CURSOR,
            LIMIT,
        ],
        responses={200: s.KudosOut(many=True), **ERRORS},
    )
    def get(self, request):
        qs = self.get_queryset()
        if agent := _uuid(request, "agent"):
            qs = qs.filter(recipient__public_id=agent)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.KudosOut(page, many=True).data)


class RewardListView(TenantAPIView):
    serializer_class = s.RewardOut

    def get_tenant_queryset(self):
        return EarnedReward.objects.select_related("agent__user", "item")

    @extend_schema(
        summary="List earned customer-voted rewards",
        parameters=[
            OpenApiParameter("agent", OpenApiTypes.UUID, description="Only this agent's rewards."),
            OpenApiParameter(
                "status", OpenApiTypes.STR, description="earned, approved or fulfilled."
            ),
            CURSOR,
            LIMIT,
        ],
        responses={200: s.RewardOut(many=True), **ERRORS},
    )
    def get(self, request):
        qs = self.get_queryset()
        if agent := _uuid(request, "agent"):
            qs = qs.filter(agent__public_id=agent)
        if status := request.query_params.get("status"):
            if status not in ("earned", "approved", "fulfilled"):
                raise exceptions.ValidationError({"status": ["Use earned, approved or fulfilled."]})
            qs = qs.filter(status=status)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.RewardOut(page, many=True).data)


class LeaderboardView(TenantAPIView):
    serializer_class = s.LeaderboardOut
    pagination_class = None

    def get_tenant_queryset(self):
        return Team.objects.all()

    @extend_schema(
        summary="A leaderboard",
        description=METHOD + " Read from the daily rollups.",
        parameters=[
            OpenApiParameter(
                "metric",
                OpenApiTypes.STR,
                enum=list(selectors.METRICS),
                description="Default stars.",
            ),
            OpenApiParameter(
                "period",
                OpenApiTypes.STR,
                enum=["week", "month", "custom"],
                description="Default month (the last 30 days).",
            ),
            OpenApiParameter(
                "team", OpenApiTypes.UUID, description="A team; none: the organization."
            ),
            OpenApiParameter("start", OpenApiTypes.DATE, description="First day (custom period)."),
            OpenApiParameter("end", OpenApiTypes.DATE, description="Last day (custom period)."),
        ],
        responses={200: s.LeaderboardOut, **ERRORS},
    )
    def get(self, request):
        q = request.query_params
        metric = q.get("metric") or "stars"
        if metric not in selectors.METRICS:
            raise exceptions.ValidationError(
                {"metric": [f"Use one of {', '.join(selectors.METRICS)}."]}
            )
        period = q.get("period") or "month"
        if period not in selectors.PERIODS:
            raise exceptions.ValidationError({"period": ["Use week, month or custom."]})
        team = None
        if team_id := _uuid(request, "team"):
            team = self.get_queryset().filter(public_id=team_id).first()
            if team is None:
                raise exceptions.ValidationError({"team": ["No such team."]})
        dates = {}
        for name in ("start", "end"):
            raw = q.get(name)
            try:
                dates[name] = parse_date(raw) if raw else None
            except ValueError:
                dates[name] = None
            if raw and dates[name] is None:
                raise exceptions.ValidationError({name: ["Use a date like 2026-11-01."]})
        try:
            lb = selectors.leaderboard(
                self.organization, metric=metric, period=period, team=team, **dates
            )
        except ValueError as exc:
            field = str(exc)
            raise exceptions.ValidationError(
                {field: [f"Check {field} (custom periods need start ≤ end, at most a year)."]}
            ) from None
        ids = dict(
            Membership.objects.filter(
                organization_id=self.organization.pk,
                pk__in=[e.agent_id for e in lb.board.ranked + lb.board.not_enough],
            ).values_list("pk", "public_id")
        )

        def entry(e):
            return {
                "agent": ids[e.agent_id],
                "name": e.name,
                "rank": e.rank,
                "smoothed": e.smoothed,
                "raw": e.raw,
                "n": e.n,
                "prior_mean": e.prior_mean,
            }

        data = {
            "metric": metric,
            "period": period,
            "start": lb.start,
            "end": lb.end,
            "team": team.public_id if team else None,
            "min_n": lb.board.min_n,
            "prior_weight": lb.board.prior_weight,
            "method": METHOD,
            "ranked": [entry(e) for e in lb.board.ranked],
            "not_enough_data": [entry(e) for e in lb.board.not_enough],
        }
        return Response(s.LeaderboardOut(data).data)
