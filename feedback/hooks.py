"""Public inbound webhooks: ``/hooks/<kind>/<endpoint-id>/``.

Outside /o/ and /api/, so no middleware resolved an organization: the view resolves the
endpoint through ``GlobalLookup`` (the one pre-organization path), then enters that
organization's context itself. The tenant never comes from the payload.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from coachhub.core.logging import organization_id_var
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Organization

from .models_channels import EndpointKind, WebhookEndpoint
from .services import zendesk
from .services.activity import REJECTED, activity_record

log = logging.getLogger(__name__)
MAX_BODY = settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _error(status: int, reason: str, field=None) -> JsonResponse:
    return JsonResponse({"errors": [{"field": field, "reason": reason}]}, status=status)


@csrf_exempt
@require_POST
def zendesk_hook(request, endpoint_id: str):
    found = zendesk.endpoint_resolve(endpoint_id)
    # Unknown and deactivated endpoints answer the same 404 (see the endpoint check below).
    if found is None:
        return _error(404, "No such endpoint.")
    org_id, object_id = found
    if not Organization.objects.filter(pk=org_id, is_active=True).exists():
        return _error(404, "No such endpoint.")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return _error(413, "The body is larger than 1 MiB.")
    body = request.body
    token = organization_id_var.set(org_id)
    try:
        with tenant_context(org_id):
            endpoint = WebhookEndpoint.objects.filter(
                organization_id=org_id, pk=object_id, kind=EndpointKind.ZENDESK
            ).first()
            # 404, not 410, for a deactivated endpoint: it reveals nothing about whether a URL
            # ever existed to whoever holds an old one, and Zendesk (like most senders) does
            # not retry a 4xx other than 409/429, so an admin's "off" stops the calls at once.
            if endpoint is None or not endpoint.is_active:
                return _error(404, "No such endpoint.")
            problem = zendesk.signature_problem(
                endpoint.secrets,
                request.headers.get(zendesk.TIMESTAMP_HEADER),
                body,
                request.headers.get(zendesk.SIGNATURE_HEADER),
            )
            if problem:
                # The status line only (Redis, outside this transaction): no delivery row.
                activity_record(
                    org_id, zendesk.SOURCE, REJECTED, problem, ref=endpoint.name, status=401
                )
                return _error(401, f"Signature check failed: {problem}.")
            delivery, created = zendesk.delivery_receive(endpoint, body)
            return JsonResponse(
                {"id": str(delivery.public_id) if delivery else None, "duplicate": not created},
                status=202,
            )
    finally:
        organization_id_var.reset(token)
