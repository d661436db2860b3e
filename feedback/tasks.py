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
