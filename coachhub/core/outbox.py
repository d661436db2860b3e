"""Work that must not be lost: events with one delivery row per consumer.

The row is the truth; the broker is a doorbell.

* ``event_record`` writes the event and a pending ``Delivery`` per registered consumer in the
  caller's transaction, and rings the doorbell (a task with ids only) when it commits.
* ``delivery_run`` works in two short transactions:

  1. *claim*: if the row is pending, due and not locked (``SKIP LOCKED``), count the attempt
     and push ``next_attempt_at`` a lease ahead, in one ``UPDATE … RETURNING``; commit.
     Counting before the consumer runs means an attempt that kills its worker (``kill -9``,
     OOM, the hard time limit) still counts, so a poison delivery ends ``failed`` after
     ``OUTBOX_MAX_ATTEMPTS`` instead of looping forever; the lease keeps duplicate doorbells
     and the sweeper away.
  2. *run*: lock the row again, check it is still this claim, run the consumer in a savepoint
     and mark the row done in the same transaction as the consumer's own writes (its database
     effect and "done" commit together, exactly once). A crash rolls both back; the row stays
     pending and the sweeper rings again once the lease is over. A consumer exception is
     recorded (``last_error``) and retried with backoff, or ends ``failed`` for a
     ``PermanentError`` or the last attempt.

  A duplicate doorbell finds the row locked, leased, or done and does nothing.
* Batches: a consumer registered with ``batch=N`` (short, database-only work, such as
  evaluating alert rules) is drained N at a time. The doorbell task (``delivery_run(...,
  batch=True)``), having claimed its own row on a first attempt, also claims up to N-1 other
  *fresh* (never attempted) due deliveries of the same consumer in the organization with
  ``SKIP LOCKED``, in the same claim transaction; the run transaction then locks them all at
  once and runs them, marking each done with its own writes. They run without a savepoint
  each; if one fails, the transaction is rolled back and the batch runs again with a savepoint
  per delivery, so the failure is recorded and retried on its own and the others are done.
  Their own doorbells then find them done. Only fresh rows are batched, so after a crash
  (``kill -9`` mid-batch) every row of the batch is retried alone: a poison delivery cannot
  drag its batch-mates to ``failed``.
  ``batch_memo`` lets the consumer read what every delivery of a batch needs (rules,
  recipients) once per batch.
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

import contextvars
import logging
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
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
    batch: int = 1
    batch_order: Callable[[Event], object] | None = None


_consumers: dict[str, list[Consumer]] = defaultdict(list)
_by_name: dict[str, Consumer] = {}


def consumer(event_type: str, name: str, *, batch: int = 1, batch_order=None):
    """Register ``handler(event)`` for ``event_type``. The name is stored on delivery rows.

    ``batch > 1``: up to that many due deliveries run in one transaction (see the module
    docstring); only for short, database-only handlers (no network calls: a batch holds its
    rows' locks until the last one is done). ``batch_order(event)``: the order a batch runs
    in (then by id), for handlers that lock rows per some key (say per agent): concurrent
    batches then take those locks in the same order and cannot deadlock."""
    if batch < 1:
        raise ValueError("batch must be at least 1")

    def register(handler):
        if name in _by_name and _by_name[name].handler is not handler:
            raise ValueError(f"consumer {name!r} registered twice")
        c = Consumer(
            name=name,
            event_type=event_type,
            handler=handler,
            batch=batch,
            batch_order=batch_order,
        )
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


# The claim runs on every doorbell (the duplicates too): two short statements of plain SQL
# rather than ORM queries, whose building cost the worker several times their run time.
_T = Delivery._meta.db_table
_CLAIM_SQL = f"""
    UPDATE {_T} SET attempts = attempts + 1, next_attempt_at = %(lease)s
    WHERE id = (
        SELECT id FROM {_T}
        WHERE id = %(id)s AND organization_id = %(org)s AND status = %(pending)s
          AND next_attempt_at <= %(now)s
        FOR UPDATE SKIP LOCKED)
    RETURNING consumer, attempts"""  # noqa: S608
_WHY_NOT_SQL = f"""
    SELECT status, next_attempt_at FROM {_T}
    WHERE id = %s AND organization_id = %s FOR UPDATE SKIP LOCKED"""  # noqa: S608
# A materialized CTE, not "WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)": Postgres may
# run such a subquery more than once, and each run picks (and the UPDATE takes) n more rows.
_CLAIM_FRESH_SQL = f"""
    WITH picked AS MATERIALIZED (
        SELECT id FROM {_T}
        WHERE organization_id = %(org)s AND consumer = %(consumer)s AND status = %(pending)s
          AND attempts = 0 AND next_attempt_at <= %(now)s
        ORDER BY next_attempt_at, id LIMIT %(n)s
        FOR UPDATE SKIP LOCKED)
    UPDATE {_T} AS d SET attempts = 1, next_attempt_at = %(lease)s
    FROM picked WHERE d.id = picked.id
    RETURNING d.id"""  # noqa: S608


def _claim_row(organization_id: int, delivery_id: int) -> tuple[str, str, int]:
    """Inside the claim transaction: if the row is pending, due and not locked, count the
    attempt and lease it. Returns (outcome, consumer, attempt)."""
    now = timezone.now()
    params = {
        "id": delivery_id,
        "org": organization_id,
        "pending": DeliveryStatus.PENDING,
        "now": now,
        "lease": now + timedelta(seconds=settings.OUTBOX_CLAIM_LEASE_SECONDS),
    }
    with connection.cursor() as cur:
        cur.execute(_CLAIM_SQL, params)
        row = cur.fetchone()
        if row:
            return "claimed", row[0], row[1]
        # Why not (for logs and tests).
        cur.execute(_WHY_NOT_SQL, [delivery_id, organization_id])
        row = cur.fetchone()
    if row is None:
        return "locked-or-missing", "", 0
    status, next_attempt_at = row
    if status != DeliveryStatus.PENDING:
        return "already-" + status, "", 0
    if next_attempt_at > now:
        # Leased by a running attempt, or a retry not yet due. No tolerance: a countdown's
        # ETA is never before next_attempt_at (both are set before the doorbell is sent),
        # and a tolerance would let a duplicate doorbell steal a fresh lease.
        return "not-due", "", 0
    return "locked-or-missing", "", 0  # it was locked a moment ago


def _claim_fresh(organization_id: int, consumer: str, n: int) -> list[int]:
    """Inside the claim transaction: up to ``n`` due, never attempted, unlocked deliveries of
    ``consumer``, oldest first, with their first attempt counted and leased."""
    now = timezone.now()
    with connection.cursor() as cur:
        cur.execute(
            _CLAIM_FRESH_SQL,
            {
                "org": organization_id,
                "consumer": consumer,
                "pending": DeliveryStatus.PENDING,
                "now": now,
                "lease": now + timedelta(seconds=settings.OUTBOX_CLAIM_LEASE_SECONDS),
                "n": n,
            },
        )
        return [pk for (pk,) in cur.fetchall()]


def _claim_batch(organization_id: int, delivery_id: int, *, batch: bool) -> tuple[str, dict]:
    """Transaction 1 for the row rung and, with ``batch`` and a consumer that takes batches,
    fresh due rows of the same consumer. Returns (outcome of the row rung, {id: attempt})."""
    with tenant_context(organization_id):
        outcome, name, attempt = _claim_row(organization_id, delivery_id)
        if outcome != "claimed":
            return outcome, {}
        claims = {delivery_id: attempt}
        registered = consumer_named(name) if batch else None
        # A retry (attempts > 1) runs alone: it may be the one that crashed its batch.
        if registered and registered.batch > 1 and attempt == 1:
            for pk in _claim_fresh(organization_id, name, registered.batch - 1):
                claims[pk] = 1
        return outcome, claims


_batch_memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "coachhub_outbox_batch_memo", default=None
)


def batch_memo(key, load: Callable):
    """``load()`` once per delivery batch (one transaction of one organization) and reuse it
    for the batch's other deliveries: for what every delivery reads and none writes (rules,
    recipients). Outside a delivery run it simply calls ``load()``."""
    memo = _batch_memo.get()
    if memo is None:
        return load()
    key = (current_organization_id(), key)
    if key not in memo:
        memo[key] = load()
    return memo[key]


def delivery_run(organization_id: int, delivery_id: int, *, batch: bool = False) -> str:
    """Run one delivery if it is pending and due. Returns what happened to it (for logs and
    tests): ``done``, ``retry``, ``failed``, ``locked-or-missing``, ``already-done``,
    ``already-failed``, ``not-due`` or ``lost-claim``. With ``batch`` (the doorbell task) a
    consumer registered with ``batch=N`` also runs up to N-1 other fresh due deliveries."""
    outcome, claims = _claim_batch(organization_id, delivery_id, batch=batch)
    if outcome != "claimed":
        return outcome
    return _run_claimed(organization_id, claims)[delivery_id]


class _Isolate(Exception):
    """A handler failed in a batch run without savepoints: roll it back, rerun isolated."""


def _run_claimed(organization_id: int, claims: dict[int, int]) -> dict[int, str]:
    """Transaction 2: each claimed row still ours runs with its "done" in one transaction.

    Batch consumers (``batch > 1``: database-only handlers) run without a savepoint each (two
    round trips per delivery saved); if one of them fails, the whole transaction is rolled back
    and the batch runs again with a savepoint per delivery, so only the failing one is
    recorded as failed (its batch-mates' effects are simply redone)."""
    try:
        return _run_locked(organization_id, claims, isolate=False)
    except (_Isolate, DatabaseError):
        log.info("outbox batch of %s rolled back; running it delivery by delivery", len(claims))
        return _run_locked(organization_id, claims, isolate=True)


def _run_locked(organization_id: int, claims: dict[int, int], *, isolate: bool) -> dict:
    outcomes = dict.fromkeys(claims, "lost-claim")
    with tenant_context(organization_id):
        # Wait for the locks here (no SKIP LOCKED): the claims are ours, and whoever holds a
        # row is a duplicate doorbell's claim check (milliseconds) or an attempt whose lease ran
        # out (then we find the row done, or no longer our claim). Locked in id order.
        rows = list(
            Delivery.objects.select_for_update(of=("self",))
            .select_related("event")
            .filter(pk__in=list(claims), organization_id=organization_id)
            .order_by("pk")
        )
        registered = consumer_named(rows[0].consumer) if len(rows) > 1 else None
        if registered and registered.batch_order:
            rows.sort(key=lambda d: (registered.batch_order(d.event), d.pk))
        token = _batch_memo.set({})
        try:
            for delivery in rows:
                if (
                    delivery.status == DeliveryStatus.PENDING
                    and delivery.attempts == claims[delivery.pk]
                ):
                    outcomes[delivery.pk] = _run_one(organization_id, delivery, isolate=isolate)
                # else someone else took it over between the two transactions: lost-claim
        finally:
            _batch_memo.reset(token)
    return outcomes


def _run_one(organization_id: int, delivery: Delivery, *, isolate: bool = True) -> str:
    """Run the consumer (in a savepoint unless it takes batches and ``isolate`` is off);
    record done, a retry or the failure on the row."""
    registered = consumer_named(delivery.consumer)
    now = timezone.now()
    try:
        if registered is None:
            raise PermanentError(f"no consumer named {delivery.consumer!r} is registered")
        if isolate or registered.batch == 1:
            with transaction.atomic():
                registered.handler(delivery.event)
        else:
            try:
                registered.handler(delivery.event)
            except Exception as exc:
                raise _Isolate() from exc
    except _Isolate:
        raise
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
