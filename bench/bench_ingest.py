"""``make bench B=ingest``: single-interaction ``POST /api/v1/interactions/`` against the bare
DRF validate+INSERT baseline, measured in the same run on the same gunicorn (the Procfile's
``web`` command, same middleware), with a Celery worker running as deployed (the Procfile's
``worker`` line: the survey sender's doorbells are really rung and handled).

Every request is a new interaction (unique ``external_id`` and customer address, so each one is
validated, inserted with its feedback request, scheduled and rolled up); any non-2xx answer
fails the run, and the stored rows are counted afterwards. The two load runs alternate
(``--rounds``) so drift on the shared cores hits both. Goal: ≥ 60 % of the baseline's req/s.

The worker e-mails every scheduled survey while the ingest load runs (its CPU is part of the
ingest figure, as deployed); after each ingest run the benchmark waits until the survey drain
has caught up, so the next baseline run does not share the cores with ingest's leftover work.
Leftover doorbells of earlier runs are dropped before the worker starts.

``BENCH_INGEST_SEND_DELAY_MINUTES`` (unset: the organization's setting, default 0) sets the
bench organization's survey send delay for the run: above 10 minutes no doorbell rings and no
e-mail goes out during the run (the ingest path alone, the worker idle).
"""

from __future__ import annotations

import os
import time

from bench.bench_baseline import measure_drf_insert_baseline
from bench.harness import BenchFailed, Context, Row, note

SLUG = "benchingest"
AGENTS = 20
PATH = "/api/v1/interactions/"
TABLES = "feedback_interaction, feedback_feedbackrequest, feedback_dailyrollup"


def body_template(slug: str) -> str:
    return (
        '{"external_id": "BI-{{seq}}", "channel": "email", '
        f'"agent": {{"email": "agent{{{{rand:1:{AGENTS}}}}}@{slug}.bench.example"}}, '
        '"customer": {"name": "Customer {{n}}", "email": "c-{{seq}}@example.com", '
        '"language": "en"}, '
        '"tags": ["billing"], "properties": {"order_id": "A-{{n}}"}, '
        '"ticket_url": "https://helpdesk.example/tickets/{{n}}"}'
    )


def _stored(org, run_id: str) -> int:
    from coachhub.tenancy.context import tenant_context
    from feedback.models import FeedbackRequest, Interaction

    with tenant_context(org):
        mine = Interaction.objects.filter(organization=org, external_id__startswith=f"BI-{run_id}")
        interactions = mine.count()
        # One statement, one snapshot: every stored interaction has its feedback request.
        orphans = mine.exclude(
            pk__in=FeedbackRequest.objects.filter(organization=org, kind="initial").values(
                "interaction_id"
            )
        ).count()
    if orphans:
        raise BenchFailed(f"{orphans} of {interactions} interactions have no feedback request")
    return interactions


def _drain_state(org_id: int) -> tuple[int, bool]:
    """(rings waiting, drain armed) of the organization's survey doorbell."""
    from coachhub.core.redisclient import redis_client
    from feedback.services.survey import _drain_keys

    ids_key, armed_key = _drain_keys(org_id)
    client = redis_client()
    return client.llen(ids_key), bool(client.exists(armed_key))


def _forget_doorbells() -> None:
    """Earlier runs' rings, of every organization (their requests stay pending, as after a lost
    doorbell), and the drain tasks they left on the bench queue. Other benchmarks ring too
    (`bulk`'s HTTP part leaves ~0.4 M requests rung and no worker to send them): a worker
    started here would e-mail that backlog on both cores while this one measures."""
    from coachhub.celery import app
    from coachhub.core.redisclient import redis_client
    from feedback.services.survey import _drain_prefix

    client = redis_client()
    keys = list(client.scan_iter(match=f"{_drain_prefix()}:*", count=1000))
    if keys:
        client.delete(*keys)
    dropped = app.control.purge()
    if keys or dropped:
        note(f"ingest: dropped {len(keys)} doorbell keys, {dropped} queued tasks of earlier runs")


def _wait_for_drain(org_id: int, timeout: float = 300) -> float:
    started = time.monotonic()
    while any(_drain_state(org_id)):
        if time.monotonic() - started > timeout:
            raise BenchFailed(f"the survey drain did not catch up within {timeout:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - started


def run(ctx: Context) -> list[Row]:
    seed = ctx.seed_organization(SLUG, agents=AGENTS)
    # This machine's Postgres runs with autovacuum off: bring statistics up to date as
    # autovacuum would in production, after earlier runs (and other benchmarks) added rows.
    ctx.owner_sql(f"ANALYZE {TABLES}")
    org = seed["organization"]
    delay = os.environ.get("BENCH_INGEST_SEND_DELAY_MINUTES")
    settings = dict(org.settings or {})
    settings.pop("send_delay_minutes", None)
    if delay is not None:
        settings["send_delay_minutes"] = int(delay)
        note(f"ingest: survey send delay {int(delay)} min for this run")
    if settings != (org.settings or {}):
        org.settings = settings
        org.save(update_fields=["settings"])
    _forget_doorbells()
    ctx.worker()  # as deployed: the survey sender's tasks run while we load
    server = ctx.server()
    headers = {"Authorization": f"Bearer {seed['api_key']}"}
    body = body_template(SLUG)
    answered = {"n": 0}

    def analyze():
        # As autovacuum would between rounds (it is off on this machine): plans made from the
        # statistics of nearly empty tables (a fresh bench database) turned every suppression
        # check into a scan of the growing tables (18 ms of Postgres per request).
        ctx.owner_sql(f"ANALYZE {TABLES}")

    # The owner sees no rows (the tables FORCE row-level security): ANALYZE's estimate counts.
    rows = ctx.owner_sql("SELECT reltuples FROM pg_class WHERE relname = 'feedback_interaction'")
    if rows[0][0] < 20_000:
        note("ingest: priming a fresh bench database (5 s of ingest, not measured), then ANALYZE")
        ctx.load(
            PATH, method="POST", bodies=[body], headers=headers, server=server, duration=5,
            warmup=0, label=f"POST {PATH} priming",
        )  # fmt: skip
        _wait_for_drain(org.pk)

    def ingest():
        analyze()
        result = ctx.load(
            PATH, method="POST", bodies=[body], headers=headers, server=server,
            label=f"POST {PATH}",
        )  # fmt: skip
        answered["n"] += result.requests
        waited = _wait_for_drain(org.pk)
        note(f"ingest: the survey drain caught up {waited:.1f} s after the load")
        return result

    results = ctx.alternate(
        {"baseline": lambda: measure_drf_insert_baseline(ctx), "ingest": ingest}
    )
    base, ours = results["baseline"], results["ingest"]
    stored = _stored(org, ctx.run_id)
    # Warm-up requests are stored too; every measured 2xx answer must have left its rows.
    if stored < answered["n"]:
        raise BenchFailed(f"{answered['n']} answers but only {stored} interactions stored")
    note(f"ingest: {stored} interactions stored with their feedback requests")
    return [
        Row("single ingest req/s (vs bare DRF insert)", ours.rps, "req/s", base.rps,
            min_ratio=0.6),
        Row("single ingest p50 (vs bare DRF insert)", ours.p50_ms, "ms", base.p50_ms),
        Row("single ingest p99 (vs bare DRF insert)", ours.p99_ms, "ms", base.p99_ms),
    ]  # fmt: skip
