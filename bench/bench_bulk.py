"""``make bench B=bulk``: bulk ingestion rows/s against DRF and against a raw COPY.

Figures, all on the same rows (1,000-item batches, the bulk API's limit; every row a new
interaction of one of 50 agents, live, schedulable), measured in this run:

* ``interactions_ingest`` (what ``POST /api/v1/interactions/bulk/`` runs after JSON parsing:
  validation, agent resolution, idempotent INSERT, feedback request with its delivery status,
  suppression, rollups; one transaction per batch, under RLS as the runtime role) vs a DRF
  baseline: ``ModelSerializer(many=True)`` + ``bulk_create`` of the same rows into the same
  table, agents already resolved (a generous baseline: no lookups, no feedback request, no
  rollup). Batches alternate between the two so drift hits both; one batch of each runs
  first untimed (a process's first call prepares statements, fills the new connection's
  catalogue caches, connects to the broker: the HTTP loads have their warm-up too).
  Goal ≥ 3×.
* the same vs a raw ``COPY`` of the same rows into a copy of the table (the limit).
* end to end over HTTP: ``POST /api/v1/interactions/bulk/`` with 1,000 items per request on the
  deployed gunicorn (wrk), vs the stack's bare DRF bulk endpoint (5-field rows, 1,000 per request).

Environment: ``BENCH_BULK_BATCHES`` (default 8 per side, times ``--rounds``).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench.harness import BenchFailed, Context, Row, note

SLUG = "benchbulk"
AGENTS = 50
BATCH = 1000
BATCHES = int(os.environ.get("BENCH_BULK_BATCHES", 8))
CHANNELS = ["email", "phone", "chat", "sms", "social"]


def api_items(tag: str, n: int, emails: list[str]) -> list[dict]:
    start = datetime.now(UTC) - timedelta(days=2)
    return [
        {
            "external_id": f"BB-{tag}-{i}",
            "channel": CHANNELS[i % 5],
            "agent": {"email": emails[i % len(emails)]},
            "customer": {
                "name": f"Customer {i}",
                "email": f"bb-{tag}-{i}@example.com",
                "language": "en" if i % 3 else "es",
            },
            "occurred_at": (start + timedelta(seconds=7 * i)).isoformat(),
            "tags": ["billing", "vip"] if i % 2 else ["shipping"],
            "properties": {"order_id": f"A-{i}"},
            "ticket_url": f"https://helpdesk.example/tickets/{i}",
        }
        for i in range(n)
    ]


def flat_rows(items: list[dict], agents: dict, tz) -> list[dict]:
    """The same rows as model fields, agents resolved (what the DRF baseline validates)."""
    rows = []
    for it in items:
        agent_id, team_id = agents[it["agent"]["email"]]
        occurred = datetime.fromisoformat(it["occurred_at"])
        rows.append(
            {
                "external_id": it["external_id"],
                "source": "drf-baseline",
                "channel": it["channel"],
                "customer_name": it["customer"]["name"],
                "customer_email": it["customer"]["email"],
                "customer_language": it["customer"]["language"],
                "agent_id": agent_id,
                "team_id": team_id,
                "occurred_at": it["occurred_at"],
                "local_day": occurred.astimezone(tz).date().isoformat(),
                "tags": it["tags"],
                "properties": it["properties"],
                "ticket_url": it["ticket_url"],
            }
        )
    return rows


def _drf_serializer():
    from rest_framework import serializers

    from feedback.models import Interaction

    class InteractionSerializer(serializers.ModelSerializer):
        agent_id = serializers.IntegerField()
        team_id = serializers.IntegerField(allow_null=True)

        class Meta:
            model = Interaction
            fields = [
                "external_id", "source", "channel", "customer_name", "customer_email",
                "customer_language", "agent_id", "team_id", "occurred_at", "local_day", "tags",
                "properties", "ticket_url",
            ]  # fmt: skip
            validators: list = []  # the unique constraint is the database's business here

    return InteractionSerializer


COPY_COLUMNS = [
    "public_id", "organization_id", "external_id", "source", "mode", "channel", "customer_name",
    "customer_email", "customer_phone", "customer_language", "agent_id", "team_id",
    "occurred_at", "local_day", "tags", "properties", "ticket_url", "do_not_send", "created_at",
]  # fmt: skip


def copy_rows(rows: list[dict], org_id: int) -> list[tuple]:
    now = datetime.now(UTC).isoformat()
    return [
        (
            str(uuid.uuid4()), org_id, r["external_id"], "copy", "live", r["channel"],
            r["customer_name"], r["customer_email"], "-", r["customer_language"], r["agent_id"],
            "" if r["team_id"] is None else r["team_id"], r["occurred_at"], r["local_day"],
            "{" + ",".join(r["tags"]) + "}", json.dumps(r["properties"]), r["ticket_url"],
            "false", now,
        )
        for r in rows
    ]  # fmt: skip


def run(ctx: Context) -> list[Row]:
    from bench.bench_baseline import measure_drf_bulk_baseline

    seed = ctx.seed_organization(SLUG, agents=AGENTS)
    # This machine's Postgres runs with autovacuum off: bring statistics up to date as
    # autovacuum would in production, after earlier runs (and other benchmarks) added rows.
    ctx.owner_sql("ANALYZE feedback_interaction, feedback_feedbackrequest, feedback_dailyrollup")
    org = seed["organization"]
    from django.db import connection

    from coachhub.tenancy.context import tenant_context
    from coachhub.tenancy.models import Membership
    from feedback.models import Interaction
    from feedback.services.ingest import interactions_ingest

    with tenant_context(org):
        agents = {
            m.user.email.lower(): (m.pk, m.team_id)
            for m in Membership.objects.filter(organization=org).select_related("user")
        }
    serializer_class = _drf_serializer()
    tag = f"{ctx.run_id}-{time.monotonic_ns() % 10**6}"
    ours_s = drf_s = 0.0
    ours_rows = drf_rows = 0
    first_rows: list[dict] = []
    # Rows are never deleted afterwards: every run uses new external ids, and deleting
    # interactions is slow by design (each row's foreign-key checks scan the referencing tables,
    # whose indexes lead with organization_id).
    for b in range(-1, BATCHES * ctx.rounds):  # batch -1: the warm-up, not counted
        items = api_items(f"{tag}-{b}", BATCH, seed["agent_emails"])
        rows = flat_rows(items, agents, org.tz)
        for r in rows:
            # Its own keys, not ones next to ours (in the same index pages ours just warmed).
            r["external_id"] = "drf-" + r["external_id"]
            r["customer_email"] = "drf-" + r["customer_email"]
        first_rows = first_rows or (rows if b >= 0 else [])
        t0 = time.perf_counter()
        with tenant_context(org):
            result = interactions_ingest(org, items)
        t1 = time.perf_counter()
        if result.created != BATCH:
            raise BenchFailed(f"batch {b}: {result.created} created, {BATCH} expected")
        with tenant_context(org):
            s = serializer_class(data=rows, many=True)
            s.is_valid(raise_exception=True)
            Interaction.objects.bulk_create(
                [Interaction(organization=org, **item) for item in s.validated_data],
                batch_size=BATCH,
            )
        t2 = time.perf_counter()
        if b < 0:
            continue
        ours_s += t1 - t0
        drf_s += t2 - t1
        ours_rows += BATCH
        drf_rows += BATCH
    connection.close()
    ours_rps, drf_rps = ours_rows / ours_s, drf_rows / drf_s
    note(f"bulk in-process: ours {ours_rps:.0f} rows/s, DRF {drf_rps:.0f} rows/s")
    copy_rps = ctx.measure_copy("feedback_interaction", COPY_COLUMNS, copy_rows(first_rows, org.pk))
    note(f"bulk: raw COPY {copy_rps:.0f} rows/s")

    # End to end over HTTP on the deployed server.
    body = json.dumps(
        {"interactions": api_items("{{seq}}", BATCH, seed["agent_emails"])},
        separators=(",", ":"),
    )
    headers = {"Authorization": f"Bearer {seed['api_key']}"}
    http = ctx.alternate(
        {
            "api": lambda: ctx.load(
                "/api/v1/interactions/bulk/", method="POST", bodies=[body], headers=headers,
                connections=2, warmup=6, label="POST /api/v1/interactions/bulk/ x1000",
            ),
            "drf": lambda: measure_drf_bulk_baseline(
                ctx, rows_per_request=BATCH, connections=2
            )[0],
        }
    )  # fmt: skip
    api_rps, drf_http_rps = http["api"].rps * BATCH, http["drf"].rps * BATCH
    return [
        Row("bulk ingest rows/s (vs DRF ModelSerializer(many=True)+bulk_create, same rows)",
            ours_rps, "rows/s", drf_rps, min_ratio=3.0),
        Row("bulk ingest rows/s vs raw COPY of the same rows (the limit)", ours_rps, "rows/s",
            copy_rps),
        Row("POST /api/v1/interactions/bulk/ rows/s (vs bare DRF bulk endpoint, 5-field rows)",
            api_rps, "rows/s", drf_http_rps),
        Row("POST /api/v1/interactions/bulk/ p99 per 1,000 (vs bare DRF bulk)", http["api"].p99_ms,
            "ms", http["drf"].p99_ms),
    ]  # fmt: skip
