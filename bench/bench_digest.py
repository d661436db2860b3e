"""``make bench B=digest``: the daily digest for 1,000 organizations × 10 supervisors with a
Celery worker of 2 processes, as digests/s, against rendering + sending the same e-mails in a
plain loop.

Setup (SQL, in the bench database, once; reused): ``BENCH_DIGEST_ORGS`` (default 1,000)
organizations ``dgst-<n>`` with 10 teams, a supervisor leading each team and an agent in it, and
yesterday's and the day before's rollup rows per agent (so every digest has numbers to compare).
Each organization's digest time is set to "now" in its zone, so the fan-out finds them all due.

Measured: the fan-out (``coaching.digests_fan_out``: one ``coaching.digests_org`` task per
organization) on a worker as deployed (``--concurrency 2``, its own queue, ``EMAIL_URL`` at an
aiosmtpd sink in its own process); time from the fan-out to every digest row ``sent`` →
digests/s. Each organization's task: plan its digests (one INSERT … SELECT … ON CONFLICT), read
every supervisor's content at once (a fixed ~11 queries: rollups by team, best/worst answers,
open alerts, follow-ups, 1:1 follow-ups, kudos, names), then per digest: claim-and-mark its row
(one UPDATE … SKIP LOCKED in its own transaction, held across the send), render HTML + text,
SMTP, commit.

Baseline, same sink, same run: the same digests' content read beforehand, then only
render + send in a plain loop over one SMTP connection (``BENCH_DIGEST_BASELINE``, default 500).
No goal: the figure says what the exactly-once machinery and the reads cost around render+send.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import timedelta

from bench import datagen
from bench.harness import ROOT, BenchFailed, Context, Row, note

ORGS = int(os.environ.get("BENCH_DIGEST_ORGS", 1000))
SUPERVISORS = 10
BASELINE = int(os.environ.get("BENCH_DIGEST_BASELINE", 500))
PREFIX = "dgst-"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise BenchFailed(f"SMTP sink did not listen on {port}")


def setup(ctx: Context) -> None:
    """Organizations, teams, supervisors, agents and two days of rollups (idempotent)."""
    ctx.django()
    from django.contrib.auth.models import User

    from coachhub.tenancy.models import Membership, Organization, Team, TeamLead
    from feedback.models import DailyRollup

    conn = ctx.owner_connection()
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM coachhub_organization WHERE slug LIKE %s", [PREFIX + "%"])
    if cur.fetchone()[0] >= ORGS:
        conn.close()
        return
    t0 = time.perf_counter()
    tables = ["coachhub_team", "coachhub_membership", "coachhub_teamlead", "feedback_dailyrollup"]
    for t in tables:
        cur.execute(f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY")
    try:
        datagen.insert_select(
            cur,
            Organization,
            {"slug": f"'{PREFIX}' || g", "name": "'Digest ' || g", "time_zone": "'UTC'"},
            "FROM generate_series(1, %s) g "
            "WHERE NOT EXISTS (SELECT 1 FROM coachhub_organization o "
            f"WHERE o.slug = '{PREFIX}' || g)",
            [ORGS],
        )
        cur.execute(
            "CREATE TEMP TABLE dorgs AS SELECT id, slug FROM coachhub_organization o "
            "WHERE slug LIKE %s AND NOT EXISTS "
            "(SELECT 1 FROM coachhub_team t WHERE t.organization_id = o.id)",
            [PREFIX + "%"],
        )
        datagen.insert_select(
            cur, Team, {"organization_id": "o.id", "name": "'Team ' || t"},
            "FROM dorgs o CROSS JOIN generate_series(1, %s) t",
            [SUPERVISORS],
        )  # fmt: skip
        for role in ("s", "a"):
            datagen.insert_select(
                cur,
                User,
                {
                    "username": f"'{role}' || t || '@' || o.slug || '.bench.example'",
                    "email": f"'{role}' || t || '@' || o.slug || '.bench.example'",
                    "first_name": f"'{role.upper()}' || t",
                    "password": "'!'",
                    "date_joined": "now()",
                },
                "FROM dorgs o CROSS JOIN generate_series(1, %s) t",
                [SUPERVISORS],
            )
            datagen.insert_select(
                cur,
                Membership,
                {
                    "organization_id": "o.id",
                    "user_id": "u.id",
                    "role": "'supervisor'" if role == "s" else "'agent'",
                    "team_id": "NULL" if role == "s" else "tm.id",
                    "email_notifications": "false",
                },
                "FROM dorgs o CROSS JOIN generate_series(1, %s) t "
                f"JOIN auth_user u ON u.username = '{role}' || t || '@' || o.slug || "
                "'.bench.example' JOIN coachhub_team tm ON tm.organization_id = o.id "
                "AND tm.name = 'Team ' || t",
                [SUPERVISORS],
            )
        datagen.insert_select(
            cur,
            TeamLead,
            {"organization_id": "m.organization_id", "membership_id": "m.id", "team_id": "tm.id"},
            "FROM coachhub_membership m JOIN dorgs o ON o.id = m.organization_id "
            "JOIN auth_user u ON u.id = m.user_id "
            "JOIN coachhub_team tm ON tm.organization_id = o.id "
            "AND tm.name = 'Team ' || split_part(substr(u.username, 2), '@', 1) "
            "WHERE m.role = 'supervisor'",
        )
        counters = {
            "interactions": "40 + d * 3", "requests_sent": "38", "responses": "20 + d",
            "stars_sum": "(20 + d) * 4", "stars_count": "20 + d", "stars_1": "1", "stars_2": "1",
            "stars_3": "2", "stars_4": "6", "stars_5": "10 + d", "csat_count": "16 + d",
            "fcr_yes": "15", "fcr_no": "3", "nps_promoters": "5", "nps_passives": "2",
            "nps_detractors": "1",
        }  # fmt: skip
        datagen.insert_select(
            cur,
            DailyRollup,
            {
                "organization_id": "m.organization_id",
                "day": "current_date - d",
                "agent_id": "m.id",
                "team_id": "m.team_id",
                **counters,
            },
            "FROM coachhub_membership m JOIN dorgs o ON o.id = m.organization_id "
            "CROSS JOIN generate_series(1, 2) d WHERE m.role = 'agent'",
        )
    finally:
        for t in tables:
            cur.execute(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY")
        conn.close()
    note(f"digest: {ORGS} organizations set up in {time.perf_counter() - t0:.1f}s")


def _reset(ctx: Context) -> None:
    """Every organization due now; no digest rows yet (so a run sends them all again)."""
    conn = ctx.owner_connection()
    cur = conn.cursor()
    cur.execute("ALTER TABLE coaching_digest NO FORCE ROW LEVEL SECURITY")
    cur.execute(
        "DELETE FROM coaching_digest d USING coachhub_organization o "
        "WHERE o.id = d.organization_id AND o.slug LIKE %s",
        [PREFIX + "%"],
    )
    cur.execute("ALTER TABLE coaching_digest FORCE ROW LEVEL SECURITY")
    at = time.strftime("%H:%M", time.gmtime(time.time() - 60))
    cur.execute(
        "UPDATE coachhub_organization SET settings = settings || jsonb_build_object("
        "'digest_time', %s::text), time_zone = 'UTC' WHERE slug LIKE %s",
        [at, PREFIX + "%"],
    )
    conn.close()


def _force(ctx: Context, on: bool) -> None:
    conn = ctx.owner_connection()
    conn.cursor().execute(
        f"ALTER TABLE coaching_digest {'FORCE' if on else 'NO FORCE'} ROW LEVEL SECURITY"
    )
    conn.close()


def _sent(ctx: Context) -> tuple[int, int]:
    conn = ctx.owner_connection()
    cur = conn.cursor()
    cur.execute(
        "SELECT count(*) FILTER (WHERE d.status = 'sent'), count(*) FILTER (WHERE d.attempts > 0 "
        "AND d.status = 'pending') FROM coaching_digest d JOIN coachhub_organization o "
        "ON o.id = d.organization_id WHERE o.slug LIKE %s",
        [PREFIX + "%"],
    )
    row = cur.fetchone()
    conn.close()
    return row[0], row[1]


def measure_worker(ctx: Context, port: int) -> float:
    from coaching.digest_tasks import digests_fan_out_task

    queue = f"{ctx.env.get('CELERY_QUEUE', 'coachhub-bench')}-digest"
    ctx.worker(
        concurrency=2, extra_env={"EMAIL_URL": f"smtp://127.0.0.1:{port}", "CELERY_QUEUE": queue}
    )
    _reset(ctx)
    expected = ORGS * SUPERVISORS
    # The owner counts rows across organizations: FORCE lifted for the owner only (the worker
    # connects as the runtime role, which row-level security still confines).
    _force(ctx, False)
    try:
        started = time.perf_counter()
        digests_fan_out_task.apply_async(queue=queue)
        deadline = time.monotonic() + 1800
        sent = failed = 0
        while time.monotonic() < deadline:
            sent, failed = _sent(ctx)
            if sent >= expected:
                break
            ctx.check_alive()
            time.sleep(0.25)
        elapsed = time.perf_counter() - started
    finally:
        _force(ctx, True)
    if sent != expected:
        raise BenchFailed(f"digest worker: {sent}/{expected} sent ({failed} retrying)")
    rate = sent / elapsed
    note(f"digest worker: {sent} digests in {elapsed:.1f}s = {rate:.0f}/s")
    return rate


def measure_plain_loop(ctx: Context, port: int) -> float:
    """Render + send the same e-mails (content read beforehand) over one SMTP connection."""
    from django.core.mail import get_connection
    from django.utils import timezone

    from coachhub.tenancy.context import tenant_context
    from coachhub.tenancy.models import Membership, Organization
    from coaching.models_digest import DigestKind
    from coaching.services.digest import digest_message, digests_content

    contents = []
    day = timezone.localdate() - timedelta(days=1)
    for org in Organization.objects.filter(slug__startswith=PREFIX).order_by("id")[
        : max(1, BASELINE // SUPERVISORS)
    ]:
        with tenant_context(org):
            members = list(
                Membership.objects.filter(organization=org, role="supervisor").select_related(
                    "user"
                )
            )
            contents += digests_content(org, members, day, DigestKind.DAILY).values()
    contents = [c for c in contents if c is not None][:BASELINE]
    mail = get_connection(
        "django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=port
    )
    mail.open()
    started = time.perf_counter()
    for c in contents:
        message = digest_message(c)
        message.connection = mail
        message.send()
    elapsed = time.perf_counter() - started
    mail.close()
    rate = len(contents) / elapsed
    note(f"plain loop: {len(contents)} digests rendered + sent in {elapsed:.2f}s = {rate:.0f}/s")
    return rate


def run(ctx: Context) -> list[Row]:
    setup(ctx)
    port = _free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Sink"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_port(port)
        worker_rate = measure_worker(ctx, port)
        plain_rate = measure_plain_loop(ctx, port)
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    return [
        Row(
            f"digests/s, {ORGS} orgs x {SUPERVISORS} supervisors, worker -c 2"
            " (vs render+send loop)",
            worker_rate,
            "digests/s",
            plain_rate,
        )
    ]
