"""Test-only outbox consumers, registered in the test process (imported by tests/test_outbox.py)
and in the real worker (tests/worker.py passes ``OUTBOX_CONSUMER_MODULES=tests.outbox_consumers``).

Each consumer's database effect is a Notification titled ``"<consumer> <event public id>"`` for
the membership in ``event.data["recipient"]``, written in the delivery's transaction, so a test
can count effects to prove "exactly once". Its body records the database role the worker used.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.db import connection

from coachhub.core.models import Delivery, Notification
from coachhub.core.outbox import PermanentError, consumer

TWO = "test.two_consumers"
FLAKY = "test.flaky"
PERMANENT = "test.permanent"
SLOW = "test.slow"
SLOW_ONCE = "test.slow_once"


def effect(event, name: str) -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT current_user")
        role = cur.fetchone()[0]
    Notification.objects.create(
        organization_id=event.organization_id,
        recipient_id=event.data["recipient"],
        kind="test",
        title=f"{name} {event.public_id}",
        body=role,
    )


@consumer(TWO, "test.first")
def first(event):
    effect(event, "test.first")


@consumer(TWO, "test.second")
def second(event):
    effect(event, "test.second")


@consumer(FLAKY, "test.flaky")
def flaky(event):
    """Fails on its first two attempts (the attempt is counted before the consumer runs)."""
    attempts = Delivery.objects.get(
        organization_id=event.organization_id, event=event, consumer="test.flaky"
    ).attempts
    effect(event, "test.flaky")  # rolled back with the failure: must exist once at the end
    if attempts < 3:
        raise RuntimeError(f"flaky attempt {attempts}")


@consumer(FLAKY, "test.steady")
def steady(event):
    effect(event, "test.steady")


@consumer(PERMANENT, "test.permanent")
def permanent(event):
    effect(event, "test.permanent")
    raise PermanentError("mailbox does not exist")


@consumer(SLOW_ONCE, "test.slow_once")
def slow_once(event):
    """Sleeps a little so a duplicate doorbell arrives while the first run holds the row."""
    effect(event, "test.slow_once")
    time.sleep(float(event.data.get("sleep", 0.5)))


@consumer(SLOW, "test.slow")
def slow(event):
    """First attempt: writes its effect, leaves a marker file and sleeps (to be killed).
    Later attempts: write the effect and return."""
    effect(event, "test.slow")
    marker = Path(event.data["marker"])
    if not marker.exists():
        marker.write_text("started")
        time.sleep(60)
