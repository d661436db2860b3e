"""Thin tasks: ids in, one service call. Zendesk deliveries go through the core outbox
(``feedback.inbound_process`` consumer registered in services/zendesk.py)."""

from celery import shared_task

from coachhub.tenancy.tasks import RETRY_DEFAULTS, TenantTask

from .models_channels import CsvImport
from .services import csv_import


def _get(organization_id: int, csv_import_id: int) -> CsvImport | None:
    return (
        CsvImport.objects.select_related("organization")
        .filter(organization_id=organization_id, pk=csv_import_id)
        .first()
    )


# A million-row file takes minutes: the limits here are the import's, above the defaults but
# below the broker's visibility timeout (3600 s) so a running import is never handed out twice.
IMPORT_LIMITS = {"time_limit": 3300, "soft_time_limit": 3200}


@shared_task(base=TenantTask, name="feedback.csv_import_check", **RETRY_DEFAULTS, **IMPORT_LIMITS)
def csv_import_check_task(*, organization_id: int, csv_import_id: int) -> str:
    imp = _get(organization_id, csv_import_id)
    if imp is None:
        return "missing"
    return csv_import.csv_import_check(imp).status


@shared_task(base=TenantTask, name="feedback.csv_import_run", **RETRY_DEFAULTS, **IMPORT_LIMITS)
def csv_import_run_task(*, organization_id: int, csv_import_id: int) -> str:
    imp = _get(organization_id, csv_import_id)
    if imp is None:
        return "missing"
    return csv_import.csv_import_run(imp).status


@shared_task(name="feedback.csv_imports_sweep", acks_late=False)
def csv_imports_sweep_task() -> int:
    """Beat: re-ring checks and imports whose doorbell was lost."""
    return csv_import.csv_imports_sweep()


# --- surveys (feedback/services/survey.py) ------------------------------------------------
# Not TenantTasks: each request is sent in its own short tenant transaction (one e-mail, one
# commit), so a crash mid-batch re-sends at most the e-mail in flight, not the whole batch.


@shared_task(name="feedback.requests_send", **RETRY_DEFAULTS)
def requests_send_task(*, organization_id: int, request_ids: list[int]) -> dict:
    from .services import survey

    return survey.requests_send(organization_id, request_ids)


@shared_task(name="feedback.requests_drain", **RETRY_DEFAULTS)
def requests_drain_task(*, organization_id: int) -> dict:
    """Ingestion's coalescing doorbell: sends the organization's rung requests in batches."""
    from .services import survey

    return survey.requests_drain(organization_id)


@shared_task(name="feedback.surveys_tick", **RETRY_DEFAULTS)
def surveys_tick_task(*, organization_id: int) -> dict:
    from .services import survey

    return survey.surveys_tick(organization_id)


@shared_task(name="feedback.surveys_sweep", acks_late=False)
def surveys_sweep_task() -> int:
    """Beat: one tick per active organization (send due, finish, expire)."""
    from coachhub.tenancy.models import Organization

    org_ids = list(Organization.objects.filter(is_active=True).values_list("id", flat=True))
    for org_id in org_ids:
        surveys_tick_task.apply_async(kwargs={"organization_id": org_id})
    return len(org_ids)
