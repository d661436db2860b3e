"""``make bench B=baseline``: the references every other benchmark compares against.

* plain Django ``JsonResponse`` (no DRF, no database): the ceiling of the stack here;
* bare DRF view validating a 5-field payload with a ModelSerializer and INSERTing one row
  (machine-and-stack-facts.md §4 (b)), served by the same gunicorn and middleware as the app.

Other benchmarks call :func:`measure_drf_insert_baseline` (and :func:`measure_drf_bulk_baseline`)
inside their own run, so their ratios compare figures measured minutes apart on one server.
"""

from __future__ import annotations

import json

from bench.harness import BenchFailed, Context, LoadResult, Row

PLAIN_JSON_PATH = "/bench/plain-json/"
DRF_INSERT_PATH = "/bench/drf-insert/"
DRF_BULK_PATH = "/bench/drf-bulk-insert/"
TABLE = "bench_baseline_review"

# One wrk body template per line; {{seq}} makes every comment unique, {{rand:A:B}} varies ids.
DRF_INSERT_BODY = (
    '{"org_id": {{rand:1:1000}}, "agent_id": {{rand:1:20000}}, "stars": {{rand:1:5}}, '
    '"comment": "great service, thanks #{{seq}}", "source": "web"}'
)


def _count(ctx: Context) -> int:
    return ctx.owner_sql(f"SELECT count(*) FROM {TABLE}")[0][0]


def measure_plain_json(
    ctx: Context, duration: float | None = None, connections: int | None = None
) -> LoadResult:
    """GET a plain Django JsonResponse view on the shared bench server."""
    return ctx.load(
        PLAIN_JSON_PATH, duration=duration, connections=connections, label="plain Django JSON"
    )


def measure_drf_insert_baseline(
    ctx: Context, duration: float | None = None, connections: int | None = None
) -> LoadResult:
    """POST a 5-field payload to the bare DRF validate+INSERT view; every answer must be 2xx
    and every answered request must have left its row (checked by counting)."""
    ctx.owner_sql(f"TRUNCATE {TABLE}")
    result = ctx.load(
        DRF_INSERT_PATH,
        method="POST",
        bodies=[DRF_INSERT_BODY],
        duration=duration,
        connections=connections,
        label="bare DRF insert",
    )
    rows = _count(ctx)
    if rows < result.requests:
        raise BenchFailed(f"bare DRF insert: {result.requests} answers but only {rows} rows")
    return result


def bulk_body(n: int) -> str:
    """A JSON list of ``n`` baseline rows, one line (for the bulk baseline)."""
    items = [
        {
            "org_id": 1 + i % 1000,
            "agent_id": 1 + i % 20000,
            "stars": 1 + i % 5,
            "comment": f"bulk row {i}",
            "source": "web",
        }
        for i in range(n)
    ]
    return json.dumps(items, separators=(",", ":"))


def measure_drf_bulk_baseline(
    ctx: Context,
    rows_per_request: int = 500,
    duration: float | None = None,
    connections: int | None = None,
) -> tuple[LoadResult, float]:
    """DRF ``ModelSerializer(many=True)`` + one ``bulk_create`` per request, on the bare model.

    Returns the load result and rows/s. (Benchmarks that must compare on *their* rows, e.g.
    interactions, build their own variant; this one is the stack's generic reference.)
    """
    ctx.owner_sql(f"TRUNCATE {TABLE}")
    result = ctx.load(
        DRF_BULK_PATH,
        method="POST",
        bodies=[bulk_body(rows_per_request)],
        duration=duration,
        connections=connections,
        label=f"bare DRF bulk insert x{rows_per_request}",
    )
    rows = _count(ctx)
    if rows < result.requests * rows_per_request:
        answered = result.requests * rows_per_request
        raise BenchFailed(f"bare DRF bulk insert: {answered} rows answered, {rows} stored")
    return result, result.rps * rows_per_request


def run(ctx: Context) -> list[Row]:
    medians = ctx.alternate(
        {"plain": lambda: measure_plain_json(ctx), "drf": lambda: measure_drf_insert_baseline(ctx)}
    )
    plain, drf = medians["plain"], medians["drf"]
    # For the baseline run itself the meaningful comparison is DRF+INSERT against the
    # stack's ceiling (plain Django JSON on the same server); the plain rows compare to themselves.
    return [
        Row("plain Django JSON req/s", plain.rps, "req/s", plain.rps),
        Row("plain Django JSON p99", plain.p99_ms, "ms", plain.p99_ms),
        Row("bare DRF validate+insert req/s (vs plain JSON)", drf.rps, "req/s", plain.rps),
        Row("bare DRF validate+insert p50 (vs plain JSON)", drf.p50_ms, "ms", plain.p50_ms),
        Row("bare DRF validate+insert p99 (vs plain JSON)", drf.p99_ms, "ms", plain.p99_ms),
    ]
