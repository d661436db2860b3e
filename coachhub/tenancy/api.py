"""The DRF base view every app's ``api/`` builds on: cursor pages and an organization filter
that subclasses cannot skip."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import generics, pagination
from rest_framework.response import Response

from .drf import ApiKeyAuthentication, errors_response  # noqa: F401  (re-exported for apps)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "coachhub.tenancy.drf.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "chk_live_… or chk_test_…"}


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
