"""``/api/v1/`` endpoints of feedback: interactions in (single and bulk), results out.

Thin: parse, call the service or selector, shape the answer. The key's organization and mode
come from the middleware (``self.organization``, ``self.api_key``).
"""

from __future__ import annotations

import io

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, parsers
from rest_framework.fields import DateTimeField
from rest_framework.response import Response

from coachhub.tenancy.api import (
    CURSOR,
    LIMIT,
    NOT_FOUND,
    SINCE,
    CursorPagination,
    TenantAPIView,
    error_doc,
    errors_response,
    since_param,
)
from coachhub.tenancy.api import ERRORS as API_ERRORS

from .. import selectors
from ..models import RequestStatus, SurveyState
from ..services.ingest import (
    MAX_BULK,
    IngestValidationError,
    interaction_ingest,
    interactions_ingest,
)
from . import serializers as s
from .activity import RecordsIngestActivity

MAX_BODY = 1024 * 1024  # 1 MiB


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The body is larger than 1 MiB."
    default_code = "too_large"


class LimitedJSONParser(parsers.JSONParser):
    """JSON with a 1 MiB cap enforced while reading (a lying or missing Content-Length too)."""

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return None
        raw = stream.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            raise RequestTooLarge()
        return super().parse(io.BytesIO(raw), media_type, parser_context)


def _body(request):
    """The parsed JSON body; 413 before reading anything when the declared size is too big."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY:
        raise RequestTooLarge()
    try:
        return request.data
    except RequestDataTooBig as exc:
        raise RequestTooLarge() from exc


ERRORS = {
    **API_ERRORS,
    400: error_doc("Invalid input: every error, nothing written."),
    413: error_doc("Body larger than 1 MiB."),
    415: error_doc("Body is not `application/json`."),
}


_datetime = DateTimeField()


def _created_body(row, mode: str) -> dict:
    """``InteractionOut`` of the interaction just stored, from what ingestion already has in
    hand: no read-back and no serializer instance on the hottest endpoint (a test checks that
    it equals the GET answer)."""
    item, agent = row.item, row.item["agent"]
    name = agent.display_name or f"{agent.first_name} {agent.last_name}".strip() or agent.email
    pending = row.status in (RequestStatus.SCHEDULED, RequestStatus.TEST)
    return {
        "id": str(row.public_id),
        "external_id": item["external_id"],
        "source": item["source"],
        "mode": mode,
        "status": row.status,
        "survey_state": SurveyState.PENDING if pending else SurveyState.NONE,
        "channel": item["channel"],
        "agent": {
            "id": str(agent.public_id),
            "name": name,
            "email": agent.email,
            "employee_id": agent.employee_id,
        },
        "team": {"id": str(agent.team_public_id), "name": agent.team_name}
        if agent.team_id
        else None,
        "customer": {
            "name": item["customer_name"],
            "email": item["customer_email"],
            "phone": item["customer_phone"],
            "language": item["customer_language"],
        },
        "occurred_at": _datetime.to_representation(item["occurred_at"]),
        "tags": item["tags"],
        "properties": item["properties"],
        "do_not_send": item["do_not_send"],
        "ticket_url": item["ticket_url"],
        "created_at": _datetime.to_representation(row.created_at),
    }


class InteractionListView(RecordsIngestActivity, TenantAPIView):
    parser_classes = [LimitedJSONParser]
    serializer_class = s.InteractionOut

    def get_tenant_queryset(self):
        return selectors.interactions_for(self.organization)

    @extend_schema(
        summary="List interactions",
        parameters=[
            OpenApiParameter("external_id", OpenApiTypes.STR, description="Exact helpdesk id."),
            SINCE,
            CURSOR,
            LIMIT,
        ],
        responses={200: s.InteractionOut(many=True), 400: ERRORS[400], 401: ERRORS[401]},
    )
    def get(self, request):
        qs = self.get_queryset()
        if external_id := request.query_params.get("external_id"):
            qs = qs.filter(external_id=external_id)
        if since := since_param(request):
            qs = qs.filter(created_at__gte=since)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.InteractionOut(page, many=True).data)

    @extend_schema(
        summary="Record an interaction (idempotent)",
        description="201 when stored, 200 when the same `source` + `external_id` was already "
        "stored (its body is then neither validated nor applied). A test key stores test data "
        "(`status` = `test`) that never counts in metrics.",
        request=s.InteractionIn,
        responses={
            201: OpenApiResponse(s.InteractionOut, description="Stored."),
            200: OpenApiResponse(s.InteractionOut, description="Already stored: the existing one."),
            **ERRORS,
        },
    )
    def post(self, request):
        data = _body(request)
        if not isinstance(data, dict):
            return errors_response(
                [{"field": None, "reason": "Send one interaction as a JSON object."}], 400
            )
        try:
            result = interaction_ingest(self.organization, data, mode=self.api_key.mode)
        except IngestValidationError as exc:
            return errors_response(exc.errors, 400)
        if result.created_flags[0]:
            return Response(_created_body(result.rows[0], self.api_key.mode), 201)
        obj = self.get_queryset().get(pk=result.pks[0])
        return Response(s.InteractionOut(obj).data, status=200)


class InteractionBulkView(RecordsIngestActivity, TenantAPIView):
    parser_classes = [LimitedJSONParser]
    serializer_class = s.BulkOut
    pagination_class = None

    def get_tenant_queryset(self):
        return selectors.interactions_for(self.organization)

    @extend_schema(
        summary="Record up to 1,000 interactions (all or nothing)",
        description="400 with every error (`field` like `interactions[3].agent`) and nothing "
        "written, or 200 with the ids in input order. An item repeating a stored or earlier "
        "item's `source` + `external_id` is a duplicate and gets that interaction's id.",
        request=s.BulkIn,
        responses={200: s.BulkOut, **ERRORS},
    )
    def post(self, request):
        data = _body(request)
        items = data.get("interactions") if isinstance(data, dict) else None
        if not isinstance(items, list):
            return errors_response(
                [
                    {
                        "field": "interactions",
                        "reason": 'Send {"interactions": [...]}, a list of interactions.',
                    }
                ],
                400,
            )
        if not items:
            return errors_response([{"field": "interactions", "reason": "The list is empty."}], 400)
        if len(items) > MAX_BULK:
            return errors_response(
                [
                    {
                        "field": "interactions",
                        "reason": f"At most {MAX_BULK:,} per call ({len(items):,} sent).",
                    }
                ],
                400,
            )
        try:
            result = interactions_ingest(self.organization, items, mode=self.api_key.mode)
        except IngestValidationError as exc:
            return errors_response(exc.errors, 400)
        return Response(
            {
                "created": result.created,
                "duplicates": result.duplicates,
                "ids": [str(i) for i in result.ids],
            }
        )


class InteractionDetailView(TenantAPIView):
    serializer_class = s.InteractionOut
    lookup_url_kwarg = "interaction_id"

    def get_tenant_queryset(self):
        return selectors.interactions_for(self.organization)

    @extend_schema(summary="One interaction", responses={200: s.InteractionOut, **NOT_FOUND})
    def get(self, request, interaction_id):
        return Response(s.InteractionOut(self.get_object()).data)


class AgentListView(TenantAPIView):
    serializer_class = s.AgentOut

    def get_tenant_queryset(self):
        return selectors.agents_for(self.organization)

    @extend_schema(summary="List agents", parameters=[CURSOR, LIMIT])
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.AgentOut(page, many=True).data)


class ResponsesPagination(CursorPagination):
    # Oldest change first, so a BI sync can follow ``next`` and then poll with ``since``.
    ordering = ("updated_at", "id")


class ResponseListView(TenantAPIView):
    serializer_class = s.ResponseOut
    pagination_class = ResponsesPagination

    def get_tenant_queryset(self):
        return selectors.responses_for(self.organization)

    @extend_schema(
        summary="List survey responses (confirmed answers)",
        description="Oldest change first. `since` filters on `updated_at`, so a sync also "
        "receives later edits.",
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.DATETIME,
                description="Only responses changed at or after this time.",
            ),
            CURSOR,
            LIMIT,
        ],
        responses={200: s.ResponseOut(many=True), 400: ERRORS[400], 401: ERRORS[401]},
    )
    def get(self, request):
        qs = self.get_queryset()
        if since := since_param(request):
            qs = qs.filter(updated_at__gte=since)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.ResponseOut(page, many=True).data)
