"""Work that must not be lost: events, one delivery per consumer, run by a REAL Celery worker
(prefork, Redis, the runtime database role) — retries, permanent failures, duplicate and lost
doorbells, and a worker killed with ``kill -9`` in the middle of a delivery.

These tests commit (``transaction=True``): the worker only sees committed rows.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from coachhub.core import outbox
from coachhub.core.models import Delivery, DeliveryStatus, Event, Notification
from coachhub.core.tasks import HEARTBEAT_KEY, delivery_run_task, heartbeat_task, outbox_sweep_task
from coachhub.tenancy.context import tenant_context

from . import outbox_consumers as tc
from .worker import wait_for  # the celery_worker fixture comes from tests/worker.py

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def record(org, event_type, data=None, *, ring=True, recipient=None) -> Event:
    """Record an event in org's context and commit (which rings the doorbell unless ring=False)."""
    data = {"recipient": recipient.pk, **(data or {})}
    with tenant_context(org):
        if ring:
            return outbox.event_record(org.pk, event_type, data)
        real = outbox._enqueue_on_commit
        outbox._enqueue_on_commit = lambda *a, **k: None  # the doorbell is lost
        try:
            return outbox.event_record(org.pk, event_type, data)
        finally:
            outbox._enqueue_on_commit = real


def deliveries(org, event) -> dict[str, Delivery]:
    with tenant_context(org):
        return {d.consumer: d for d in Delivery.objects.filter(organization=org, event=event)}


def settled(org, event):
    """The deliveries once none is pending any more, else None."""
    ds = deliveries(org, event)
    return ds if ds and all(d.status != DeliveryStatus.PENDING for d in ds.values()) else None


def effects(org, event, consumer) -> list[Notification]:
    with tenant_context(org):
        return list(
            Notification.objects.filter(organization=org, title=f"{consumer} {event.public_id}")
        )


@pytest.mark.django_db(transaction=False)
def test_every_consumer_module_is_loaded_by_the_outbox():
    """A consumer whose module no process imports would never get a delivery row (web) or
    would fail as 'no consumer named …' (worker): every module that registers one must be
    reachable from load_consumers()."""
    import sys
    from pathlib import Path

    from django.apps import apps

    root = Path(settings.BASE_DIR)
    sources = set()
    for app in apps.get_app_configs():
        path = Path(app.path)
        if root not in path.parents:
            continue  # Django's and third-party apps
        for file in path.rglob("*.py"):
            if file.name != "outbox.py" and "@consumer(" in file.read_text(errors="replace"):
                sources.add(".".join(file.relative_to(root).with_suffix("").parts))
    outbox.load_consumers()
    registered = {c.handler.__module__ for c in outbox._by_name.values()}
    missing = sorted(m for m in sources if m not in sys.modules or m not in registered)
    assert not missing, (
        f"{missing} register outbox consumers but load_consumers() does not import them: move "
        "them to <app>/consumers.py or import the module from <app>/tasks.py"
    )


def test_two_consumers_get_one_delivery_each_and_the_worker_runs_both(cast, celery_worker):
    event = record(cast.org_a, tc.TWO, recipient=cast.alice)
    assert set(deliveries(cast.org_a, event)) == {"test.first", "test.second"}
    done = wait_for(lambda: settled(cast.org_a, event), 10, message="both deliveries done")
    assert {(d.status, d.attempts) for d in done.values()} == {(DeliveryStatus.DONE, 1)}
    for name in ("test.first", "test.second"):
        [effect] = effects(cast.org_a, event, name)
        assert effect.body == settings.DATABASE_RUNTIME_ROLE  # the worker is subject to RLS
    # Org B sees none of it, even the worker's rows.
    with tenant_context(cast.org_b):
        assert not Delivery.objects.exists()
        assert not Notification.objects.filter(kind="test").exists()


def test_a_failing_consumer_is_retried_on_its_own_until_it_succeeds(cast, celery_worker):
    event = record(cast.org_a, tc.FLAKY, recipient=cast.alice)
    done = wait_for(lambda: settled(cast.org_a, event), 15, message="flaky delivery settled")
    flaky, steady = done["test.flaky"], done["test.steady"]
    assert (flaky.status, flaky.attempts, flaky.last_error) == (DeliveryStatus.DONE, 3, "")
    assert (steady.status, steady.attempts) == (DeliveryStatus.DONE, 1)
    assert len(effects(cast.org_a, event, "test.flaky")) == 1  # failed attempts rolled back


def test_a_permanent_error_ends_failed_with_the_error_recorded(cast, celery_worker):
    event = record(cast.org_a, tc.PERMANENT, recipient=cast.alice)
    done = wait_for(lambda: settled(cast.org_a, event), 10, message="permanent failure settled")
    d = done["test.permanent"]
    assert (d.status, d.attempts) == (DeliveryStatus.FAILED, 1)
    assert d.last_error == "PermanentError: mailbox does not exist"
    assert d.done_at is not None
    assert effects(cast.org_a, event, "test.permanent") == []


def test_a_duplicate_doorbell_runs_the_consumer_once(cast, celery_worker):
    event = record(cast.org_a, tc.SLOW_ONCE, {"sleep": 1.0}, recipient=cast.alice)
    d = deliveries(cast.org_a, event)["test.slow_once"]
    kwargs = {"organization_id": cast.org_a.pk, "delivery_id": d.pk}
    delivery_run_task.apply_async(kwargs=kwargs)  # while the first one runs (2 pool processes)
    delivery_run_task.apply_async(kwargs=kwargs)
    done = wait_for(lambda: settled(cast.org_a, event), 10, message="delivery done")
    assert (done["test.slow_once"].status, done["test.slow_once"].attempts) == ("done", 1)
    assert outbox.delivery_run(cast.org_a.pk, d.pk) == "already-done"  # a doorbell after done
    assert len(effects(cast.org_a, event, "test.slow_once")) == 1


def test_a_lost_doorbell_is_rung_by_the_sweeper(cast, celery_worker):
    event = record(cast.org_a, tc.TWO, ring=False, recipient=cast.alice)
    ds = deliveries(cast.org_a, event)
    assert {d.status for d in ds.values()} == {DeliveryStatus.PENDING}
    # The worker's own sweep task (OUTBOX_SWEEP_GRACE_SECONDS=0 in its environment).
    outbox_sweep_task.delay()
    done = wait_for(lambda: settled(cast.org_a, event), 10, message="swept deliveries done")
    assert {(d.status, d.attempts) for d in done.values()} == {(DeliveryStatus.DONE, 1)}
    assert len(effects(cast.org_a, event, "test.first")) == 1


def test_a_worker_killed_mid_delivery_leaves_the_effect_exactly_once(cast, celery_worker, tmp_path):
    marker = tmp_path / "slow-started"
    event = record(cast.org_a, tc.SLOW, {"marker": str(marker)}, recipient=cast.alice)
    wait_for(marker.exists, 10, message="the consumer started")
    celery_worker.kill()  # kill -9 while the consumer sleeps inside its transaction

    [d] = deliveries(cast.org_a, event).values()
    assert (d.status, d.attempts) == (DeliveryStatus.PENDING, 1)  # the attempt counted
    assert effects(cast.org_a, event, "test.slow") == []  # its effect rolled back

    celery_worker.start()

    def swept_and_done():
        with override_settings(OUTBOX_SWEEP_GRACE_SECONDS=0):
            outbox.outbox_sweep()  # rings once the killed attempt's lease is over
        return settled(cast.org_a, event)

    done = wait_for(swept_and_done, 15, interval=0.5, message="the killed delivery was redone")
    assert (done["test.slow"].status, done["test.slow"].attempts) == (DeliveryStatus.DONE, 2)
    assert len(effects(cast.org_a, event, "test.slow")) == 1


def test_the_heartbeat_task_makes_readyz_see_the_worker(cast, celery_worker, client):
    from django.core.cache import cache

    cache.delete(HEARTBEAT_KEY)
    heartbeat_task.delay()
    wait_for(lambda: cache.get(HEARTBEAT_KEY), 10, message="heartbeat written by the worker")
    body = client.get("/readyz").json()
    assert body["checks"]["worker"] == "ok", body


# --- the same semantics in-process (no worker; the test's transaction never commits, so no
# doorbell is sent) ------------------------------------------------------------------------------


def _pending(org, event, consumer):
    with tenant_context(org):
        return Delivery.objects.get(organization=org, event=event, consumer=consumer)


def _make_due(delivery):
    with tenant_context(delivery.organization_id):
        Delivery.objects.filter(organization_id=delivery.organization_id, pk=delivery.pk).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )


@pytest.mark.django_db
def test_a_delivery_that_keeps_failing_ends_failed_after_the_last_attempt(cast, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    with tenant_context(cast.org_a):
        event = outbox.event_record(cast.org_a.pk, tc.FLAKY, {"recipient": cast.alice.pk})
    d = _pending(cast.org_a, event, "test.flaky")
    assert outbox.delivery_run(cast.org_a.pk, d.pk) == "retry"
    assert outbox.delivery_run(cast.org_a.pk, d.pk) == "not-due"  # backoff
    _make_due(d)
    assert outbox.delivery_run(cast.org_a.pk, d.pk) == "failed"
    d = _pending(cast.org_a, event, "test.flaky")
    assert (d.status, d.attempts, d.last_error) == ("failed", 2, "RuntimeError: flaky attempt 2")
    assert outbox.delivery_run(cast.org_a.pk, d.pk) == "already-failed"


@pytest.mark.django_db
def test_a_delivery_for_an_unknown_consumer_fails_permanently(cast):
    with tenant_context(cast.org_a):
        event = Event.objects.create(organization=cast.org_a, type="gone.event")
        d = Delivery.objects.create(organization=cast.org_a, event=event, consumer="gone")
    assert outbox.delivery_run(cast.org_a.pk, d.pk) == "failed"
    d = _pending(cast.org_a, event, "gone")
    assert d.last_error == "PermanentError: no consumer named 'gone' is registered"


@pytest.mark.django_db
def test_a_claimed_delivery_is_leased_against_duplicate_doorbells(cast):
    with tenant_context(cast.org_a):
        event = outbox.event_record(cast.org_a.pk, tc.TWO, {"recipient": cast.alice.pk})
    d = _pending(cast.org_a, event, "test.first")
    assert outbox._claim_batch(cast.org_a.pk, d.pk, batch=False) == ("claimed", {d.pk: 1})
    assert outbox.delivery_run(cast.org_a.pk, d.pk) == "not-due"
    _make_due(d)  # the lease ran out (the claimer crashed): the next doorbell takes over
    assert outbox.delivery_run(cast.org_a.pk, d.pk) == "done"
    assert _pending(cast.org_a, event, "test.first").attempts == 2
    # In org B's context the delivery does not exist.
    assert outbox.delivery_run(cast.org_b.pk, d.pk) == "locked-or-missing"


@pytest.mark.django_db
def test_event_record_refuses_to_run_outside_the_events_organization(cast):
    with tenant_context(cast.org_b), pytest.raises(RuntimeError):
        outbox.event_record(cast.org_a.pk, tc.TWO, {"recipient": cast.alice.pk})


@pytest.mark.django_db
def test_the_sweeper_rings_only_pending_deliveries_due_past_the_grace(cast, settings, monkeypatch):
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 10
    rung = []
    monkeypatch.setattr(
        delivery_run_task, "apply_async", lambda kwargs, **kw: rung.append(kwargs["delivery_id"])
    )
    now = timezone.now()
    with tenant_context(cast.org_a):
        event = outbox.event_record(cast.org_a.pk, tc.TWO, {"recipient": cast.alice.pk})
        first, second = (
            Delivery.objects.get(event=event, consumer="test.first"),
            Delivery.objects.get(event=event, consumer="test.second"),
        )
        Delivery.objects.filter(pk=first.pk).update(next_attempt_at=now - timedelta(seconds=60))
        Delivery.objects.filter(pk=second.pk).update(next_attempt_at=now - timedelta(seconds=2))
    with tenant_context(cast.org_b):
        event_b = outbox.event_record(cast.org_b.pk, tc.PERMANENT, {"recipient": cast.bob.pk})
        Delivery.objects.filter(event=event_b).update(
            next_attempt_at=now - timedelta(seconds=60), status=DeliveryStatus.DONE
        )
    assert outbox.outbox_sweep() == 1
    assert rung == [first.pk]  # second is within the grace (its doorbell may be on its way)


@pytest.mark.django_db
def test_the_consumers_writes_and_done_commit_together(cast, monkeypatch):
    """A crash between the consumer's writes and "done" must undo both (then the retry does the
    work once); here marking the row done fails after the consumer ran."""
    with tenant_context(cast.org_a):
        event = outbox.event_record(cast.org_a.pk, tc.TWO, {"recipient": cast.alice.pk})
    d = _pending(cast.org_a, event, "test.first")
    real_save = Delivery.save

    def crash_on_done(self, *args, **kwargs):
        if self.status == DeliveryStatus.DONE:
            raise ConnectionError("worker lost between the consumer and done")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Delivery, "save", crash_on_done)
    with pytest.raises(ConnectionError):
        outbox.delivery_run(cast.org_a.pk, d.pk)
    monkeypatch.setattr(Delivery, "save", real_save)
    assert effects(cast.org_a, event, "test.first") == []
    d = _pending(cast.org_a, event, "test.first")
    assert (d.status, d.attempts) == (DeliveryStatus.PENDING, 1)
    _make_due(d)
    assert outbox.delivery_run(cast.org_a.pk, d.pk) == "done"
    assert len(effects(cast.org_a, event, "test.first")) == 1


def test_beat_schedules_the_sweeper_and_the_heartbeat_at_their_intervals():
    from coachhub.celery import app

    app.finalize()
    schedule = {e["task"]: e for e in app.conf.beat_schedule.values()}
    sweep, beat = schedule["coachhub.outbox_sweep"], schedule["coachhub.heartbeat"]
    assert sweep["schedule"] == settings.OUTBOX_SWEEP_INTERVAL
    assert beat["schedule"] == settings.HEARTBEAT_INTERVAL
    assert sweep["options"]["expires"] == settings.OUTBOX_SWEEP_INTERVAL  # no backlog of sweeps
    assert {"coachhub.outbox_sweep", "coachhub.heartbeat", "coachhub.delivery_run"} <= set(
        app.tasks
    )
