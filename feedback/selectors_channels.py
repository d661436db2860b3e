"""Reads for the inbound-channel admin pages (Zendesk endpoints, CSV imports, activity).

Every query filters by organization explicitly; the scope and RLS are the net, not the rope.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from .models_channels import (
    CsvImport,
    CsvImportError,
    InboundDelivery,
    InboundStatus,
    WebhookEndpoint,
)


def _by_public_id(qs: QuerySet, public_id):
    try:
        return qs.get(public_id=public_id)
    except (qs.model.DoesNotExist, ValueError, ValidationError):
        raise Http404("No such page") from None


def endpoints_for(organization) -> QuerySet[WebhookEndpoint]:
    return (
        WebhookEndpoint.objects.filter(organization_id=organization.pk)
        .annotate(
            parked_count=Count("deliveries", filter=Q(deliveries__status=InboundStatus.PARKED)),
            delivery_count=Count("deliveries"),
        )
        .order_by("-is_active", "-created_at")
    )


def get_endpoint_for(member, public_id) -> WebhookEndpoint:
    """Admins only reach these pages (the view checks the role); missing = other org = 404."""
    return _by_public_id(
        WebhookEndpoint.objects.filter(organization_id=member.organization_id), public_id
    )


def get_delivery_for(endpoint: WebhookEndpoint, public_id) -> InboundDelivery:
    return _by_public_id(
        InboundDelivery.objects.filter(organization_id=endpoint.organization_id, endpoint=endpoint),
        public_id,
    )


def deliveries_recent(endpoint: WebhookEndpoint, limit: int = 50) -> list[InboundDelivery]:
    return list(
        InboundDelivery.objects.filter(organization_id=endpoint.organization_id, endpoint=endpoint)
        .defer("body")
        .order_by("-received_at")[:limit]
    )


def deliveries_parked(endpoint: WebhookEndpoint, limit: int = 200) -> list[InboundDelivery]:
    return list(
        InboundDelivery.objects.filter(
            organization_id=endpoint.organization_id, endpoint=endpoint, status=InboundStatus.PARKED
        ).order_by("received_at")[:limit]
    )


def delivery_counts(endpoint: WebhookEndpoint) -> dict[str, int]:
    rows = (
        InboundDelivery.objects.filter(organization_id=endpoint.organization_id, endpoint=endpoint)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = dict.fromkeys(InboundStatus.values, 0)
    counts.update({r["status"]: r["n"] for r in rows})
    return counts


def parked_total(organization) -> int:
    return InboundDelivery.objects.filter(
        organization_id=organization.pk, status=InboundStatus.PARKED
    ).count()


def imports_recent(organization, limit: int = 20) -> list[CsvImport]:
    return list(
        CsvImport.objects.filter(organization_id=organization.pk)
        .select_related("created_by__user")
        .order_by("-created_at")[:limit]
    )


def get_import_for(member, public_id) -> CsvImport:
    return _by_public_id(
        CsvImport.objects.filter(organization_id=member.organization_id).select_related(
            "organization"
        ),
        public_id,
    )


def import_errors(csv_import: CsvImport) -> QuerySet[CsvImportError]:
    return CsvImportError.objects.filter(
        organization_id=csv_import.organization_id, csv_import=csv_import
    ).order_by("row", "id")
