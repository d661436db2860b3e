"""Thin tasks: ids in, one service call."""

from celery import shared_task

from coachhub.tenancy.tasks import RETRY_DEFAULTS

from . import consumers  # noqa: F401  (registers the outbox consumers in the worker)


@shared_task(name="coaching.delivery_send", **RETRY_DEFAULTS)
def delivery_send_task(*, organization_id: int, delivery_id: int) -> str:
    # Not a TenantTask: the send must happen outside any transaction (see services/webhooks.py).
    from .services.webhooks import delivery_send

    return delivery_send(organization_id, delivery_id)


@shared_task(name="coaching.sweep", acks_late=False)
def coaching_sweep_task() -> dict:
    """Beat: ring due channel deliveries; remind supervisors of follow-ups that became due."""
    from coachhub.tenancy.context import tenant_context
    from coachhub.tenancy.models import Organization

    from .services.notes import follow_ups_remind
    from .services.webhooks import deliveries_sweep

    rung = deliveries_sweep()
    reminded = 0
    for org_id in Organization.objects.filter(is_active=True).values_list("id", flat=True):
        with tenant_context(org_id):
            reminded += follow_ups_remind(org_id)
    return {"rung": rung, "reminded": reminded}
