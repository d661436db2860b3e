"""Ingestion activity for the API: every interactions POST, accepted or refused, appears on the
admin's activity page (feedback/services/activity.py), so an admin can see why a helpdesk's
calls fail."""

from __future__ import annotations

from ..services.activity import ACCEPTED, REJECTED, activity_record, errors_summary


class RecordsIngestActivity:
    """DRF view mixin: after a POST is answered, note its outcome for the request's organization.

    A request without a valid key has no organization and is not recorded (it is nobody's).
    Recording goes to Redis, outside the request's transaction, so a refused call (which the
    tenancy middleware rolls back) is still listed.
    """

    activity_source = "api"

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        organization = getattr(request, "organization", None)
        if request.method == "POST" and organization is not None:
            _record(organization.pk, self.activity_source, request, response)
        return response


def _record(org_id: int, source: str, request, response) -> None:
    data = getattr(response, "data", None)
    status = response.status_code
    if status < 400:
        if isinstance(data, dict) and "ids" in data:
            count = len(data["ids"])
            ref = f"bulk of {count}"
            reason = f"{data.get('created', 0)} created, {data.get('duplicates', 0)} duplicates"
        else:
            count = 1
            ref = str(data.get("external_id", "")) if isinstance(data, dict) else ""
            reason = "" if status == 201 else "duplicate (already stored)"
        activity_record(org_id, source, ACCEPTED, reason, count=count, ref=ref, status=status)
        return
    errors = data.get("errors") if isinstance(data, dict) else None
    reason = errors_summary(errors) if errors else f"HTTP {status}"
    activity_record(org_id, source, REJECTED, reason, count=0, ref=request.path, status=status)
