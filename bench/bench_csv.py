"""``make bench B=csv``: a 1,000,000-row CSV import, end to end, against its baselines.

What runs is what a worker runs for an admin's upload: the file is stored in MEDIA_ROOT, checked
(``csv_import_check_task``: preview + every row error, nothing written) and, once "confirmed",
imported in one all-or-nothing transaction (``csv_import_run_task``) through
``interactions_ingest`` — interaction + feedback request + rollups per row. Each phase runs in a
child process so its peak RSS is its own.

Figures (rows/s compare the same rows, measured in the same run):

* import rows/s vs a DRF baseline: ``ModelSerializer(many=True)`` + ``bulk_create`` of the same
  rows into the same table, 1,000 rows per batch (the bulk API's limit), agent/team ids already
  resolved (a generous baseline: no lookups, no feedback request, no rollup). Goal ≥ 3×.
* import rows/s vs a raw ``COPY`` of the same rows into a copy of the table (the limit).
* check rows/s, wall time of check + import, and peak RSS of each phase (vs the baseline's).

Environment: ``BENCH_CSV_ROWS`` (default 1,000,000), ``BENCH_CSV_BASELINE_ROWS`` (default
100,000; per-row rates do not depend on the count), ``BENCH_CSV_COPY_ROWS`` (default 200,000).
The import is "as history" (no surveys), as a million-row back-fill would be.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ROWS = int(os.environ.get("BENCH_CSV_ROWS", 1_000_000))
BASELINE_ROWS = int(os.environ.get("BENCH_CSV_BASELINE_ROWS", 100_000))
COPY_ROWS = int(os.environ.get("BENCH_CSV_COPY_ROWS", 200_000))
AGENTS = 50
SLUG = "benchcsv"
HEADER = [
    "external_id",
    "channel",
    "agent_email",
    "customer_name",
    "customer_email",
    "customer_language",
    "occurred_at",
    "tags",
    "ticket_url",
    "property:order_id",
]
CHANNELS = ["email", "phone", "chat", "sms", "social"]
# The DRF baseline writes the same rows with this prefix on the external id and the customer's
# address. Without it, its keys sorted right next to the ones the import had just written, so
# its index insertions (customer address, external id: random positions in big indexes) found
# their pages in the buffer cache, warmed by the import — a discount ingest never gets.
DRF_PREFIX = "drf-"


def write_csv(path: Path, n: int, run_id: str, agent_emails: list[str]) -> int:
    """``n`` distinct interactions over the last 60 days; returns the file size."""
    start = datetime.now(UTC) - timedelta(days=60)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in range(n):
            w.writerow(
                [
                    f"CSV-{run_id}-{i}",
                    CHANNELS[i % 5],
                    agent_emails[i % len(agent_emails)],
                    f"Customer {i}",
                    # New customers each run: the bench database keeps earlier runs' rows, and
                    # the same addresses at the same times would make every row a repeat
                    # contact of the previous run's (more work each run, not reproducible).
                    f"c{i}-{run_id}@example.com",
                    "en" if i % 3 else "es",
                    (start + timedelta(seconds=5 * i)).isoformat(),
                    "billing;vip" if i % 2 else "shipping",
                    f"https://helpdesk.example/tickets/{i}",
                    f"A-{i}",
                ]
            )
    return path.stat().st_size


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# --- child processes (each phase's memory is its own) --------------------------------------


def _child_setup():
    import django

    django.setup()
    from coachhub.tenancy.models import Organization

    return Organization.objects.get(slug=SLUG)


def child_import(path: str) -> dict:
    org = _child_setup()
    from django.core.files import File

    from coachhub.tenancy.context import tenant_context
    from feedback.models_channels import CsvImport, ImportStatus
    from feedback.services import csv_import
    from feedback.tasks import csv_import_check_task, csv_import_run_task

    t0 = time.perf_counter()
    with tenant_context(org), open(path, "rb") as f:
        imp = csv_import.csv_import_create(
            organization=org, uploaded=File(f, name="bench.csv"), history=True
        )
    t1 = time.perf_counter()
    status = csv_import_check_task(organization_id=org.pk, csv_import_id=imp.pk)
    t2 = time.perf_counter()
    rss_check = _peak_rss_mib()
    if status != ImportStatus.READY:
        with tenant_context(org):
            imp = CsvImport.objects.get(pk=imp.pk)
            errors = list(imp.errors.values_list("row", "column", "reason")[:5])
        return {"status": status, "reason": imp.failure_reason, "errors": errors}
    with tenant_context(org):
        CsvImport.objects.filter(pk=imp.pk).update(status=ImportStatus.QUEUED)  # "confirm"
    status = csv_import_run_task(organization_id=org.pk, csv_import_id=imp.pk)
    t3 = time.perf_counter()
    with tenant_context(org):
        imp = CsvImport.objects.get(pk=imp.pk)
        imp.file.delete(save=False)
    return {
        "status": status,
        "rows": imp.total_rows,
        "created": imp.created,
        "duplicates": imp.duplicates,
        "store_s": t1 - t0,
        "check_s": t2 - t1,
        "import_s": t3 - t2,
        "rss_check_mib": rss_check,
        "rss_mib": _peak_rss_mib(),
    }


def child_drf(path: str, limit: int) -> dict:
    org = _child_setup()
    from rest_framework import serializers

    from coachhub.tenancy.context import tenant_context
    from coachhub.tenancy.models import Membership
    from feedback.models import Interaction

    class InteractionSerializer(serializers.ModelSerializer):
        agent_id = serializers.IntegerField()
        team_id = serializers.IntegerField(allow_null=True)

        class Meta:
            model = Interaction
            fields = [
                "external_id",
                "source",
                "channel",
                "customer_name",
                "customer_email",
                "customer_language",
                "agent_id",
                "team_id",
                "occurred_at",
                "local_day",
                "tags",
                "properties",
                "ticket_url",
            ]
            validators: list = []  # the unique constraint is the database's business here

    tz = org.tz
    batch, done = [], 0
    started = time.perf_counter()
    with tenant_context(org):
        agents = {
            m.user.email.lower(): (m.pk, m.team_id)
            for m in Membership.objects.filter(organization=org).select_related("user")
        }

        def flush(batch):
            s = InteractionSerializer(data=batch, many=True)
            s.is_valid(raise_exception=True)
            Interaction.objects.bulk_create(
                [Interaction(organization=org, **item) for item in s.validated_data],
                batch_size=1000,
            )

        with open(path, newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                agent_id, team_id = agents[r["agent_email"]]
                occurred = datetime.fromisoformat(r["occurred_at"])
                batch.append(
                    {
                        # Its own keys, not ones next to the import's: see DRF_PREFIX.
                        "external_id": DRF_PREFIX + r["external_id"],
                        "source": "drf-baseline",
                        "channel": r["channel"],
                        "customer_name": r["customer_name"],
                        "customer_email": DRF_PREFIX + r["customer_email"],
                        "customer_language": r["customer_language"],
                        "agent_id": agent_id,
                        "team_id": team_id,
                        "occurred_at": r["occurred_at"],
                        "local_day": occurred.astimezone(tz).date().isoformat(),
                        "tags": [t for t in r["tags"].split(";") if t],
                        "properties": {"order_id": r["property:order_id"]},
                        "ticket_url": r["ticket_url"],
                    }
                )
                done += 1
                if len(batch) == 1000:
                    flush(batch)
                    batch = []
                if done >= limit:
                    break
            if batch:
                flush(batch)
    seconds = time.perf_counter() - started
    return {"rows": done, "seconds": seconds, "rss_mib": _peak_rss_mib()}


def _child(ctx, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        cwd=ROOT,
        env=ctx.env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        from bench.harness import BenchFailed

        raise BenchFailed(f"{args[0]} child failed:\n{(done.stdout + done.stderr)[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the benchmark ------------------------------------------------------------------------


def _copy_rows(path: Path, n: int, org_id: int, agents: dict) -> list[tuple]:
    import uuid

    rows = []
    now = datetime.now(UTC).isoformat()
    with open(path, newline="", encoding="utf-8") as f:
        for i, r in enumerate(csv.DictReader(f)):
            if i >= n:
                break
            agent_id, team_id = agents[r["agent_email"]]
            tags = "{" + ",".join(t for t in r["tags"].split(";") if t) + "}"
            rows.append(
                (
                    str(uuid.uuid4()), org_id, r["external_id"], "copy", "live", r["channel"],
                    r["customer_name"], r["customer_email"], "-", r["customer_language"],
                    agent_id, team_id if team_id is not None else "", r["occurred_at"],
                    r["occurred_at"][:10], tags, json.dumps({"order_id": r["property:order_id"]}),
                    r["ticket_url"], "false", now,
                )
            )  # fmt: skip
    return rows


COPY_COLUMNS = [
    "public_id", "organization_id", "external_id", "source", "mode", "channel", "customer_name",
    "customer_email", "customer_phone", "customer_language", "agent_id", "team_id",
    "occurred_at", "local_day", "tags", "properties", "ticket_url", "do_not_send", "created_at",
]  # fmt: skip


def _clear(ctx, org_id: int) -> None:
    """The bench DB persists: drop this benchmark's rows from earlier runs.

    As the owner, inside the organization's context: the tables FORCE row-level security, so
    without it the owner's DELETEs saw no row and deleted nothing (every run's million rows
    stayed, and each run imported into a bigger database than the last)."""
    from bench.harness import BenchFailed

    conn = ctx.owner_connection()
    try:
        with conn.cursor() as cur:
            # Deleting an interaction checks that no feedback request names it, by
            # interaction_id alone: without an index on it (the app never deletes
            # interactions, and keeps none) each check read the whole request table.
            # One exists for the length of the delete.
            cur.execute(
                "CREATE INDEX IF NOT EXISTS bench_csv_clear_request_interaction "
                "ON feedback_feedbackrequest (interaction_id)"
            )
            cur.execute("SELECT set_config('app.current_org', %s, false)", [str(org_id)])
            for table in (
                "feedback_feedbackrequest",
                "feedback_dailyrollup",
                "feedback_interaction",
                "feedback_csvimport",
            ):
                cur.execute(f"DELETE FROM {table} WHERE organization_id = %s", [org_id])  # noqa: S608
            cur.execute(
                "SELECT count(*) FROM feedback_interaction WHERE organization_id = %s", [org_id]
            )
            left = cur.fetchone()[0]
            cur.execute("DROP INDEX bench_csv_clear_request_interaction")
    finally:
        conn.close()
    if left:
        raise BenchFailed(f"csv: {left} interactions of the bench organization were not deleted")
    ctx.owner_sql(
        "VACUUM ANALYZE feedback_interaction, feedback_feedbackrequest, feedback_dailyrollup"
    )


def run(ctx):
    from bench.harness import BenchFailed, Row, note

    seed = ctx.seed_organization(SLUG, agents=AGENTS)
    org = seed["organization"]
    from coachhub.tenancy.context import tenant_context
    from coachhub.tenancy.models import Membership

    with tenant_context(org):
        agents = {
            m.user.email.lower(): (m.pk, m.team_id)
            for m in Membership.objects.filter(organization=org).select_related("user")
        }
    _clear(ctx, org.pk)
    tmp = Path(tempfile.mkdtemp(prefix="coachhub-bench-csv-"))
    path = tmp / "interactions.csv"
    size = write_csv(path, ROWS, ctx.run_id, seed["agent_emails"])
    note(f"csv: wrote {ROWS} rows ({size / 2**20:.0f} MiB) to {path}")
    try:
        note("csv: check + import (child process)")
        imp = _child(ctx, "import", str(path))
        if imp.get("status") != "done" or imp.get("created") != ROWS:
            raise BenchFailed(f"CSV import did not complete: {imp}")
        note(f"csv: {imp}")
        _clear(ctx, org.pk)  # the baseline starts from the same (empty) table as the import
        note(f"csv: DRF baseline on {min(BASELINE_ROWS, ROWS)} of the same rows (child process)")
        drf = _child(ctx, "drf", str(path), str(BASELINE_ROWS))
        note(f"csv: {drf}")
        copy_rps = ctx.measure_copy(
            "feedback_interaction", COPY_COLUMNS, _copy_rows(path, COPY_ROWS, org.pk, agents)
        )
    finally:
        path.unlink(missing_ok=True)
        tmp.rmdir()
        _clear(ctx, org.pk)
    import_rps = imp["rows"] / imp["import_s"]
    check_rps = imp["rows"] / imp["check_s"]
    drf_rps = drf["rows"] / drf["seconds"]
    total_s = imp["check_s"] + imp["import_s"]
    return [
        Row(f"CSV import rows/s ({ROWS:,} rows, one transaction)", import_rps, "rows/s", drf_rps,
            min_ratio=3.0),
        Row("CSV import rows/s vs raw COPY (the limit)", import_rps, "rows/s", copy_rps),
        Row("CSV check rows/s (preview + every row error)", check_rps, "rows/s", drf_rps),
        Row("CSV check + import rows/s (end to end)", imp["rows"] / total_s, "rows/s", drf_rps),
        Row(f"CSV check + import wall time ({ROWS:,} rows)", total_s, "s",
            ROWS / drf_rps, "s (DRF baseline at its rate)"),
        Row("CSV import peak RSS", imp["rss_mib"], "MiB", drf["rss_mib"],
            f"MiB (DRF baseline, {drf['rows']:,} rows)"),
        Row("CSV upload store time (copy into MEDIA_ROOT)", imp["store_s"], "s", total_s, "s"),
    ]  # fmt: skip


if __name__ == "__main__":
    kind, *rest = sys.argv[1:]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coachhub.settings")
    if kind == "import":
        out = child_import(rest[0])
    elif kind == "drf":
        out = child_drf(rest[0], int(rest[1]))
    else:
        raise SystemExit(f"unknown child {kind!r}")
    print(json.dumps(out))
