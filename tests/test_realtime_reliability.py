"""The ingest → alert pipeline against a REAL Celery worker and a real Redis (no eager mode):
a 1-star reaches the inbox, a Slack receiver and a signed webhook on loopback; redelivery makes
nothing twice; ``kill -9`` of the worker mid-batch loses and doubles nothing; a Redis restart
delays but loses nothing (the sweeper); a receiver failing 3 times is delivered once after 4
recorded attempts; another organization's receivers and people never hear of it.

These tests commit (``transaction=True``): the worker only sees committed rows.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time

import pytest
from django.test import override_settings
from django.utils import timezone

from coachhub.core import outbox
from coachhub.core.models import Delivery, DeliveryStatus, Notification
from coachhub.core.tasks import delivery_run_task
from coachhub.tenancy.context import tenant_context
from coaching.models import Alert, AlertRule, ChannelDelivery, DeliveryAttempt
from coaching.services import alerts as alert_svc
from coaching.services import webhooks as hooks_svc

from .coaching_helpers import burst
from .http_receivers import Receiver, signature_valid
from .worker import Worker, wait_for, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def alert_count(org) -> int:
    with tenant_context(org):
        return Alert.objects.filter(organization=org).count()


def use_channels(org, *channels):
    with tenant_context(org):
        AlertRule.objects.filter(organization=org, is_default=True).update(channels=list(channels))


def channel_rows(org, **filters):
    with tenant_context(org):
        return list(ChannelDelivery.objects.filter(organization=org, **filters).order_by("id"))


def wire(org, slack_url, hook_url):
    with tenant_context(org):
        alert_svc.slack_target_set(org, url=slack_url)
        return hooks_svc.webhook_save(org, url=hook_url)


def test_one_star_reaches_inbox_slack_and_webhook_once_even_when_redelivered(cast, celery_worker):
    use_channels(cast.org_a, "slack", "webhook")
    use_channels(cast.org_b, "slack", "webhook")
    with Receiver() as slack_a, Receiver() as hook_a, Receiver() as slack_b, Receiver() as hook_b:
        endpoint = wire(cast.org_a, slack_a.url, hook_a.url)
        wire(cast.org_b, slack_b.url, hook_b.url)
        started = time.monotonic()
        [response] = burst(cast.org_a, cast.ann, 1, stars=1, comment="Rude <and> slow & late")
        wait_for(lambda: len(slack_a.ok()) and len(hook_a.ok()), 15, message="Slack + webhook")
        elapsed = time.monotonic() - started
        assert elapsed < 10  # "within seconds"
        [alert] = _alerts(cast.org_a)
        assert alert.response_id == response.pk
        # Inbox: Sam (leads Team A1) has it.
        with tenant_context(cast.org_a):
            assert (
                Notification.objects.filter(
                    organization=cast.org_a, recipient=cast.sam, kind="alert"
                ).count()
                == 1
            )
        [hook_req] = hook_a.ok()
        assert signature_valid(endpoint.secret, hook_req)
        body = json.loads(hook_req["body"])
        assert body["type"] == "alert.created" and body["data"]["id"] == str(alert.public_id)
        assert (
            "&lt;and&gt; slow &amp; late" in slack_a.json_bodies()[0]["blocks"][0]["text"]["text"]
        )

        # Redelivery: the same event processed again, and every channel's doorbell rung again.
        with tenant_context(cast.org_a):
            d = Delivery.objects.get(organization=cast.org_a, consumer="coaching.alerts")
            Delivery.objects.filter(pk=d.pk).update(
                status=DeliveryStatus.PENDING, done_at=None, next_attempt_at=timezone.now()
            )
        delivery_run_task.apply_async(
            kwargs={"organization_id": cast.org_a.pk, "delivery_id": d.pk}
        )
        for row in channel_rows(cast.org_a):
            from coaching.tasks import delivery_send_task

            delivery_send_task.apply_async(
                kwargs={"organization_id": cast.org_a.pk, "delivery_id": row.pk}
            )

        def redone():
            with tenant_context(cast.org_a):
                return Delivery.objects.filter(pk=d.pk, status=DeliveryStatus.DONE).exists()

        wait_for(redone, 10, message="the redelivered event ran")
        time.sleep(1.0)  # time for any (wrong) second post to arrive
        assert len(_alerts(cast.org_a)) == 1
        assert len(slack_a.requests) == 1 and len(hook_a.requests) == 1
        with tenant_context(cast.org_a):
            assert Notification.objects.filter(organization=cast.org_a, kind="alert").count() == 1
        # Cross-tenant: org B's receivers and people never heard of it.
        assert slack_b.requests == [] and hook_b.requests == []
        with tenant_context(cast.org_b):
            assert not Notification.objects.filter(organization=cast.org_b).exists()
            assert not Alert.objects.filter(organization=cast.org_b).exists()


def _alerts(org):
    with tenant_context(org):
        return list(Alert.objects.filter(organization=org))


def test_webhook_failing_three_times_is_delivered_once_after_four_attempts(cast, celery_worker):
    use_channels(cast.org_a, "webhook")
    with Receiver(statuses=[500, 500, 500]) as hook:
        with tenant_context(cast.org_a):
            hooks_svc.webhook_save(cast.org_a, url=hook.url)
        burst(cast.org_a, cast.ann, 1, stars=1)

        def delivered():
            rows = channel_rows(cast.org_a, state="delivered")
            return rows[0] if rows else None

        row = wait_for(delivered, 20, interval=0.1, message="delivered after retries")
        time.sleep(0.5)
        assert [r["status"] for r in hook.requests] == [500, 500, 500, 200]
        assert len({json.loads(r["body"])["id"] for r in hook.requests}) == 1  # same event id
    with tenant_context(cast.org_a):
        codes = list(
            DeliveryAttempt.objects.filter(delivery_id=row.pk).values_list("status_code", flat=True)
        )
    assert row.attempts == 4 and codes == [500, 500, 500, 200]


def test_worker_killed_mid_batch_then_every_alert_exists_exactly_once(cast, celery_worker):
    n = 200
    responses = burst(cast.org_a, cast.ann, n, stars=1)
    wait_for(lambda: alert_count(cast.org_a) >= 10, 30, interval=0.02, message="work started")
    celery_worker.kill()
    done_at_kill = alert_count(cast.org_a)
    with tenant_context(cast.org_a):
        pending = Delivery.objects.filter(
            organization=cast.org_a, consumer="coaching.alerts", status=DeliveryStatus.PENDING
        ).count()
    assert done_at_kill < n and pending > 0, (done_at_kill, pending)  # tasks were in flight

    celery_worker.start()

    def all_done():
        with override_settings(OUTBOX_SWEEP_GRACE_SECONDS=0):
            outbox.outbox_sweep()  # rings the killed attempts once their lease is over
        with tenant_context(cast.org_a):
            return not Delivery.objects.filter(
                organization=cast.org_a, consumer="coaching.alerts", status=DeliveryStatus.PENDING
            ).exists()

    wait_for(all_done, 60, interval=1.0, message="every delivery done after the restart")
    with tenant_context(cast.org_a):
        per_response = dict(
            Alert.objects.filter(organization=cast.org_a)
            .values_list("response_id")
            .annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("id"))
        )
        inbox = Notification.objects.filter(organization=cast.org_a, kind="alert").count()
    assert set(per_response) == {r.pk for r in responses}
    assert set(per_response.values()) == {1}
    assert inbox == n  # one inbox row per alert (Sam), none doubled


# --- Redis stopped and restarted --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of our own on a free port (never the machine's shared one)."""

    def __init__(self, tmp_path):
        self.port = _free_port()
        self.dir = tmp_path
        self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("no redis-server binary")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        def up():
            try:
                return redis.Redis.from_url(self.url).ping()
            except redis.ConnectionError:
                return False

        wait_for(up, 10, message="private redis up")

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_on(private_redis):
    """Point this process's Celery app at the private Redis (and back afterwards)."""
    from coachhub.celery import app

    saved = (app.conf.broker_url, app.conf.task_publish_retry)
    app.conf.broker_url = private_redis.url
    app.conf.task_publish_retry = False  # broker down: fail fast, the row waits for the sweeper
    app._pool = None
    app.amqp._producer_pool = None
    yield app
    app.conf.broker_url, app.conf.task_publish_retry = saved
    app._pool = None
    app.amqp._producer_pool = None


def test_redis_restart_while_responses_arrive_loses_no_alert(cast, private_redis, app_on, tmp_path):
    env = worker_env(REDIS_URL=private_redis.url, CELERY_BROKER_URL=private_redis.url)
    worker = Worker(env, tmp_path).start()
    try:
        first = burst(cast.org_a, cast.ann, 10, stars=1)
        wait_for(lambda: alert_count(cast.org_a) == 10, 20, message="first batch alerted")

        private_redis.stop()
        during = burst(cast.org_a, cast.andy, 10, stars=2)  # doorbells fail: rows wait
        time.sleep(0.5)
        assert alert_count(cast.org_a) == 10
        private_redis.start()  # same port

        def caught_up():
            with override_settings(OUTBOX_SWEEP_GRACE_SECONDS=0):
                try:
                    outbox.outbox_sweep()
                except Exception:  # the broker connection is still coming back
                    app_on._pool = None
                    app_on.amqp._producer_pool = None
                    return False
            return alert_count(cast.org_a) == 20

        wait_for(caught_up, 60, interval=1.0, message="the sweeper caught up after the restart")
        with tenant_context(cast.org_a):
            ids = set(
                Alert.objects.filter(organization=cast.org_a).values_list("response_id", flat=True)
            )
        assert ids == {r.pk for r in first + during}
    finally:
        worker.stop()
