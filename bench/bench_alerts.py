"""``make bench B=alerts``: rating → alert visible, with one Celery worker as deployed.

1. Latency at a sustained rate: ratings at 50/s for 60 s (``BENCH_ALERTS_RATE`` /
   ``BENCH_ALERTS_SECONDS``), each through the real service (``survey_answer_record``: the
   response, its rollup, the ``response.answered`` event and its outbox delivery row, the
   doorbell on commit). Every rating is 1-star, so the default rule raises an alert for each
   (the worker's consumer: rules, the alert, inbox rows, ``alert.created``). A poller thread
   sees each alert appear (a query every 10 ms); latency = seen − the rating's commit.
   Baseline, same worker, same run, same rate: a bare Celery task round trip (enqueue → the
   worker runs a task that RPUSHes a marker to Redis → the poller sees it).
2. Throughput: a burst of ratings committed with their doorbells held, then every doorbell rung
   at once and drained by the worker (alerts/s), against a burst of the same number of bare
   tasks (tasks/s). The ratio is what the pipeline costs over
   Celery's own round trip.
3. Worker CPU (user + system of the worker's process group, from /proc) per rating in phase 1
   and per alert in the burst, against the same per bare task: the cost that decides how many
   ratings/s one worker sustains, and much less sensitive to a busy machine than wall time.

Goal: rating → alert visible p99 ≤ 1 s at 50 ratings/s (issue 6).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import timedelta

from bench.harness import BenchFailed, Context, Row, note

SLUG = "benchalerts"
AGENTS = 20
RATE = float(os.environ.get("BENCH_ALERTS_RATE", 50))
SECONDS = float(os.environ.get("BENCH_ALERTS_SECONDS", 60))
BASELINE_SECONDS = float(os.environ.get("BENCH_ALERTS_BASELINE_SECONDS", 20))
BURST = int(os.environ.get("BENCH_ALERTS_BURST", 600))
TARGET_P99_MS = 1000.0
MARKERS = "bench:alerts:roundtrip"
LOOKBACK = 200  # alert ids behind the highest seen that may still commit


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def _open_requests(org, n: int) -> list:
    """``n`` sent, unanswered surveys of the org's agents (rows only: no e-mail, no doorbell)."""
    from django.utils import timezone

    from coachhub.tenancy.context import tenant_context
    from feedback.models import FeedbackRequest, RequestStatus, SurveyState
    from feedback.services.ingest import interactions_ingest

    run = uuid.uuid4().hex[:10]
    pks: list[int] = []
    for start in range(0, n, 1000):
        items = [
            {
                "external_id": f"BA-{run}-{i}",
                "channel": "chat",
                "agent": {"email": f"agent{1 + i % AGENTS}@{SLUG}.bench.example"},
                "customer": {"name": f"Customer {i}", "email": f"ba-{run}-{i}@example.com"},
                "do_not_send": True,
            }
            for i in range(start, min(n, start + 1000))
        ]
        with tenant_context(org):
            pks += interactions_ingest(org, items).pks
    now = timezone.now()
    with tenant_context(org):
        qs = FeedbackRequest.objects.filter(organization_id=org.pk, interaction_id__in=pks)
        qs.update(
            status=RequestStatus.SENT,
            survey_state=SurveyState.SENT,
            sent_at=now,
            expires_at=now + timedelta(days=14),
        )
        return list(qs.select_related("organization", "interaction").order_by("id"))


class AlertPoller(threading.Thread):
    """Sees alerts appear: ``seen[response_id] = monotonic time``."""

    def __init__(self, runtime_url: str, org_id: int, since_id: int):
        super().__init__(daemon=True)
        self.url, self.org_id, self.last_id = runtime_url, org_id, since_id
        self.seen: dict[int, float] = {}
        self.stop_flag = threading.Event()

    def run(self):
        import psycopg2

        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT set_config('app.current_org', %s, false)", [str(self.org_id)])
            while not self.stop_flag.is_set():
                # Ids are assigned at INSERT and become visible at COMMIT, so a smaller id can
                # appear after a larger one: look back a little behind the highest seen.
                cur.execute(
                    "SELECT id, response_id FROM coaching_alert"
                    " WHERE organization_id = %s AND id > %s ORDER BY id",
                    [self.org_id, self.last_id - LOOKBACK],
                )
                now = time.monotonic()
                for alert_id, response_id in cur.fetchall():
                    self.seen.setdefault(response_id, now)
                    self.last_id = max(self.last_id, alert_id)
                time.sleep(0.01)
        conn.close()


class MarkerPoller(threading.Thread):
    def __init__(self, redis_url: str, key: str):
        super().__init__(daemon=True)
        import redis

        self.r = redis.Redis.from_url(redis_url)
        self.key = key
        self.seen: dict[str, float] = {}
        self.stop_flag = threading.Event()

    def run(self):
        while not self.stop_flag.is_set():
            items = self.r.lrange(self.key, 0, -1)
            if items:
                self.r.ltrim(self.key, len(items), -1)
            now = time.monotonic()
            for raw in items:
                self.seen.setdefault(raw.decode(), now)
            time.sleep(0.01)


def _group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group (the
    worker: its main process and its pool children, which live as long as it does)."""
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # from field 3 (state) on
        if int(fields[2]) == pgid:  # field 5: process group
            ticks += int(fields[11]) + int(fields[12])  # fields 14, 15: utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _paced(n_per_s: float, seconds: float, fire) -> int:
    """Call ``fire(i)`` at a steady rate; returns how many were fired."""
    interval = 1.0 / n_per_s
    start = time.monotonic()
    i = 0
    while True:
        due = start + i * interval
        now = time.monotonic()
        if due - start >= seconds:
            return i
        if due > now:
            time.sleep(due - now)
        fire(i)
        i += 1


def _wait_idle(pgid: int, timeout: float = 60) -> None:
    """Until the worker's CPU use stays flat for half a second (its queue is empty)."""
    deadline = time.monotonic() + timeout
    last = _group_cpu(pgid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = _group_cpu(pgid)
        if now - last < 0.02:
            return
        last = now


def _wait_all(seen: dict, keys, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    keys = list(keys)
    while time.monotonic() < deadline:
        if all(k in seen for k in keys):
            return
        time.sleep(0.05)
    missing = [k for k in keys if k not in seen]
    raise BenchFailed(f"{len(missing)} of {len(keys)} never became visible within {timeout} s")


def run(ctx: Context) -> list[Row]:
    seed = ctx.seed_organization(SLUG, agents=AGENTS)
    org = seed["organization"]
    from django.conf import settings

    from coachhub.celery import app
    from coachhub.core import outbox
    from coachhub.core.tasks import delivery_run_task
    from coachhub.tenancy.context import tenant_context
    from coaching.models import Alert
    from coaching.services.defaults import coaching_defaults
    from feedback.services.survey import survey_answer_record

    with tenant_context(org):
        coaching_defaults(org)  # an organization made before coaching existed gets them now
        last_alert = (
            Alert.objects.filter(organization=org)
            .order_by("-id")
            .values_list("id", flat=True)
            .first()
            or 0
        )

    # A queue of its own: other benchmarks of this checkout may run at the same time, and their
    # worker must not take (or delay) ours. The doorbells rung in this process follow
    # task_default_queue.
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-alerts"
    saved_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    worker = ctx.worker(extra_env={"CELERY_QUEUE": queue})
    note(f"preparing {int(RATE * SECONDS) + BURST + 50} open surveys")
    requests = _open_requests(org, int(RATE * SECONDS) + BURST + 50)
    poller = AlertPoller(ctx.runtime_url, org.pk, last_alert)
    markers = MarkerPoller(settings.REDIS_URL, settings.REDIS_KEY_PREFIX + ":" + MARKERS)
    poller.start()
    markers.start()
    committed: dict[int, float] = {}
    it = iter(requests)

    def rate_one(_i):
        fr = next(it)
        with tenant_context(org):
            response = survey_answer_record(fr, stars=1)
        committed[response.pk] = time.monotonic()

    def task_one(i):
        marker = f"{ctx.run_id}-{i}-{uuid.uuid4().hex[:6]}"
        committed_tasks[marker] = time.monotonic()
        app.send_task(
            "bench.roundtrip",
            kwargs={"key": MARKERS, "marker": marker},
            queue=queue,
        )

    committed_tasks: dict[str, float] = {}
    try:
        # Warm-up: the worker's first tasks import modules and open connections.
        _paced(RATE, 1.0, rate_one)
        _paced(RATE, 1.0, task_one)
        _wait_all(poller.seen, list(committed), 90)
        _wait_all(markers.seen, list(committed_tasks), 90)
        committed.clear()
        committed_tasks.clear()

        note(f"latency: {RATE:g} ratings/s for {SECONDS:g} s")
        pgid = worker.proc.pid
        cpu0 = _group_cpu(pgid)
        fired = _paced(RATE, SECONDS, rate_one)
        # A worker that falls behind drains its backlog here: the tail shows in p99/max.
        _wait_all(poller.seen, list(committed), 300)
        cpu_rating = 1000 * (_group_cpu(pgid) - cpu0) / len(committed)
        ctx.check_alive()
        lat = [1000 * (poller.seen[k] - t) for k, t in committed.items()]
        achieved = fired / SECONDS
        note(f"baseline: bare Celery round trips at {RATE:g}/s for {BASELINE_SECONDS:g} s")
        cpu0 = _group_cpu(pgid)
        _paced(RATE, BASELINE_SECONDS, task_one)
        _wait_all(markers.seen, list(committed_tasks), 60)
        cpu_task = 1000 * (_group_cpu(pgid) - cpu0) / len(committed_tasks)
        base = [1000 * (markers.seen[k] - t) for k, t in committed_tasks.items()]
        note(
            f"latency p50/p99/max {pct(lat, 50):.0f}/{pct(lat, 99):.0f}/{max(lat):.0f} ms;"
            f" bare Celery p50/p99 {pct(base, 50):.0f}/{pct(base, 99):.0f} ms;"
            f" worker CPU {cpu_rating:.1f} ms/rating vs {cpu_task:.1f} ms/bare task"
        )

        note(f"throughput: a burst of {BURST} ratings, then {BURST} bare tasks")
        # The ratings are committed first with their doorbells held back, then every doorbell
        # rings at once: the drain measures the worker, not this process writing ratings.
        committed.clear()
        held: list[tuple[int, int, float]] = []
        real_enqueue = outbox._enqueue_on_commit
        outbox._enqueue_on_commit = lambda org_id, delivery_id, countdown=0: held.append(
            (org_id, delivery_id, countdown)
        )
        try:
            for _ in range(BURST):
                rate_one(0)
        finally:
            outbox._enqueue_on_commit = real_enqueue
        cpu0 = _group_cpu(pgid)
        t0 = time.monotonic()
        for org_id, delivery_id, _countdown in held:
            delivery_run_task.apply_async(
                kwargs={"organization_id": org_id, "delivery_id": delivery_id}
            )
        _wait_all(poller.seen, list(committed), 300)
        pipeline_rps = BURST / (max(poller.seen[k] for k in committed) - t0)
        # Every doorbell has been taken once the alerts are visible only if none is queued: let
        # the tail of (no-op) doorbells finish before reading the CPU.
        _wait_idle(pgid)
        cpu_alert = 1000 * (_group_cpu(pgid) - cpu0) / BURST
        committed_tasks.clear()
        cpu0 = _group_cpu(pgid)
        t0 = time.monotonic()
        for i in range(BURST):
            task_one(i)
        try:
            _wait_all(markers.seen, list(committed_tasks), 120)
        except BenchFailed as exc:  # report what arrived rather than nothing
            note(f"bare-task burst incomplete: {exc}")
        done = [markers.seen[k] for k in committed_tasks if k in markers.seen]
        celery_rps = len(done) / (max(done) - t0) if done else None
        cpu_burst_task = 1000 * (_group_cpu(pgid) - cpu0) / max(1, len(done))
        note(
            f"burst: {pipeline_rps:.1f} alerts/s vs {celery_rps or 0:.1f} bare tasks/s; worker"
            f" CPU {cpu_alert:.1f} ms/alert vs {cpu_burst_task:.1f} ms/bare task"
        )
        ctx.check_alive()
    finally:
        poller.stop_flag.set()
        markers.stop_flag.set()
        app.conf.task_default_queue = saved_queue
    if not worker.alive():
        raise BenchFailed("the worker died")
    p50, p99 = pct(lat, 50), pct(lat, 99)
    return [
        Row("ratings/s sustained (target rate)", achieved, "ratings/s", RATE, min_ratio=0.95),
        Row("rating → alert visible p50 (vs bare Celery round trip p50)", p50, "ms", pct(base, 50)),
        Row("rating → alert visible p99 (vs bare Celery round trip p99)", p99, "ms", pct(base, 99)),
        Row("rating → alert visible max", max(lat), "ms", max(base)),
        Row(
            "rating → alert visible p99 (vs the 1 s target)",
            p99,
            "ms",
            TARGET_P99_MS,
            max_ratio=1.0,
        ),
        Row(
            "pipeline throughput, burst drain (vs bare Celery tasks/s)",
            pipeline_rps,
            "alerts/s",
            celery_rps,
            baseline_unit="tasks/s",
        ),
        Row(
            "worker CPU per rating at the sustained rate (vs per bare task)",
            cpu_rating,
            "ms",
            cpu_task,
        ),
        Row(
            "worker CPU per alert, burst drain (vs per bare task)", cpu_alert, "ms", cpu_burst_task
        ),
    ]
