"""``GET /api/v1/coaching-notes/``, ``/api/v1/sessions/`` and ``/api/v1/goals/`` (read-only,
cursor-paginated, in the OpenAPI schema). Sessions never carry private coach-only notes: they
live in another table that no serializer here reads. Goals carry their computed progress."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers

from coachhub.tenancy.api import CURSOR, ERRORS, LIMIT, SINCE, TenantAPIView, since_param

from ..models import CoachingNote
from ..models_sessions import CoachingSession, Goal
from ..services.goals import goal_progress, today_for


class CoachingNoteOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    kind = serializers.CharField()
    behaviour = serializers.CharField(source="behaviour.name")
    body = serializers.CharField()
    author = serializers.UUIDField(source="author.public_id")
    agent = serializers.UUIDField(source="agent.public_id")
    created_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)


class ActionOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    text = serializers.CharField()
    owner = serializers.UUIDField(source="owner.public_id")
    due_date = serializers.DateField(allow_null=True)
    done = serializers.SerializerMethodField()

    def get_done(self, obj) -> bool:
        return obj.done_at is not None


class SessionOut(serializers.Serializer):
    """Deliberately an explicit field list: no private notes, no usefulness rating (that is
    shown to admins only, aggregated)."""

    id = serializers.UUIDField(source="public_id")
    state = serializers.CharField()
    agent = serializers.UUIDField(source="agent.public_id")
    supervisor = serializers.UUIDField(source="supervisor.public_id")
    behaviour = serializers.CharField(source="behaviour.name", allow_null=True, default=None)
    category = serializers.CharField(source="category.name", allow_null=True, default=None)
    purpose = serializers.CharField()
    self_assessment = serializers.CharField()
    agent_topics = serializers.CharField()
    grow_goal = serializers.CharField()
    grow_reality = serializers.CharField()
    grow_options = serializers.CharField()
    grow_will = serializers.CharField()
    kudos_open = serializers.CharField()
    kudos_close = serializers.CharField()
    developmental = serializers.BooleanField()
    follow_up_due_at = serializers.DateTimeField(allow_null=True)
    actions = ActionOut(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    shared_at = serializers.DateTimeField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    followed_up_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)


class ProgressOut(serializers.Serializer):
    current = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["on_track", "at_risk", "met", "missed"])
    time_elapsed = serializers.FloatField(source="fraction_time")


class GoalOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    agent = serializers.UUIDField(source="agent.public_id")
    session = serializers.UUIDField(source="session.public_id", allow_null=True, default=None)
    title = serializers.CharField()
    metric = serializers.CharField()
    baseline = serializers.FloatField(allow_null=True)
    baseline_n = serializers.IntegerField()
    target = serializers.FloatField()
    start_day = serializers.DateField()
    due_date = serializers.DateField()
    status = serializers.CharField()
    progress = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(ProgressOut)
    def get_progress(self, goal) -> dict:
        today = self.context.get("today") or today_for(goal.organization)
        return ProgressOut(goal_progress(goal, today, with_series=False)).data


class CoachingNoteListView(TenantAPIView):
    serializer_class = CoachingNoteOut

    def get_tenant_queryset(self):
        return CoachingNote.objects.filter(organization_id=self.organization.pk).select_related(
            "behaviour", "author", "agent"
        )

    @extend_schema(
        summary="List micro-coaching notes",
        parameters=[SINCE, CURSOR, LIMIT],
        responses={200: CoachingNoteOut(many=True), 400: ERRORS[400], 401: ERRORS[401]},
    )
    def get(self, request):
        qs = self.get_queryset()
        if since := since_param(request):
            qs = qs.filter(created_at__gte=since)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(CoachingNoteOut(page, many=True).data)


class SessionListView(TenantAPIView):
    serializer_class = SessionOut

    def get_tenant_queryset(self):
        return (
            CoachingSession.objects.filter(organization_id=self.organization.pk)
            .select_related("agent", "supervisor", "behaviour", "category")
            .prefetch_related("actions__owner")
        )

    @extend_schema(
        summary="List 1:1 coaching sessions",
        description="Never includes private coach-only notes. `since` filters on `updated_at`.",
        parameters=[SINCE, CURSOR, LIMIT],
        responses={200: SessionOut(many=True), 400: ERRORS[400], 401: ERRORS[401]},
    )
    def get(self, request):
        qs = self.get_queryset()
        if since := since_param(request):
            qs = qs.filter(updated_at__gte=since)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(SessionOut(page, many=True).data)


class GoalListView(TenantAPIView):
    serializer_class = GoalOut

    def get_tenant_queryset(self):
        return Goal.objects.filter(organization_id=self.organization.pk).select_related(
            "agent", "session", "organization"
        )

    @extend_schema(
        summary="List SMART goals with their computed progress",
        description="`progress` is computed from the rollups at request time. `since` filters "
        "on `updated_at`.",
        parameters=[SINCE, CURSOR, LIMIT],
        responses={200: GoalOut(many=True), 400: ERRORS[400], 401: ERRORS[401]},
    )
    def get(self, request):
        qs = self.get_queryset()
        if since := since_param(request):
            qs = qs.filter(updated_at__gte=since)
        page = self.paginate_queryset(qs)
        ctx = {"today": today_for(self.organization)}
        return self.get_paginated_response(GoalOut(page, many=True, context=ctx).data)
