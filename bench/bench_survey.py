"""``make bench B=survey``: the customer's answer on the survey page, and the e-mail worker.

1. Survey answers: ``POST /s/<token>/`` as the page's own confirmation request makes it (htmx,
   a CSRF cookie + header like a browser, a random star each time, so the answer changes, the
   rollup moves and ``response.answered`` is recorded), over thousands of different open
   surveys (one link per body line), against the bare DRF validate+INSERT view on the same
   gunicorn in the same run. The per-IP rate limit stays on but high (``SURVEY_RATE_LIMIT_PER_
   MINUTE``): a 429 would fail the run, as would any non-2xx.
2. E-mail worker: a Celery worker as deployed (its own queue and ``EMAIL_URL`` pointing at an
   aiosmtpd sink in its own process) sends N scheduled requests (render HTML+text in the
   customer's language, token, GlobalLookup, SMTP, status, rollup); sends/s counts only rows
   that end ``sent``. Baselines, same sink, same run: Django's ``send_mail`` in a loop (a
   connection per message, as plain ``send_mail`` does) and ``send_messages`` over one
   connection.

Goals are regression floors, not targets: an answer is ~15 statements in one transaction
(token lookup, tenant context, row lock, response, rollup upsert, event + deliveries) against
one INSERT, and a send renders two templates and writes four rows around the SMTP call that is
all the baseline does.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta

from bench.bench_baseline import DRF_INSERT_BODY, DRF_INSERT_PATH, TABLE
from bench.harness import ROOT, BenchFailed, Context, Row, note

SLUG = "benchsurvey"
AGENTS = 20
SURVEYS = 3000
SENDS = 1500
BASELINE_SENDS = 500
CSRF = secrets.token_hex(16)  # a 32-character secret: cookie and header, like a browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _requests(org, n: int, *, email_prefix: str) -> list[int]:
    """``n`` new live interactions of the org's agents; their requests (not yet sent) ids.
    Ingested as do_not_send so no doorbell rings; callers turn them into what they need."""
    from coachhub.tenancy.context import tenant_context
    from feedback.models import FeedbackRequest
    from feedback.services.ingest import interactions_ingest

    run = uuid.uuid4().hex[:10]
    pks: list[int] = []
    for start in range(0, n, 1000):
        items = [
            {
                "external_id": f"BS-{run}-{i}",
                "channel": "email",
                "agent": {"email": f"agent{1 + i % AGENTS}@{SLUG}.bench.example"},
                "customer": {
                    "name": f"Customer {i}",
                    "email": f"{email_prefix}-{run}-{i}@example.com",
                    "language": "es" if i % 4 == 0 else "en",
                },
                "do_not_send": True,
            }
            for i in range(start, min(n, start + 1000))
        ]
        with tenant_context(org):
            pks += interactions_ingest(org, items).pks
    with tenant_context(org):
        return list(
            FeedbackRequest.objects.filter(
                organization_id=org.pk, interaction_id__in=pks
            ).values_list("id", flat=True)
        )


def _open_surveys(org, n: int) -> list[str]:
    """``n`` sent, unanswered surveys; returns their tokens (only the bench knows them)."""
    from django.utils import timezone

    from coachhub.tenancy.context import tenant_context
    from coachhub.tenancy.models import GlobalLookup, LookupKind, sha256_hex
    from feedback.models import FeedbackRequest, RequestStatus, SurveyState
    from feedback.services.survey import token_new

    ids = sorted(_requests(org, n, email_prefix="answer"))
    tokens = [token_new() for _ in ids]
    now = timezone.now()
    with tenant_context(org):
        rows = list(
            FeedbackRequest.objects.filter(organization_id=org.pk, pk__in=ids).order_by("pk")
        )
        for fr, token in zip(rows, tokens, strict=True):
            fr.status, fr.survey_state = RequestStatus.SENT, SurveyState.SENT
            fr.sent_at, fr.expires_at = now, now + timedelta(days=14)
            fr.token_hash = sha256_hex(token)
        FeedbackRequest.objects.bulk_update(
            rows, ["status", "survey_state", "sent_at", "expires_at", "token_hash"]
        )
        GlobalLookup.objects.bulk_create(
            [
                GlobalLookup(
                    kind=LookupKind.SURVEY_TOKEN,
                    digest=sha256_hex(t),
                    organization_id=org.pk,
                    object_id=pk,
                )
                for pk, t in zip(ids, tokens, strict=True)
            ]
        )
    return tokens


def _scheduled(org, n: int) -> list[int]:
    """``n`` requests due now (scheduled/pending), without doorbells: the bench rings them."""
    from django.utils import timezone

    from coachhub.tenancy.context import tenant_context
    from feedback.models import FeedbackRequest, RequestStatus, SurveyState

    ids = _requests(org, n, email_prefix="send")
    now = timezone.now()
    with tenant_context(org):
        FeedbackRequest.objects.filter(organization_id=org.pk, pk__in=ids).update(
            status=RequestStatus.SCHEDULED,
            survey_state=SurveyState.PENDING,
            send_after=now,
            expires_at=now + timedelta(days=14),
        )
    return ids


def _sent(org, ids) -> tuple[int, int]:
    from coachhub.tenancy.context import tenant_context
    from feedback.models import FeedbackRequest, RequestStatus

    with tenant_context(org):
        qs = FeedbackRequest.objects.filter(organization_id=org.pk, pk__in=ids)
        return qs.filter(status=RequestStatus.SENT).count(), qs.exclude(last_error="").count()


def measure_answers(ctx: Context, server, tokens: list[str], action: str):
    body = "stars={{rand:1:5}}&action=" + action
    if action == "save":
        body += "&resolved=yes&comment=Thanks+for+the+help+{{n}}"
    lines = [f"/s/{t}/\t{body}" for t in tokens]
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "HX-Request": "true",
        "Cookie": f"csrftoken={CSRF}",
        "X-CSRFToken": CSRF,
    }
    return ctx.load(
        "/s/",
        method="POST",
        bodies=lines,
        headers=headers,
        server=server,
        label=f"survey answer ({action})",
    )


def measure_drf_insert(ctx: Context, server):
    ctx.owner_sql(f"TRUNCATE {TABLE}")
    result = ctx.load(
        DRF_INSERT_PATH,
        method="POST",
        bodies=[DRF_INSERT_BODY],
        server=server,
        label="bare DRF insert",
    )
    rows = ctx.owner_sql(f"SELECT count(*) FROM {TABLE}")[0][0]
    if rows < result.requests:
        raise BenchFailed(f"bare DRF insert: {result.requests} answers but only {rows} rows")
    return result


def _wait_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise BenchFailed(f"SMTP sink did not listen on {port}")


def measure_worker_sends(ctx: Context, org, port: int) -> float:
    from feedback.tasks import requests_send_task

    queue = f"{ctx.env.get('CELERY_QUEUE', 'coachhub-bench')}-survey-smtp"
    ctx.worker(extra_env={"EMAIL_URL": f"smtp://127.0.0.1:{port}", "CELERY_QUEUE": queue})
    ids = _scheduled(org, SENDS)
    chunk = 100
    started = time.perf_counter()
    for i in range(0, len(ids), chunk):
        requests_send_task.apply_async(
            kwargs={"organization_id": org.pk, "request_ids": ids[i : i + chunk]}, queue=queue
        )
    from feedback.tasks import surveys_tick_task

    deadline = time.monotonic() + 300
    last, last_change = -1, time.monotonic()
    while True:
        sent, failed = _sent(org, ids)
        if sent + failed >= len(ids) or time.monotonic() > deadline:
            break
        if sent != last:
            last, last_change = sent, time.monotonic()
        elif time.monotonic() - last_change > 3:
            # What beat's survey sweep does in production: rows a batch skipped (locked at
            # that moment) are still pending; a tick sends whatever is due.
            surveys_tick_task.apply_async(kwargs={"organization_id": org.pk}, queue=queue)
            last_change = time.monotonic()
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    ctx.check_alive()
    if failed or sent != len(ids):
        raise BenchFailed(f"e-mail worker: {sent}/{len(ids)} sent, {failed} with errors")
    rate = sent / elapsed
    note(f"e-mail worker: {sent} sent in {elapsed:.2f}s = {rate:.0f}/s")
    return rate


def measure_send_mail(port: int, *, one_connection: bool) -> float:
    from django.core.mail import EmailMessage, get_connection, send_mail

    backend = "django.core.mail.backends.smtp.EmailBackend"
    body = "How did Agent do? " + "https://coachhub.example/s/x/?stars=5\n" * 5
    started = time.perf_counter()
    sent = 0
    if one_connection:
        conn = get_connection(backend, host="127.0.0.1", port=port)
        conn.open()
        for i in range(BASELINE_SENDS):
            sent += conn.send_messages(
                [EmailMessage("How did Agent do?", body, to=[f"b{i}@example.com"])]
            )
        conn.close()
    else:
        for i in range(BASELINE_SENDS):
            conn = get_connection(backend, host="127.0.0.1", port=port)
            sent += send_mail(
                "How did Agent do?", body, None, [f"b{i}@example.com"], connection=conn
            )
    elapsed = time.perf_counter() - started
    if sent != BASELINE_SENDS:
        raise BenchFailed(f"send_mail baseline: {sent}/{BASELINE_SENDS} sent")
    return sent / elapsed


def run(ctx: Context) -> list[Row]:
    seed = ctx.seed_organization(SLUG, agents=AGENTS)
    org = seed["organization"]
    # The limit stays on (its Redis INCR is part of the cost) but cannot be reached here.
    server = ctx.server(extra_env={"SURVEY_RATE_LIMIT_PER_MINUTE": "1000000000"})

    tokens = _open_surveys(org, SURVEYS)
    note(f"{len(tokens)} open surveys")
    medians = ctx.alternate(
        {
            "confirm": lambda: measure_answers(ctx, server, tokens, "confirm"),
            "save": lambda: measure_answers(ctx, server, tokens, "save"),
            "base": lambda: measure_drf_insert(ctx, server),
        }
    )
    confirm, save, base = medians["confirm"], medians["save"], medians["base"]

    port = _free_port()
    sink = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port)
        worker_rate = measure_worker_sends(ctx, org, port)
        plain_rate = measure_send_mail(port, one_connection=False)
        kept_rate = measure_send_mail(port, one_connection=True)
    finally:
        sink.terminate()
        sink.wait(timeout=10)

    return [
        Row(
            "survey answer (page confirm, htmx) req/s",
            confirm.rps,
            "req/s",
            base.rps,
            min_ratio=0.1,
        ),
        Row("survey answer p99", confirm.p99_ms, "ms", base.p99_ms),
        Row("survey answers save (204) req/s", save.rps, "req/s", base.rps, min_ratio=0.15),
        Row(
            "e-mail worker sends/s (vs send_mail loop)",
            worker_rate,
            "sends/s",
            plain_rate,
            min_ratio=0.1,
        ),
        Row(
            "e-mail worker sends/s (vs one-connection send_messages)",
            worker_rate,
            "sends/s",
            kept_rate,
        ),
    ]
