"""Shared pieces for benchmarks: the bench database, gunicorn, a Celery worker, the load generator.

A benchmark module ``bench/bench_<name>.py`` exposes ``run(ctx) -> list[Row]``; ``ctx`` is the
:class:`Context` below, one per ``bench/run.py`` invocation. Everything it starts (gunicorn,
workers) is shared by the benchmarks of that run and stopped at the end, so figures and their
baselines are measured against the very same server.

Services are resolved the way the app resolves them: variables in the environment win, then
``.run/env`` (written by ``python -m coachhub.devservices``), then the local defaults. The bench
database is separate from the dev and test ones (``coachhub_bench_<checkout>``), created and
migrated as the owner role and served as the runtime role, like production.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
LOG_DIR = ROOT / ".run" / "bench"
WRK_SCRIPT = BENCH_DIR / "wrk" / "request.lua"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
BIN = Path(PYTHON).parent

# Same derivation as coachhub/settings.py CHECKOUT_ID: two checkouts never share a bench DB.
CHECKOUT_ID = hashlib.sha1(str(ROOT).encode()).hexdigest()[:8]  # noqa: S324 - a name
# BENCH_SUFFIX separates parallel sessions in one checkout (database, Redis keys, Celery queue).
BENCH_SUFFIX = os.environ.get("BENCH_SUFFIX", "")
BENCH_DB_NAME = f"coachhub_bench_{CHECKOUT_ID}{BENCH_SUFFIX}"

LOCAL_RUNTIME_URL = "postgres://coachhub_app@127.0.0.1:5432/coachhub"
LOCAL_OWNER_URL = "postgres://coachhub_owner@127.0.0.1:5432/coachhub"


class BenchFailed(Exception):
    """Raised by a benchmark (or the harness) to fail the benchmark with a one-line reason."""


@dataclass
class Row:
    """One printed line: ``<figure> | <value> <unit> | <baseline> <unit> | ratio <r>``.

    ``ratio`` defaults to value / baseline. ``min_ratio`` / ``max_ratio`` are optional goals:
    when the ratio misses one the benchmark is reported FAILED (the row is still printed).
    """

    figure: str
    value: float | None
    unit: str
    baseline: float | None
    baseline_unit: str | None = None
    ratio: float | None = None
    min_ratio: float | None = None
    max_ratio: float | None = None

    def __post_init__(self):
        if self.baseline_unit is None:
            self.baseline_unit = self.unit
        if self.ratio is None and self.value is not None and self.baseline:
            self.ratio = self.value / self.baseline

    def line(self) -> str:
        ratio = "n/a" if self.ratio is None else f"{self.ratio:.2f}"
        return (
            f"{self.figure} | {fmt(self.value)} {self.unit} | "
            f"{fmt(self.baseline)} {self.baseline_unit} | ratio {ratio}"
        )

    def goal_missed(self) -> str | None:
        if self.ratio is None:
            if self.min_ratio is None and self.max_ratio is None:
                return None
            return f"{self.figure}: no ratio to check against its goal"
        if self.min_ratio is not None and self.ratio < self.min_ratio:
            return f"{self.figure}: ratio {self.ratio:.2f} below goal {self.min_ratio:.2f}"
        if self.max_ratio is not None and self.ratio > self.max_ratio:
            return f"{self.figure}: ratio {self.ratio:.2f} above goal {self.max_ratio:.2f}"
        return None


def fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


@dataclass
class LoadResult:
    """What one load run measured. Latencies in milliseconds."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    non2xx: int = 0
    socket_errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    first_error: str = ""
    tool: str = "wrk"

    def summary(self) -> str:
        return (
            f"{self.requests} requests in {self.seconds:.1f}s = {self.rps:.0f} req/s, "
            f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms ({self.tool})"
        )


def median_result(results: list[LoadResult]) -> LoadResult:
    """One LoadResult from several runs of the same load: the median of each figure."""
    if len(results) == 1:
        return results[0]

    def med(attr):
        return statistics.median(getattr(r, attr) for r in results)

    return LoadResult(
        requests=sum(r.requests for r in results),
        seconds=sum(r.seconds for r in results),
        rps=med("rps"),
        p50_ms=med("p50_ms"),
        p90_ms=med("p90_ms"),
        p99_ms=med("p99_ms"),
        max_ms=max(r.max_ms for r in results),
        mean_ms=med("mean_ms"),
        tool=results[0].tool,
    )


def note(message: str) -> None:
    """Progress for humans; stderr so that stdout holds only the tables and verdict lines."""
    print(f"  . {message}", file=sys.stderr, flush=True)


# --- services and the bench database ---------------------------------------------------


def _with_db_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _load_run_env() -> None:
    """Resolve services as ``make run`` / ``make test`` do (``python -m coachhub.devservices``
    finds or starts Postgres and Redis and writes ``.run/env``), then read ``.run/env`` into
    os.environ without overriding, exactly as coachhub/settings.py does."""
    run_env = ROOT / ".run" / "env"
    if (ROOT / "coachhub" / "devservices.py").exists():
        done = subprocess.run(
            [PYTHON, "-m", "coachhub.devservices", "up"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if done.returncode:
            note("coachhub.devservices failed; falling back to the environment / local services:")
            note((done.stdout + done.stderr).strip()[-800:])
    if run_env.exists():
        import environ

        environ.Env.read_env(str(run_env), overwrite=False)


def _pg_connect(url: str, dbname: str | None = None):
    import environ
    import psycopg2

    cfg = environ.Env.db_url_config(url)
    return psycopg2.connect(
        dbname=dbname or cfg["NAME"],
        user=cfg.get("USER") or None,
        password=cfg.get("PASSWORD") or None,
        host=cfg.get("HOST") or None,
        port=cfg.get("PORT") or None,
        connect_timeout=10,
        **cfg.get("OPTIONS", {}),
    )


def _ensure_database(owner_url: str, name: str, fresh: bool) -> None:
    import psycopg2

    maintenance = None
    errors = []
    for db in (urlsplit(owner_url).path.lstrip("/") or None, "postgres", "template1"):
        try:
            maintenance = _pg_connect(owner_url, dbname=db)
            break
        except psycopg2.OperationalError as exc:
            errors.append(str(exc).strip().splitlines()[0])
    if maintenance is None:
        raise BenchFailed(f"cannot reach Postgres as the owner role: {'; '.join(errors)}")
    maintenance.autocommit = True
    try:
        with maintenance.cursor() as cur:
            if fresh:
                note(f"dropping {name} (--fresh)")
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone() is None:
                note(f"creating database {name}")
                cur.execute(f'CREATE DATABASE "{name}"')
    except psycopg2.Error as exc:
        raise BenchFailed(f"cannot create the bench database {name}: {exc}".strip()) from exc
    finally:
        maintenance.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def cpu_busy(seconds: float = 0.5) -> float | None:
    """Share of all cores busy over ``seconds`` (read from /proc/stat), taken while our own
    servers idle between runs: anything high is someone else's work competing with ours."""

    def sample():
        with open("/proc/stat") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return idle, sum(values)

    try:
        idle0, total0 = sample()
        time.sleep(seconds)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    total = total1 - total0
    return (1 - (idle1 - idle0) / total) if total > 0 else None


# --- processes ---------------------------------------------------------------------------


class Process:
    """A child process in its own session, stopped (with its children) by its own id."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.name = name
        # Suffixed like the database: two sessions' celery-1 must not share (truncate) a log.
        self.log_path = LOG_DIR / f"{name}{BENCH_SUFFIX}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def failure(self, what: str) -> BenchFailed:
        return BenchFailed(f"{self.name} {what}; log {self.log_path}:\n{_tail(self.log_path)}")

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # the group of this child only
                self.proc.wait(timeout=timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._log.close()


def procfile_argv(kind: str, default: str) -> list[str]:
    """The command the Procfile deploys for ``kind`` (web, worker), so benchmarks measure the
    server settings ``make run`` uses; ``default`` when there is no Procfile line."""
    line = default
    procfile = ROOT / "Procfile"
    if procfile.exists():
        for raw in procfile.read_text().splitlines():
            name, sep, command = raw.partition(":")
            if sep and name.strip() == kind:
                line = command.strip()
                break
    argv = shlex.split(line)
    if (BIN / argv[0]).exists():
        argv[0] = str(BIN / argv[0])
    return argv


def _set_option(argv: list[str], names: tuple[str, ...], value: str | None) -> list[str]:
    """Remove every ``--name X`` / ``--name=X`` / ``-n X`` in ``names``; append ``names[0]
    value`` when value is not None."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in names:
            skip = True
            continue
        if any(arg.startswith(n + "=") for n in names if n.startswith("--")):
            continue
        out.append(arg)
    if value is not None:
        out += [names[0], value]
    return out


class Server(Process):
    """gunicorn serving coachhub.wsgi as deployed (the Procfile's ``web`` line, DEBUG off, the
    same middleware), on a free loopback port."""

    def __init__(
        self, name: str, env: dict[str, str], workers: int | None, extra_args: Iterable[str]
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = procfile_argv("web", "gunicorn coachhub.wsgi --workers 2")
        argv = _set_option(argv, ("--bind", "-b"), f"127.0.0.1:{self.port}")
        if workers is not None:
            argv = _set_option(argv, ("--workers", "-w"), str(workers))
        # gunicorn 27 otherwise shares ~/.gunicorn/gunicorn.ctl with any other gunicorn on the
        # machine (make run); serving is unaffected.
        argv += ["--no-control-socket", *extra_args]
        self.argv = argv
        super().__init__(name, argv, env)
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise self.failure("exited during start")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise self.failure(f"did not answer /healthz within {timeout:.0f}s")


class Worker(Process):
    """A Celery worker as deployed (the Procfile's ``worker`` line), optionally with beat."""

    def __init__(self, name: str, env: dict[str, str], concurrency: int | None, beat: bool):
        argv = procfile_argv("worker", "celery -A coachhub worker --concurrency 2 --loglevel INFO")
        if concurrency is not None:
            argv = _set_option(argv, ("--concurrency", "-c"), str(concurrency))
        # A node name of our own: never mistaken for (or by) a dev worker on the machine.
        argv = _set_option(argv, ("--hostname", "-n"), f"{name}-{os.getpid()}@%h")
        if beat:
            argv.append("--beat")
        self.argv = argv
        super().__init__(name, argv, env)
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise self.failure("exited during start")
            if re.search(r"\bready\b", _tail(self.log_path, 200)):
                return
            time.sleep(0.2)
        raise self.failure(f"did not report ready within {timeout:.0f}s")


# --- the load generator ------------------------------------------------------------------


def ensure_wrk() -> str | None:
    """Path to wrk, installing Debian's package when missing; None if that is impossible."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        note("wrk missing: apt-get install -y wrk")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
        if subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, **quiet).returncode:
            subprocess.run(["apt-get", "update"], check=False, **quiet)
            subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, **quiet)
    return shutil.which("wrk")


_RESULT_RE = re.compile(r"^BENCH_RESULT (.*)$", re.M)


def parse_wrk(output: str) -> LoadResult:
    match = _RESULT_RE.search(output)
    if not match:
        raise BenchFailed(f"could not parse wrk output: {output.strip()[-500:]}")
    v = {k: int(x) for k, x in (kv.split("=") for kv in match.group(1).split())}
    statuses_line = re.search(r"^BENCH_STATUSES ?(.*)$", output, re.M)
    statuses = {}
    if statuses_line and statuses_line.group(1).strip():
        statuses = {k: int(n) for k, n in (p.split(":") for p in statuses_line.group(1).split(","))}
    first = re.search(r"^BENCH_FIRST_ERROR ?(.*)$", output, re.M)
    seconds = v["duration_us"] / 1e6
    return LoadResult(
        requests=v["requests"],
        seconds=seconds,
        rps=v["requests"] / seconds if seconds else 0.0,
        p50_ms=v["p50_us"] / 1000,
        p90_ms=v["p90_us"] / 1000,
        p99_ms=v["p99_us"] / 1000,
        max_ms=v["max_us"] / 1000,
        mean_ms=v["mean_us"] / 1000,
        non2xx=v["non2xx"],
        socket_errors=v["err_connect"] + v["err_read"] + v["err_write"] + v["err_timeout"],
        statuses=statuses,
        first_error=first.group(1).strip() if first else "",
    )


def _python_load(url, method, bodies, headers, duration, connections, run_id) -> LoadResult:
    """Fallback when wrk cannot be installed: threads with keep-alive http.client connections.
    Far weaker than wrk (the GIL): figures are only comparable within one run."""
    import http.client
    import random

    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    state = {"first_error": "", "socket_errors": 0}
    stop_at = time.monotonic() + duration

    def fill(template: str, tid: int, n: int) -> str:
        body = template.replace("{{seq}}", f"{run_id}-{tid}-{n}")
        body = body.replace("{{n}}", str(tid * 1_000_000_000 + n))
        return re.sub(
            r"\{\{rand:(\d+):(\d+)\}\}",
            lambda m: str(random.randint(int(m[1]), int(m[2]))),
            body,
        )

    def client(tid: int):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        n = 0
        mine = []
        hdrs = dict(headers)
        if bodies:
            hdrs.setdefault("Content-Type", "application/json")
        while time.monotonic() < stop_at:
            n += 1
            body = fill(bodies[(n - 1) % len(bodies)], tid, n) if bodies else None
            this_path = path
            if body is not None and body.startswith("/") and "\t" in body:
                this_path, body = body.split("\t", 1)  # "<path>\t<body>" (see request.lua)
            body = body.encode() if body is not None else None
            t0 = time.perf_counter()
            try:
                conn.request(method, this_path, body=body, headers=hdrs)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException):
                with lock:
                    state["socket_errors"] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                continue
            mine.append(time.perf_counter() - t0)
            if not 200 <= resp.status < 300:
                with lock:
                    statuses[str(resp.status)] = statuses.get(str(resp.status), 0) + 1
                    if not state["first_error"]:
                        state["first_error"] = (
                            f"{resp.status} {data[:300].decode(errors='replace')}"
                        )
        conn.close()
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i + 1,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - started
    latencies.sort()

    def pct(p):
        return (
            latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1000
            if latencies
            else 0.0
        )

    return LoadResult(
        requests=len(latencies),
        seconds=seconds,
        rps=len(latencies) / seconds,
        p50_ms=pct(50),
        p90_ms=pct(90),
        p99_ms=pct(99),
        max_ms=pct(100),
        mean_ms=(sum(latencies) / len(latencies) * 1000) if latencies else 0.0,
        non2xx=sum(statuses.values()),
        socket_errors=state["socket_errors"],
        statuses=statuses,
        first_error=state["first_error"],
        tool="python-fallback",
    )


# --- the context -------------------------------------------------------------------------


class Context:
    """One per ``bench/run.py`` invocation; passed to every benchmark's ``run(ctx)``."""

    def __init__(
        self,
        duration: float = 10,
        connections: int = 8,
        warmup: float = 2,
        fresh: bool = False,
        rounds: int = 1,
    ):
        self.duration = duration
        self.rounds = max(1, rounds)
        self.connections = connections
        self.warmup = warmup
        self.fresh = fresh
        self.run_id = time.strftime("%Y%m%d%H%M%S")
        self.cache: dict = {}  # free for benchmarks that want to share a measurement
        self.env: dict[str, str] = {}
        self.runtime_url = self.owner_url = ""
        self._servers: dict[tuple, Server] = {}
        self._workers: dict[tuple, Worker] = {}
        self._wrk: str | None = None
        self._prepared = False
        self._django = False
        self._tmp = Path(tempfile.mkdtemp(prefix="coachhub-bench-"))

    # -- setup ---------------------------------------------------------------------------

    def prepare(self) -> None:
        """Resolve services, point this process and its children at the bench DB, migrate."""
        if self._prepared:
            return
        _load_run_env()
        runtime = os.environ.get("DATABASE_URL")
        owner = os.environ.get("DATABASE_OWNER_URL")
        if not runtime:  # nothing configured: the machine's local services (HELPERS.md)
            runtime, owner = LOCAL_RUNTIME_URL, owner or LOCAL_OWNER_URL
        owner = owner or runtime
        self.runtime_url = _with_db_name(runtime, BENCH_DB_NAME)
        self.owner_url = _with_db_name(owner, BENCH_DB_NAME)
        bench_env = {
            "DATABASE_URL": self.runtime_url,
            "DATABASE_OWNER_URL": self.owner_url,
            "COACHHUB_BENCH": "1",  # serves bench/baseline_app (see coachhub/settings.py)
            "DEBUG": "false",
            "DJANGO_SETTINGS_MODULE": "coachhub.settings",
            # Own Redis keys and Celery queue: never steal a dev worker's tasks or vice versa.
            "REDIS_KEY_PREFIX": f"coachhub-bench-{CHECKOUT_ID}{BENCH_SUFFIX}",
            "CELERY_QUEUE": f"coachhub-bench-{CHECKOUT_ID}{BENCH_SUFFIX}",
            "PYTHONUNBUFFERED": "1",
        }
        os.environ.update(bench_env)  # this process (in-process Django) and every child
        self.env = dict(os.environ)
        _ensure_database(owner, BENCH_DB_NAME, self.fresh)
        note(f"migrating {BENCH_DB_NAME} as the owner role")
        done = subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise BenchFailed(f"migrate failed:\n{(done.stdout + done.stderr).strip()[-1500:]}")
        conn = _pg_connect(self.runtime_url)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT current_user, rolsuper OR rolbypassrls FROM pg_roles "
                    "WHERE rolname = current_user"
                )
                role, privileged = cur.fetchone()
        finally:
            conn.close()
        note(f"serving as {role}" + (" (superuser/BYPASSRLS: RLS not exercised!)" * privileged))
        self._prepared = True

    def django(self):
        """Set Django up in this process against the bench DB (as the runtime role), e.g. to
        seed organizations and API keys through services before a load run."""
        self.prepare()
        if not self._django:
            if str(ROOT) not in sys.path:
                sys.path.insert(0, str(ROOT))
            import django

            django.setup()
            self._django = True
        import django

        return django

    def seed_organization(self, slug: str = "bench", agents: int = 20) -> dict:
        """An organization for API benchmarks, created once and reused (the bench DB persists):
        one team, ``agents`` active agents ``agent<i>@<slug>.bench.example`` (employee ids
        ``E<i>``), and a new live API key each call. Returns ``{"organization", "api_key",
        "agent_emails", "employee_ids"}``; send the key as ``Authorization: Bearer <key>``."""
        self.django()
        from coachhub.accounts import services
        from coachhub.tenancy.context import tenant_context
        from coachhub.tenancy.models import Membership, Organization, Team

        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            org = services.organization_create(slug=slug, name=f"Bench {slug}")
        emails = [f"agent{i}@{slug}.bench.example" for i in range(1, agents + 1)]
        with tenant_context(org):
            team = Team.objects.filter(organization=org).first() or services.team_create(
                organization=org, name="Bench team"
            )
            have = set(
                Membership.objects.filter(organization=org, user__email__in=emails).values_list(
                    "user__email", flat=True
                )
            )
            for i, email in enumerate(emails, start=1):
                if email not in have:
                    user = services.user_get_or_create(email=email, first_name=f"Agent{i}")
                    services.membership_create(
                        organization=org, user=user, role="agent", team=team, employee_id=f"E{i}"
                    )
            _, secret = services.api_key_create(organization=org, name=f"bench {self.run_id}")
        return {
            "organization": org,
            "api_key": secret,
            "agent_emails": emails,
            "employee_ids": [f"E{i}" for i in range(1, agents + 1)],
        }

    def owner_connection(self):
        """A psycopg2 connection to the bench DB as the owner (truncate, count, COPY …);
        the caller closes it."""
        self.prepare()
        conn = _pg_connect(self.owner_url)
        conn.autocommit = True
        return conn

    def run_command(self, argv: list[str], timeout: float = 3600) -> tuple[float, float, str]:
        """Run a command (e.g. ``[PYTHON, "manage.py", "import_csv", …]``) against the bench
        DB and return (wall seconds, peak RSS in MiB of that process, its output). A non-zero
        exit raises BenchFailed. Peak memory is the command's own process (``wait4``), not its
        children's; ``farm-bench`` gives min/median/max over repeated runs from outside."""
        self.prepare()
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(mode="w+") as out:
            started = time.perf_counter()
            proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=out, stderr=out)
            deadline = time.monotonic() + timeout
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    raise BenchFailed(f"{argv[1:3]} did not finish within {timeout:.0f}s")
                time.sleep(0.05)
            seconds = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            output = out.read()
        if proc.returncode:
            raise BenchFailed(f"{' '.join(argv[1:3])} exited {proc.returncode}:\n{output[-1500:]}")
        return seconds, usage.ru_maxrss / 1024, output

    def measure_copy(self, table: str, columns: list[str], rows: list[tuple]) -> float:
        """Rows/s of a raw ``COPY … FROM STDIN`` of ``rows`` into a copy of ``table`` (same
        columns, defaults, indexes and constraints, no foreign keys): the limit for bulk paths.

        Postgres refuses COPY FROM into a table with row-level security, so the copy is a plain
        table ``<table>_benchcopy`` (created as the owner, dropped afterwards). Only the COPY
        and its commit are timed; building the CSV text is not."""
        import csv
        import io

        buf = io.StringIO()
        csv.writer(buf).writerows(rows)
        data = buf.getvalue()
        copy = f"{table}_benchcopy"
        conn = self.owner_connection()
        try:
            with conn.cursor() as cur:
                cur.execute(f'DROP TABLE IF EXISTS "{copy}"')
                cur.execute(f'CREATE TABLE "{copy}" (LIKE "{table}" INCLUDING ALL)')
            conn.autocommit = False
            cols = ", ".join(f'"{c}"' for c in columns)
            started = time.perf_counter()
            with conn.cursor() as cur:
                cur.copy_expert(
                    f'COPY "{copy}" ({cols}) FROM STDIN WITH (FORMAT csv)', io.StringIO(data)
                )
            conn.commit()
            seconds = time.perf_counter() - started
        finally:
            conn.rollback()
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'DROP TABLE IF EXISTS "{copy}"')
            conn.close()
        return len(rows) / seconds

    def owner_sql(self, sql: str, params=None):
        """Run one statement as the owner; returns fetchall() when it returns rows."""
        conn = self.owner_connection()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    # -- processes -----------------------------------------------------------------------

    def server(
        self,
        workers: int | None = None,
        extra_env: dict[str, str] | None = None,
        extra_args: Iterable[str] = (),
    ) -> Server:
        """The gunicorn server as deployed (``workers=None``: the Procfile's), started once per
        distinct configuration and shared by every benchmark of the run."""
        self.prepare()
        key = (workers, tuple(sorted((extra_env or {}).items())), tuple(extra_args))
        if key not in self._servers or not self._servers[key].alive():
            name = f"gunicorn-{len(self._servers) + 1}"
            env = {**self.env, **(extra_env or {})}
            self._servers[key] = Server(name, env, workers, extra_args)
            note(f"started {name}: {' '.join(self._servers[key].argv[1:])}")
        return self._servers[key]

    def worker(
        self,
        concurrency: int | None = None,
        beat: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> Worker:
        """A Celery worker as deployed on the bench queue (``concurrency=None``: the
        Procfile's), started once per configuration and shared by the run."""
        self.prepare()
        key = (concurrency, beat, tuple(sorted((extra_env or {}).items())))
        if key not in self._workers or not self._workers[key].alive():
            name = f"celery-{len(self._workers) + 1}"
            env = {**self.env, **(extra_env or {})}
            self._workers[key] = Worker(name, env, concurrency, beat)
            note(f"started {name}: {' '.join(self._workers[key].argv[1:])}")
        return self._workers[key]

    def check_alive(self) -> None:
        for proc in [*self._servers.values(), *self._workers.values()]:
            if not proc.alive():
                raise proc.failure("died during the run")

    # -- load ----------------------------------------------------------------------------

    def load(
        self,
        path: str,
        *,
        method: str = "GET",
        bodies: list[str] | None = None,
        headers: dict[str, str] | None = None,
        duration: float | None = None,
        connections: int | None = None,
        warmup: float | None = None,
        server: Server | None = None,
        label: str | None = None,
    ) -> LoadResult:
        """Drive ``path`` on the server and return what wrk measured.

        ``bodies``: request body templates (one JSON document each, no newlines), cycled; see
        bench/wrk/request.lua for the ``{{seq}}``/``{{n}}``/``{{rand:A:B}}`` placeholders. A
        template ``"<path>\t<body>"`` also sets the request's path (one URL per line, e.g. a
        survey link each).
        Any non-2xx answer or socket error (in the warm-up too) raises BenchFailed: only
        successful answers count.
        """
        server = server or self.server()
        duration = self.duration if duration is None else duration
        connections = connections or self.connections
        warmup = self.warmup if warmup is None else warmup
        url = server.url + path
        label = label or f"{method} {path}"
        busy = cpu_busy()
        if busy is not None and busy > 0.3:
            note(f"CPU {busy:.0%} busy with other work just before {label}: expect noise")
        if warmup > 0:
            self._load_once(
                url, method, bodies, headers or {}, warmup, connections, f"{label} warm-up"
            )
        result = self._load_once(url, method, bodies, headers or {}, duration, connections, label)
        self.check_alive()
        note(f"{label}: {result.summary()}")
        return result

    def _load_once(self, url, method, bodies, headers, duration, connections, label) -> LoadResult:
        if self._wrk is None:
            # BENCH_LOADGEN=python forces the fallback (to check it); otherwise wrk, always.
            forced = os.environ.get("BENCH_LOADGEN") == "python"
            self._wrk = "" if forced else (ensure_wrk() or "")
            if not self._wrk:
                note("Python fallback load generator (wrk missing or BENCH_LOADGEN=python)")
        run_id = f"{self.run_id}{time.monotonic_ns() % 10**9}"
        if self._wrk:
            bodies_arg = "-"
            if bodies:
                bodies_file = self._tmp / f"bodies-{run_id}.txt"
                if any("\n" in b for b in bodies):
                    raise ValueError("request bodies must be single-line")
                bodies_file.write_text("\n".join(bodies) + "\n")
                bodies_arg = str(bodies_file)
            threads = max(1, min(2, connections))
            argv = [
                self._wrk,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{max(1, round(duration))}s",
                "--timeout",
                "30s",
                "--latency",
                "-s",
                str(WRK_SCRIPT),
            ]
            for name, value in headers.items():
                argv += ["-H", f"{name}: {value}"]
            argv += [url, "--", method, bodies_arg, run_id]
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                check=False,
                timeout=duration + 120,
                env={**os.environ, "BENCH_WRK_DYNAMIC": "1" if bodies else "0"},
            )
            if done.returncode:
                output = (done.stdout + done.stderr).strip()[-500:]
                raise BenchFailed(f"{label}: wrk failed: {output}")
            result = parse_wrk(done.stdout)
        else:
            result = _python_load(url, method, bodies, headers, duration, connections, run_id)
        if result.non2xx:
            raise BenchFailed(
                f"{label}: {result.non2xx} non-2xx answers {json.dumps(result.statuses)}; "
                f"first: {result.first_error[:200]}"
            )
        if result.socket_errors:
            raise BenchFailed(f"{label}: {result.socket_errors} socket errors/timeouts")
        if result.requests == 0:
            raise BenchFailed(f"{label}: no request completed")
        return result

    def alternate(self, measures: dict[str, Callable[[], LoadResult]], rounds: int | None = None):
        """Run each measure ``rounds`` times in turn (A B A B …) and return, per name, the
        median of its runs: interleaving keeps a ratio meaningful when the machine's speed
        drifts (other work on the 2 shared cores). ``rounds`` defaults to ``--rounds``."""
        rounds = rounds or self.rounds
        runs: dict[str, list[LoadResult]] = {name: [] for name in measures}
        for _ in range(rounds):
            for name, measure in measures.items():
                runs[name].append(measure())
        return {name: median_result(results) for name, results in runs.items()}

    # -- teardown ------------------------------------------------------------------------

    def close(self) -> None:
        for proc in [*self._workers.values(), *self._servers.values()]:
            proc.stop()
        self._workers.clear()
        self._servers.clear()
        shutil.rmtree(self._tmp, ignore_errors=True)
