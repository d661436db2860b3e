"""Feedback's admin pages: Zendesk endpoints, CSV import, ingestion activity. Thin: access
check, one service or selector call, render."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from coachhub.tenancy.access import admin_required

from . import selectors_channels as sel
from .forms import CsvUploadForm, RotateSecretForm, ZendeskEndpointForm
from .models_channels import ImportStatus
from .services import activity, csv_import, zendesk

ERRORS_PER_PAGE = 200

# --- Zendesk ----------------------------------------------------------------------------


@admin_required
def zendesk_endpoints(request, org):
    form = ZendeskEndpointForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        endpoint = zendesk.endpoint_create(
            organization=request.organization,
            name=form.cleaned_data["name"],
            created_by=request.member,
        )
        messages.success(request, "Endpoint created. Paste its URL and secret into Zendesk.")
        return redirect("feedback:zendesk_endpoint", org=org, endpoint_id=endpoint.public_id)
    context = {"form": form, "endpoints": list(sel.endpoints_for(request.organization))}
    return render(
        request, "feedback/zendesk_list.html", context, status=400 if form.errors else 200
    )


def _endpoint_page(request, endpoint, *, rotate_form=None, status=200):
    context = {
        "endpoint": endpoint,
        "url": zendesk.endpoint_url(endpoint),
        "rotate_form": rotate_form or RotateSecretForm(),
        "body_template": zendesk.ZENDESK_BODY_TEMPLATE,
        "field_map": zendesk.ZENDESK_FIELD_MAP,
        "counts": sel.delivery_counts(endpoint),
        "parked": sel.deliveries_parked(endpoint),
        "recent": sel.deliveries_recent(endpoint),
        "signature_header": zendesk.SIGNATURE_HEADER,
        "timestamp_header": zendesk.TIMESTAMP_HEADER,
        # A delivery still waiting after this long lost its worker run: offer to run it now.
        "stuck_before": timezone.now() - timedelta(minutes=10),
    }
    return render(request, "feedback/zendesk_detail.html", context, status=status)


@admin_required
@require_GET
def zendesk_endpoint(request, org, endpoint_id):
    return _endpoint_page(request, sel.get_endpoint_for(request.member, endpoint_id))


@admin_required
@require_POST
def zendesk_rotate(request, org, endpoint_id):
    endpoint = sel.get_endpoint_for(request.member, endpoint_id)
    form = RotateSecretForm(request.POST)
    if not form.is_valid():
        return _endpoint_page(request, endpoint, rotate_form=form, status=400)
    zendesk.endpoint_rotate(endpoint, form.cleaned_data["new_secret"])
    messages.success(
        request, "New secret is active; the previous one keeps working until you retire it."
    )
    return redirect("feedback:zendesk_endpoint", org=org, endpoint_id=endpoint.public_id)


@admin_required
@require_POST
def zendesk_retire_previous(request, org, endpoint_id):
    endpoint = sel.get_endpoint_for(request.member, endpoint_id)
    zendesk.endpoint_retire_previous(endpoint)
    messages.success(request, "The previous secret no longer works.")
    return redirect("feedback:zendesk_endpoint", org=org, endpoint_id=endpoint.public_id)


@admin_required
@require_POST
def zendesk_toggle(request, org, endpoint_id):
    endpoint = sel.get_endpoint_for(request.member, endpoint_id)
    if endpoint.is_active:
        zendesk.endpoint_deactivate(endpoint)
        messages.success(request, "Endpoint deactivated: calls to its URL now answer 404.")
    else:
        zendesk.endpoint_reactivate(endpoint)
        messages.success(request, "Endpoint active again.")
    return redirect("feedback:zendesk_endpoint", org=org, endpoint_id=endpoint.public_id)


@admin_required
@require_POST
def zendesk_replay(request, org, endpoint_id, delivery_id):
    endpoint = sel.get_endpoint_for(request.member, endpoint_id)
    delivery = zendesk.delivery_replay(sel.get_delivery_for(endpoint, delivery_id))
    if delivery.status == "parked":
        messages.warning(request, f"Still parked: {delivery.reason}")
    else:
        messages.success(
            request, f"Ticket {delivery.external_id}: {delivery.get_status_display().lower()}."
        )
    return redirect("feedback:zendesk_endpoint", org=org, endpoint_id=endpoint.public_id)


@admin_required
@require_POST
def zendesk_replay_parked(request, org, endpoint_id):
    endpoint = sel.get_endpoint_for(request.member, endpoint_id)
    counts = zendesk.deliveries_replay_parked(endpoint)
    messages.info(
        request,
        f"Replayed: {counts.get('processed', 0)} created, {counts.get('duplicate', 0)} already "
        f"there, {counts.get('parked', 0)} still parked.",
    )
    return redirect("feedback:zendesk_endpoint", org=org, endpoint_id=endpoint.public_id)


# --- CSV import -------------------------------------------------------------------------


@admin_required
def import_list(request, org):
    form = (
        CsvUploadForm(request.POST, request.FILES) if request.method == "POST" else CsvUploadForm()
    )
    if request.method == "POST" and form.is_valid():
        imp = csv_import.csv_import_create(
            organization=request.organization,
            uploaded=form.cleaned_data["file"],
            history=form.cleaned_data["history"],
            created_by=request.member,
        )
        if imp.size <= csv_import.INLINE_CHECK_BYTES:
            csv_import.csv_import_check(imp)
        else:
            from .tasks import csv_import_check_task

            org_id, pk = imp.organization_id, imp.pk
            transaction.on_commit(
                lambda: csv_import_check_task.apply_async(
                    kwargs={"organization_id": org_id, "csv_import_id": pk}
                )
            )
        return redirect("feedback:import_detail", org=org, import_id=imp.public_id)
    context = {
        "form": form,
        "imports": sel.imports_recent(request.organization),
        "columns": csv_import.COLUMNS,
        "example": _example_csv(),
    }
    return render(request, "feedback/import_list.html", context, status=400 if form.errors else 200)


def _example_csv() -> str:
    return (
        "external_id,channel,agent_email,customer_name,customer_email,occurred_at,tags,"
        "property:order_id\n"
        "ZD-48151,email,ana@example.com,Lee Park,lee@example.com,2026-11-23T10:15:00Z,"
        "billing;vip,A-77\n"
    )


@admin_required
@require_GET
def import_detail(request, org, import_id):
    imp = sel.get_import_for(request.member, import_id)
    errors = sel.import_errors(imp)
    page = Paginator(errors, ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    preview_rows = [r["row"] for r in imp.preview]
    context = {
        "imp": imp,
        "errors_page": page,
        "statuses": ImportStatus,
        # Preview rows that have a problem are marked (the list below says which).
        "bad_preview_rows": set(errors.filter(row__in=preview_rows).values_list("row", flat=True)),
    }
    return render(request, "feedback/import_detail.html", context)


@admin_required
@require_GET
def import_progress(request, org, import_id):
    imp = sel.get_import_for(request.member, import_id)
    response = render(
        request, "feedback/_import_progress.html", {"imp": imp, "statuses": ImportStatus}
    )
    if not imp.is_busy and request.htmx:
        # Finished: reload the whole page for the preview, errors or summary.
        response["HX-Refresh"] = "true"
    return response


@admin_required
@require_POST
def import_confirm(request, org, import_id):
    imp = sel.get_import_for(request.member, import_id)
    if imp.status != ImportStatus.READY and not imp.is_busy:
        messages.error(request, "Only a checked file without errors can be imported.")
    elif csv_import.csv_import_confirm(imp):
        messages.success(request, "Import started.")
    return redirect("feedback:import_detail", org=org, import_id=imp.public_id)


@admin_required
@require_POST
def import_ring(request, org, import_id):
    imp = sel.get_import_for(request.member, import_id)
    if csv_import.csv_import_ring(imp):
        messages.info(request, "The worker was asked again; progress resumes when it starts.")
    return redirect("feedback:import_detail", org=org, import_id=imp.public_id)


# --- ingestion activity -----------------------------------------------------------------


@admin_required
@require_GET
def activity_page(request, org):
    source = request.GET.get("source") or None
    if source not in activity.SOURCES:
        source = None
    org_id = request.organization.pk
    context = {
        "source": source,
        "sources": activity.SOURCES,
        "counts": activity.activity_counts_for(org_id),
        "entries": activity.activity_recent_for(org_id, source),
        "parked_total": sel.parked_total(request.organization),
        "endpoints": list(sel.endpoints_for(request.organization)),
        "imports": sel.imports_recent(request.organization, limit=5),
    }
    return render(request, "feedback/activity.html", context)
