"""The DRF base view every app's ``api/`` builds on: cursor pages and an organization filter
that subclasses cannot skip."""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, generics, pagination, serializers
from rest_framework.response import Response

from .drf import ApiKeyAuthentication, errors_response  # noqa: F401  (re-exported for apps)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "coachhub.tenancy.drf.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "chk_live_… or chk_test_…"}


# --- the one error shape and the list parameters every app's API documents -------------------


class ErrorItem(serializers.Serializer):
    field = serializers.CharField(
        allow_null=True,
        help_text="Dotted path of the offending field, e.g. `interactions[3].agent`.",
    )
    reason = serializers.CharField(help_text="What is wrong, as a sentence.")


class ErrorsOut(serializers.Serializer):
    errors = ErrorItem(many=True, help_text="Every problem found.")


def error_doc(description: str) -> OpenApiResponse:
    """An error answer in the schema: always ``ErrorsOut`` (drf.exception_handler's shape)."""
    return OpenApiResponse(ErrorsOut, description=description)


ERRORS = {
    400: error_doc("Invalid query parameter."),
    401: error_doc("No or bad API key."),
}
NOT_FOUND = {404: error_doc("No such object (or another org's).")}
SINCE = OpenApiParameter(
    "since", OpenApiTypes.DATETIME, description="Only items stored at or after this time."
)
LIMIT = OpenApiParameter(
    "limit", OpenApiTypes.INT, description="Page size, at most 500 (default 100)."
)
CURSOR = OpenApiParameter("cursor", OpenApiTypes.STR, description="Opaque cursor from `next`.")


def since_param(request, name: str = "since"):
    """The ``since`` query parameter as an aware datetime, None when absent; 400 naming the
    parameter when it is not an ISO 8601 timestamp with an offset."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value = parse_datetime(raw.replace(" ", "+"))  # a "+" in a query string arrives as " "
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise exceptions.ValidationError({name: ["Use an ISO 8601 timestamp with an offset."]})
    return value


class CursorPagination(pagination.CursorPagination):
    page_size = 100
    max_page_size = 500
    page_size_query_param = "limit"
    ordering = "-id"

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
            },
        }


class TenantAPIView(generics.GenericAPIView):
    """Base for every ``/api/v1/`` view over tenant data.

    Subclasses implement ``get_tenant_queryset()``; ``get_queryset`` is final and always
    filters by the key's organization, so a subclass cannot forget it.
    """

    pagination_class = CursorPagination
    lookup_field = "public_id"
    lookup_url_kwarg = "id"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(f"{cls.__name__} must implement get_tenant_queryset, not get_queryset")

    @property
    def organization(self):
        return self.request._request.organization

    @property
    def api_key(self):
        return self.request._request.api_key

    def get_tenant_queryset(self):
        raise NotImplementedError

    def get_queryset(self):
        return self.get_tenant_queryset().filter(organization=self.organization)
