"""``GET /api/v1/alerts/?since=&cursor=`` (API.md): alerts of the key's organization."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema

from coachhub.tenancy.api import CURSOR, ERRORS, LIMIT, SINCE, TenantAPIView, since_param

from ..models import Alert
from . import serializers as s


class AlertListView(TenantAPIView):
    serializer_class = s.AlertOut

    def get_tenant_queryset(self):
        return Alert.objects.filter(organization_id=self.organization.pk).select_related(
            "rule", "interaction", "response", "agent"
        )

    @extend_schema(
        summary="List alerts",
        description="`since` filters on `updated_at`, so a sync also receives state changes.",
        parameters=[SINCE, CURSOR, LIMIT],
        responses={200: s.AlertOut(many=True), 400: ERRORS[400], 401: ERRORS[401]},
    )
    def get(self, request):
        qs = self.get_queryset()
        if since := since_param(request):
            qs = qs.filter(updated_at__gte=since)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.AlertOut(page, many=True).data)
