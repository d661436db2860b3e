"""Thin tasks: ids in, one service call."""

import time

from celery import shared_task
from django.conf import settings

from coachhub.tenancy.tasks import RETRY_DEFAULTS

from . import notifications, outbox  # noqa: F401  (notifications registers its consumer)


@shared_task(name="coachhub.delivery_run", **RETRY_DEFAULTS)
def delivery_run_task(*, organization_id: int, delivery_id: int) -> str:
    # Not a TenantTask: delivery_run opens its own tenant transactions around the row locks.
    # batch=True: a consumer registered with batch=N drains up to N fresh due rows per run.
    return outbox.delivery_run(organization_id, delivery_id, batch=True)


@shared_task(name="coachhub.outbox_sweep", **RETRY_DEFAULTS)
def outbox_sweep_task() -> int:
    return outbox.outbox_sweep()


HEARTBEAT_KEY = "heartbeat:worker"


@shared_task(name="coachhub.heartbeat", acks_late=False)
def heartbeat_task() -> float:
    from django.core.cache import cache

    now = time.time()
    cache.set(HEARTBEAT_KEY, now, timeout=int(settings.HEARTBEAT_INTERVAL * 10))
    return now
