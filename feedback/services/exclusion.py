"""Excluding a response from an agent's metrics (the customer was angry about a policy, not the
agent): the response stays visible, marked, with who/when/why; its rollup contribution is moved
out (and back in on re-inclusion) through the same function every answer uses."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from coachhub.tenancy.models import Membership

from ..models import Response
from . import rollups

MAX_REASON = 200


class ExclusionInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def _locked(response: Response) -> Response:
    return (
        Response.objects.select_for_update(of=("self",))
        .select_related("interaction", "request")
        .get(organization_id=response.organization_id, pk=response.pk)
    )


@transaction.atomic
def response_exclude(response: Response, *, by: Membership, reason: str, now=None) -> bool:
    """Returns False when it was already excluded (nothing changes)."""
    reason = (reason or "").strip()
    if not reason:
        raise ExclusionInvalid({"reason": "Say why this response should not count."})
    if len(reason) > MAX_REASON:
        raise ExclusionInvalid({"reason": f"At most {MAX_REASON} characters."})
    row = _locked(response)
    if row.excluded:
        return False
    old = rollups.answer_state_of(row)
    row.excluded = True
    row.excluded_reason = reason
    row.excluded_by = by
    row.excluded_at = now or timezone.now()
    row.save(update_fields=["excluded", "excluded_reason", "excluded_by", "excluded_at"])
    rollups.response_rollup_change(row.organization_id, old, None)
    return True


@transaction.atomic
def response_include(response: Response, *, by: Membership) -> bool:
    """Count it again (who excluded it and why are cleared; the page shows it counts)."""
    row = _locked(response)
    if not row.excluded:
        return False
    row.excluded = False
    row.excluded_reason = ""
    row.excluded_by = None
    row.excluded_at = None
    row.save(update_fields=["excluded", "excluded_reason", "excluded_by", "excluded_at"])
    rollups.response_rollup_change(row.organization_id, None, rollups.answer_state_of(row))
    return True
