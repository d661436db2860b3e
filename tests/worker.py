"""A real Celery worker for tests: ``celery -A coachhub worker`` in a subprocess.

It runs the production settings (``coachhub.settings``), connects to the *test* database as the
*runtime* role (subject to RLS, like production) and to the real Redis, and consumes only this
test session's queue (``settings.CELERY_TASK_DEFAULT_QUEUE``, unique per session, see
``coachhub/settings_test.py``). It imports the test-only consumers of ``tests/outbox_consumers.py``
through the generic ``OUTBOX_CONSUMER_MODULES`` setting.

Use the ``celery_worker`` fixture in tests marked ``django_db(transaction=True)``: the worker
only sees committed rows. The worker lives for one test module (see ``celery_worker_session``).
``celery_worker.kill()`` is ``kill -9`` of the worker's whole process group (main process and
pool children); ``celery_worker.start()`` brings up a fresh one.

The fixtures are registered for the whole suite by ``pytest_plugins`` in tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 30.0


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05, message: str = ""):
    """Poll ``predicate`` until it returns something truthy; fail with ``message`` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s: {message or predicate}")
        time.sleep(interval)


def runtime_database_url(test_db_name: str) -> str:
    """DATABASE_URL (always the runtime role's; the tests themselves log in as the owner and
    ``SET ROLE``) pointed at the test database."""
    from coachhub import settings as base

    parts = urlsplit(os.environ.get("DATABASE_URL") or base._db_default)
    return urlunsplit(parts._replace(path="/" + test_db_name))


class Worker:
    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env = env
        self.queue = env["CELERY_QUEUE"]
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.log_path: Path | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> Worker:
        assert not self.running, "worker already running"
        if not self.starts:
            # Messages other tests of this session sent (their on_commit doorbells) for rows
            # long flushed: do not let the worker chew on them.
            _purge(self.queue)
        self.starts += 1
        self.log_path = self.log_dir / f"worker-{self.starts}.log"
        log = self.log_path.open("wb")
        cmd = [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "coachhub",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--queues",
            self.queue,
            "--hostname",
            f"{self.queue}-{self.starts}@%h",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        # Its own session and process group: kill() takes the pool children down with it.
        self.proc = subprocess.Popen(
            cmd,
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT
        while b" ready." not in self.log_path.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                output = self.log_path.read_text(errors="replace")[-4000:]
                self.kill()
                pytest.fail(f"the Celery worker did not start:\n{output}")
            time.sleep(0.05)
        return self

    def ensure_running(self) -> Worker:
        return self if self.running else self.start()

    def kill(self) -> None:
        """``kill -9`` of the worker and its pool children, as a crash or OOM kill would."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        """Warm shutdown (lets a running task finish), then kill if it hangs."""
        if not self.running:
            self.proc = None
            return
        self.proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=15)
        self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


def worker_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "coachhub.settings",
            "DATABASE_URL": runtime_database_url(connection.settings_dict["NAME"]),
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
            "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "OUTBOX_CONSUMER_MODULES": "tests.outbox_consumers",
            # Fast retries and a short lease so crash recovery takes seconds, not minutes.
            "OUTBOX_RETRY_BASE_SECONDS": "0.2",
            "OUTBOX_CLAIM_LEASE_SECONDS": "2",
            "OUTBOX_SWEEP_GRACE_SECONDS": "0",
            "LOG_LEVEL": "INFO",
            "DEBUG": "false",
            "PYTHONPATH": str(BASE_DIR),
        }
    )
    env.update(overrides)
    return env


def _redis():
    import redis

    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def _purge(queue: str) -> None:
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    r = _redis()
    try:
        r.delete(f"{prefix}{queue}")
    finally:
        r.close()


def _forget_unacked(queue: str) -> None:
    """Drop this session's queue, its bindings and its unacknowledged messages (left by kill -9)
    from Redis, so nothing is restored into a queue nobody will ever read again."""
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    r = _redis()
    try:
        for tag, raw in r.hscan_iter(f"{prefix}unacked"):
            try:
                _message, _exchange, routing_key = json.loads(raw)
            except (ValueError, TypeError):
                continue
            if routing_key == queue:
                r.hdel(f"{prefix}unacked", tag)
                r.zrem(f"{prefix}unacked_index", tag)
        r.delete(
            f"{prefix}{queue}",
            f"{prefix}_kombu.binding.{queue}",
            f"{prefix}_kombu.binding_permanent.{queue}",
        )
    finally:
        r.close()


@pytest.fixture(scope="module")
def celery_worker_session(django_db_setup, django_db_blocker, tmp_path_factory):
    """One worker per test module (started on first use). Stopped at the end of the module: a
    worker left running would take the doorbells of later modules' tests, which play the worker
    in-process, and race them."""
    with django_db_blocker.unblock():
        env = worker_env()
    worker = Worker(env, tmp_path_factory.mktemp("celery-worker"))
    yield worker
    worker.stop()
    _forget_unacked(worker.queue)


@pytest.fixture
def celery_worker(celery_worker_session):
    worker = celery_worker_session.ensure_running()
    yield worker
    # Stopped before the test's database flush: a task still inside a transaction (a survey
    # send after an ingest, say) deadlocks the flush's TRUNCATE. The next test restarts it.
    worker.stop()
