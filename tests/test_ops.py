"""Operations: /healthz, /readyz (database, Redis, worker heartbeat, each named) and log lines
that carry the request id and the organization id (JSON when DEBUG is off)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import OperationalError

from coachhub.core.logging import ContextFilter
from coachhub.core.tasks import HEARTBEAT_KEY, heartbeat_task

BASE_DIR = Path(__file__).resolve().parent.parent


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_cache(settings):
    """A cache key prefix of this test's own, so parallel tests never see each other's heartbeat."""
    prefix = f"{django_settings.REDIS_KEY_PREFIX}-ops-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "KEY_PREFIX": prefix},
    }
    yield prefix
    cache.delete(HEARTBEAT_KEY)


# --- /healthz and /readyz -------------------------------------------------------------------


def test_healthz_answers_ok_without_touching_database_or_redis(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_unused_port()}/0",
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"], "a proxy must never answer a probe from cache"


@pytest.mark.django_db
def test_readyz_names_database_redis_and_worker_when_all_are_up(client, own_cache):
    heartbeat_task()  # what the worker runs every HEARTBEAT_INTERVAL seconds (beat schedules it)
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "worker": "ok"},
    }


@pytest.mark.django_db
def test_readyz_is_503_naming_redis_when_redis_is_unreachable(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_unused_port()}/0",
        }
    }
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 5, "a dead Redis must not hang the probe"
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error")
    assert body["checks"]["worker"].startswith("error")
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_503_naming_the_database_when_it_fails(client, own_cache, monkeypatch):
    heartbeat_task()
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks == {"database": "error: OperationalError", "redis": "ok", "worker": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_naming_the_worker_when_no_heartbeat_ever_arrived(client, own_cache):
    cache.delete(HEARTBEAT_KEY)
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok" and checks["redis"] == "ok"
    assert checks["worker"] == "error: no heartbeat yet"


@pytest.mark.django_db
def test_readyz_is_503_naming_the_worker_when_the_heartbeat_is_stale(client, own_cache):
    cache.set(HEARTBEAT_KEY, time.time() - django_settings.HEARTBEAT_INTERVAL * 10, timeout=600)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert re.fullmatch(r"error: last heartbeat \d+ s ago", response.json()["checks"]["worker"])


@pytest.mark.worker
@pytest.mark.django_db
def test_a_real_worker_and_beat_make_readyz_ready(client, own_cache):
    """celery worker -B (beat inside) with a 1 s heartbeat: readyz turns ready within seconds."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "coachhub.settings",
        "REDIS_KEY_PREFIX": own_cache,
        "HEARTBEAT_INTERVAL": "1",
        "OUTBOX_SWEEP_INTERVAL": "3600",
        "CELERY_BEAT_SCHEDULE_FILENAME": f"/tmp/coachhub-beat-{own_cache}",  # noqa: S108
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "coachhub", "worker", "-B", "-c", "1",
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline:
            response = client.get("/readyz")
            body = response.json()
            if response.status_code == 200:
                break
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
            time.sleep(0.3)
        assert body == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "worker": "ok"}}
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        Path(f"/tmp/coachhub-beat-{own_cache}").unlink(missing_ok=True)  # noqa: S108


# --- logs -----------------------------------------------------------------------------------


@pytest.fixture
def console_lines():
    """``console_lines()`` → what the configured console handler has written so far, as lines."""
    root = logging.getLogger()
    handlers = [h for h in root.handlers if any(isinstance(f, ContextFilter) for f in h.filters)]
    assert handlers, "settings.LOGGING must put ContextFilter on the console handler"
    buffer = io.StringIO()
    old_streams = [h.setStream(buffer) for h in handlers]
    old_level = root.level
    root.setLevel(logging.INFO)
    yield lambda: buffer.getvalue().splitlines()
    root.setLevel(old_level)
    for handler, stream in zip(handlers, old_streams, strict=True):
        handler.setStream(stream)


def _fields(line: str) -> dict:
    """request_id / organization_id of one line, JSON or the plain DEBUG format."""
    if line.startswith("{"):
        return json.loads(line)
    match = re.search(r"\[req=(?P<request_id>\S+) org=(?P<organization_id>\S+)\]", line)
    assert match, f"log line without request/org context: {line}"
    return match.groupdict()


def test_each_request_gets_an_id_echoed_and_a_bad_incoming_one_is_replaced(client):
    fine = client.get("/healthz", HTTP_X_REQUEST_ID="abcd-1234-efgh")
    assert fine["X-Request-ID"] == "abcd-1234-efgh"
    made = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")
    assert re.fullmatch(r"[0-9a-f]{32}", made["X-Request-ID"])
    assert client.get("/healthz")["X-Request-ID"] != made["X-Request-ID"]


def test_log_lines_of_an_organization_request_carry_request_id_and_organization_id(
    cast, client_for, console_lines
):
    client = client_for(cast.alice)
    response = client.get(
        f"/o/{cast.org_a.slug}/no-such-page/", HTTP_X_REQUEST_ID="req-for-the-logs"
    )
    assert response.status_code == 404
    lines = console_lines()
    mine = [_fields(line) for line in lines if "req-for-the-logs" in line]
    # Django's own "Not Found" line and the access line, both with the request id and the org.
    assert len(mine) >= 2, lines
    assert {str(f["organization_id"]) for f in mine} == {str(cast.org_a.pk)}
    assert any("Not Found" in line and "req-for-the-logs" in line for line in lines)
    for line in lines:
        _fields(line)  # every line has both fields (asserts inside)


def test_log_lines_outside_an_organization_say_so(client, console_lines):
    client.get("/healthz", HTTP_X_REQUEST_ID="req-without-org")
    mine = [_fields(line) for line in console_lines() if "req-without-org" in line]
    assert mine and all(str(f["organization_id"]) == "-" for f in mine)


@pytest.mark.parametrize("debug", ["0", "1"])
def test_logs_are_json_when_debug_is_off_and_plain_when_on(debug):
    code = (
        "import django, logging; django.setup();"
        "from coachhub.core.logging import request_id_var, organization_id_var;"
        "request_id_var.set('rid-12345678'); organization_id_var.set(42);"
        "logging.getLogger('coachhub.probe').warning('hello %s', 'there')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "coachhub.settings", "DEBUG": debug}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    line = out.stderr.strip().splitlines()[-1]
    if debug == "0":
        record = json.loads(line)
        assert record["message"] == "hello there"
        assert record["request_id"] == "rid-12345678"
        assert record["organization_id"] == 42
        assert record["levelname"] == "WARNING"
    else:
        assert "[req=rid-12345678 org=42]" in line and line.endswith("hello there")
