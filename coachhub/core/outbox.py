"""Work that must not be lost: events with one delivery row per consumer.

The row is the truth; the broker is a doorbell.

* ``event_record`` writes the event and a pending ``Delivery`` per registered consumer in the
  caller's transaction, and rings the doorbell (a task with ids only) when it commits.
* ``delivery_run`` works in two short transactions:

  1. *claim*: lock the row (``SELECT … FOR UPDATE SKIP LOCKED``), check it is pending and due,
     count the attempt and push ``next_attempt_at`` a lease ahead; commit. Counting before the
     consumer runs means an attempt that kills its worker (``kill -9``, OOM, the hard time
     limit) still counts, so a poison delivery ends ``failed`` after ``OUTBOX_MAX_ATTEMPTS``
     instead of looping forever; the lease keeps duplicate doorbells and the sweeper away.
  2. *run*: lock the row again, check it is still this claim, run the consumer in a savepoint
     and mark the row done in the same transaction as the consumer's own writes (its database
     effect and "done" commit together, exactly once). A crash rolls both back; the row stays
     pending and the sweeper rings again once the lease is over. A consumer exception is
     recorded (``last_error``) and retried with backoff, or ends ``failed`` for a
     ``PermanentError`` or the last attempt.

  A duplicate doorbell finds the row locked, leased, or done and does nothing.
* ``outbox_sweep`` (beat, every ``OUTBOX_SWEEP_INTERVAL`` seconds) re-enqueues pending rows that
  are due by more than ``OUTBOX_SWEEP_GRACE_SECONDS``: lost doorbells, a Redis restart, crashed
  workers, retries scheduled beyond the broker's comfort zone.

Consumers register with ``@consumer(event_type, name)`` at import time, so their module must be
imported in every process that records events or runs deliveries (web *and* worker):
``load_consumers()`` imports each installed app's ``consumers`` and ``tasks`` modules and the
modules listed in ``settings.OUTBOX_CONSUMER_MODULES`` (env ``OUTBOX_CONSUMER_MODULES``, a comma
list; tests use it to give a real worker test-only consumers). Put a consumer in
``<app>/consumers.py``, or import its module from ``<app>/tasks.py``; a test fails otherwise.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from coachhub.tenancy.context import current_organization_id, tenant_context

from .models import Delivery, DeliveryStatus, Event

log = logging.getLogger(__name__)

# Countdowns longer than this are left to the sweeper: Redis redelivers unacknowledged ETA
# messages after the visibility timeout, so long countdowns would run twice.
MAX_COUNTDOWN = 600


class PermanentError(Exception):
    """A consumer failure that retrying cannot fix (bad address, 4xx, ...)."""


@dataclass(frozen=True)
class Consumer:
    name: str
    event_type: str
    handler: Callable[[Event], None]


_consumers: dict[str, list[Consumer]] = defaultdict(list)
_by_name: dict[str, Consumer] = {}


def consumer(event_type: str, name: str):
    """Register ``handler(event)`` for ``event_type``. The name is stored on delivery rows."""

    def register(handler):
        if name in _by_name and _by_name[name].handler is not handler:
            raise ValueError(f"consumer {name!r} registered twice")
        c = Consumer(name=name, event_type=event_type, handler=handler)
        if name not in _by_name:
            _consumers[event_type].append(c)
        _by_name[name] = c
        return handler

    return register


_loaded = False


def load_consumers() -> None:
    """Import every module that registers consumers (once per process)."""
    global _loaded
    if _loaded:
        return
    from importlib import import_module

    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("consumers", "tasks")
    for module in getattr(settings, "OUTBOX_CONSUMER_MODULES", ()):
        import_module(module)
    _loaded = True


def consumers_for(event_type: str) -> list[Consumer]:
    load_consumers()
    return list(_consumers.get(event_type, ()))


def consumer_named(name: str) -> Consumer | None:
    load_consumers()
    return _by_name.get(name)


def event_record(organization_id: int, type: str, data: dict, *, not_before=None) -> Event:
    """Record an event and its deliveries in the current transaction."""
    if current_organization_id() != organization_id:
        raise RuntimeError("event_record must run inside the event's organization context")
    now = timezone.now()
    event = Event.objects.create(
        organization_id=organization_id, type=type, data=data, created_at=now
    )
    due = not_before or now
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                organization_id=organization_id, event=event, consumer=c.name, next_attempt_at=due
            )
            for c in consumers_for(type)
        ]
    )
    countdown = max(0.0, (due - now).total_seconds())
    for d in deliveries:
        _enqueue_on_commit(organization_id, d.pk, countdown)
    return event


def _enqueue_on_commit(organization_id: int, delivery_id: int, countdown: float = 0) -> None:
    if countdown > MAX_COUNTDOWN:
        return  # the sweeper rings when it is due

    def ring():
        from .tasks import delivery_run_task

        try:
            delivery_run_task.apply_async(
                kwargs={"organization_id": organization_id, "delivery_id": delivery_id},
                countdown=countdown or None,
            )
        except Exception:  # broker down: the row is committed, the sweeper will ring later
            log.warning(
                "could not enqueue delivery %s; the sweeper will retry", delivery_id, exc_info=True
            )

    transaction.on_commit(ring)


def retry_delay(attempts: int) -> float:
    """Exponential backoff with full jitter, capped at 10 minutes."""
    base = settings.OUTBOX_RETRY_BASE_SECONDS
    return min(600.0, base * (2 ** max(0, attempts - 1))) * random.uniform(0.5, 1.0)


def _claim(organization_id: int, delivery_id: int) -> tuple[str, int]:
    """Transaction 1: count the attempt and lease the row. Returns (outcome, attempt)."""
    with tenant_context(organization_id):
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(pk=delivery_id, organization_id=organization_id)
            .first()
        )
        if delivery is None:
            return "locked-or-missing", 0
        if delivery.status != DeliveryStatus.PENDING:
            return "already-" + delivery.status, 0
        now = timezone.now()
        if delivery.next_attempt_at > now:
            # Leased by a running attempt, or a retry not yet due. No tolerance: a countdown's
            # ETA is never before next_attempt_at (both are set before the doorbell is sent),
            # and a tolerance would let a duplicate doorbell steal a fresh lease.
            return "not-due", 0
        delivery.attempts += 1
        delivery.next_attempt_at = now + timedelta(seconds=settings.OUTBOX_CLAIM_LEASE_SECONDS)
        delivery.save(update_fields=["attempts", "next_attempt_at"])
        return "claimed", delivery.attempts


def delivery_run(organization_id: int, delivery_id: int) -> str:
    """Run one delivery if it is pending and due. Returns what happened (for logs and tests):
    ``done``, ``retry``, ``failed``, ``locked-or-missing``, ``already-done``,
    ``already-failed``, ``not-due`` or ``lost-claim``."""
    outcome, attempt = _claim(organization_id, delivery_id)
    if outcome != "claimed":
        return outcome
    with tenant_context(organization_id):
        # Wait for the lock here (no SKIP LOCKED): the claim is ours, and whoever holds the row
        # is a duplicate doorbell's claim check (milliseconds) or an attempt whose lease ran out
        # (then we find the row done, or no longer our claim).
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("event")
            .filter(pk=delivery_id, organization_id=organization_id)
            .first()
        )
        if (
            delivery is None
            or delivery.status != DeliveryStatus.PENDING
            or delivery.attempts != attempt
        ):
            return "lost-claim"  # someone else took it over between the two transactions
        registered = consumer_named(delivery.consumer)
        now = timezone.now()
        try:
            if registered is None:
                raise PermanentError(f"no consumer named {delivery.consumer!r} is registered")
            with transaction.atomic():
                registered.handler(delivery.event)
        except Exception as exc:
            permanent = isinstance(exc, PermanentError)
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if permanent or delivery.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                delivery.status = DeliveryStatus.FAILED
                delivery.done_at = now
                log.error(
                    "delivery %s (%s) failed permanently after %s attempt(s): %s",
                    delivery.pk,
                    delivery.consumer,
                    delivery.attempts,
                    exc,
                )
            else:
                delay = retry_delay(delivery.attempts)
                delivery.next_attempt_at = now + timedelta(seconds=delay)
                _enqueue_on_commit(organization_id, delivery.pk, delay)
                log.warning(
                    "delivery %s (%s) attempt %s failed: %s",
                    delivery.pk,
                    delivery.consumer,
                    delivery.attempts,
                    exc,
                )
            delivery.save(update_fields=["last_error", "status", "done_at", "next_attempt_at"])
            return "failed" if delivery.status == DeliveryStatus.FAILED else "retry"
        delivery.status = DeliveryStatus.DONE
        delivery.done_at = timezone.now()
        delivery.last_error = ""
        delivery.save(update_fields=["last_error", "status", "done_at"])
        return "done"


def outbox_sweep(limit_per_org: int = 500) -> int:
    """Re-enqueue pending deliveries that are due. Returns how many doorbells were rung."""
    from coachhub.tenancy.models import Organization

    from .tasks import delivery_run_task

    grace = timezone.now() - timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)
    rung = 0
    org_ids = list(Organization.objects.filter(is_active=True).values_list("id", flat=True))
    for org_id in org_ids:
        with tenant_context(org_id):
            due = list(
                Delivery.objects.filter(
                    organization_id=org_id,
                    status=DeliveryStatus.PENDING,
                    next_attempt_at__lte=grace,
                )
                .order_by("next_attempt_at")
                .values_list("id", flat=True)[:limit_per_org]
            )
        for delivery_id in due:
            delivery_run_task.apply_async(
                kwargs={"organization_id": org_id, "delivery_id": delivery_id}
            )
            rung += 1
    if rung:
        log.info("outbox sweep rang %s doorbell(s)", rung)
    return rung
