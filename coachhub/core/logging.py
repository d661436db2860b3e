"""Request ids and the organization id on every log line.

``RequestIdMiddleware`` (outermost) gives each request an id (a sane incoming ``X-Request-ID`` or
a new one), echoes it on the response, and writes one access line per request. ``ContextFilter``
(on the console handler) stamps every record with ``request_id`` and ``organization_id``: the
organization a view runs for (``organization_id_var``, set by the tenancy middleware) or else the
active ``tenant_context`` (Celery tasks, management commands). settings.LOGGING renders them as
JSON when DEBUG is off and as ``[req=… org=…]`` otherwise.
"""

import contextvars
import logging
import time
import uuid

from django.utils.log import log_response

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
organization_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "log_organization_id", default=None
)

access_logger = logging.getLogger("coachhub.access")


class ContextFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id_var.get()
        org = organization_id_var.get()
        if org is None:
            from coachhub.tenancy.context import current_organization_id

            org = current_organization_id()
        record.organization_id = org if org is not None else "-"
        return True


def _valid_request_id(value: str) -> bool:
    return 8 <= len(value) <= 64 and value.replace("-", "").isalnum() and value.isascii()


class RequestIdMiddleware:
    """Takes a sane incoming X-Request-ID or makes one, and echoes it on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _valid_request_id(incoming) else uuid.uuid4().hex
        request.request_id = rid
        token = request_id_var.set(rid)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            # The tenancy middleware has left the organization's context by now; lines written
            # here still name the organization the request ran for.
            org = getattr(request, "organization", None)
            org_token = organization_id_var.set(org.pk) if org is not None else None
            try:
                if response.status_code >= 400:
                    # Django would log "Not Found: /…" after every middleware has returned, so
                    # without request id; logging it here marks it done (_has_been_logged).
                    log_response(
                        "%s: %s",
                        response.reason_phrase,
                        request.path,
                        response=response,
                        request=request,
                    )
                access_logger.info(
                    "%s %s %s %.1fms",
                    request.method,
                    request.path,
                    response.status_code,
                    (time.monotonic() - started) * 1000,
                    extra={"status_code": response.status_code},
                )
            finally:
                if org_token is not None:
                    organization_id_var.reset(org_token)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = rid
        return response
