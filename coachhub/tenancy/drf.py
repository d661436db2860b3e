"""DRF settings hooks: API-key authentication, the permission every endpoint needs, and the one
error shape. Kept apart from ``api.py`` because DRF imports these while it is itself importing."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, permissions, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.response import Response


class ApiKeyAuthentication(BaseAuthentication):
    """The key was resolved by ``TenancyMiddleware``; this only reports the outcome to DRF."""

    def authenticate(self, request):
        key = getattr(request._request, "api_key", None)
        if key is None:
            return None
        return (None, key)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class HasOrganizationKey(permissions.BasePermission):
    def has_permission(self, request, view):
        if getattr(request._request, "api_key", None) is None:
            raise exceptions.NotAuthenticated(
                "Send a valid API key as 'Authorization: Bearer <key>'."
            )
        return True


def _flatten(detail, prefix=None):
    """DRF error details → [{"field": "a.b[0].c", "reason": "..."}]."""
    out = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", "detail"):
                out.extend(_flatten(value, prefix))
                continue
            path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_flatten(value, path))
    elif isinstance(detail, list):
        if detail and all(isinstance(x, (str, exceptions.ErrorDetail)) for x in detail):
            out.extend({"field": prefix, "reason": str(x)} for x in detail)
        else:
            for i, item in enumerate(detail):
                if item in ({}, [], None):
                    continue
                path = f"{prefix}[{i}]" if prefix else f"[{i}]"
                out.extend(_flatten(item, path))
    else:
        out.append({"field": prefix, "reason": str(detail)})
    return out


def errors_response(errors: list[dict], status_code: int, headers=None) -> Response:
    return Response({"errors": errors}, status=status_code, headers=headers)


def exception_handler(exc, context):
    """Every API error answers ``{"errors": [{"field", "reason"}]}`` with a 4xx."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let it be a 500 and be logged
    # No set_rollback here: TenancyMiddleware rolls back the tenant transaction of every
    # answer >= 400, and outside an organization there is no transaction of ours to undo.
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail) or [{"field": None, "reason": "Invalid input."}]
    else:
        errors = [{"field": None, "reason": str(exc.detail)}]
    code = exc.status_code
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        code = status.HTTP_401_UNAUTHORIZED
    return errors_response(errors, code, headers)
