"""Request ids and the organization id on every log line."""

import contextvars
import logging
import uuid

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
organization_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "log_organization_id", default=None
)


class ContextFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id_var.get()
        org = organization_id_var.get()
        if org is None:
            from coachhub.tenancy.context import current_organization_id

            org = current_organization_id()
        record.organization_id = org if org is not None else "-"
        return True


class RequestIdMiddleware:
    """Takes a sane incoming X-Request-ID or makes one, and echoes it on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if 8 <= len(incoming) <= 64 and incoming.replace("-", "").isalnum() else uuid.uuid4().hex
        request.request_id = rid
        token = request_id_var.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = rid
        return response
