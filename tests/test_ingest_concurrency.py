"""Concurrent duplicates make exactly one interaction and one feedback request.

Real concurrency: every caller has its own database connection (a live server's request
threads, or threads that open their own connection), and all are released together by a
barrier, so the requests race inside Postgres rather than queue behind one test transaction.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from urllib.parse import urlsplit

import pytest
from django.db import connection

from coachhub.accounts.services import api_key_create
from coachhub.tenancy.context import tenant_context
from feedback.models import DailyRollup, FeedbackRequest, Interaction
from feedback.services.ingest import interactions_ingest

N = 50


def _race(n, work, prepare=lambda i: None):
    """Run ``work(i, prepared)`` in ``n`` threads released together after ``prepare(i)``."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        try:
            prepared = prepare(i)
            barrier.wait(timeout=30)
            results[i] = work(i, prepared)
        except Exception as exc:  # reported by the assertion below
            results[i] = exc
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def _totals(org):
    with tenant_context(org):
        return (
            Interaction.objects.count(),
            FeedbackRequest.objects.count(),
            sum(DailyRollup.objects.values_list("interactions", flat=True)),
        )


ITEM = {
    "external_id": "ZD-48151",
    "channel": "email",
    "agent": {"email": "ann@acme.test"},
    "customer": {"name": "Lee Park", "email": "lee@example.com"},
    "tags": ["billing"],
}


def test_50_concurrent_identical_posts_make_one_interaction_and_one_request(cast, live_server):
    with tenant_context(cast.org_a):
        _key, secret = api_key_create(organization=cast.org_a, name="race")
    body = json.dumps(ITEM).encode()
    url = urlsplit(live_server.url)

    def connect(_i):
        # Connected before the barrier: the test server's small listen backlog would refuse
        # 50 simultaneous connects, and we want the requests themselves to race.
        for _attempt in range(50):
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
            try:
                conn.connect()
                return conn
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("could not connect to the live server")

    def post(_i, conn):
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {secret}"}
        conn.request("POST", "/api/v1/interactions/", body=body, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        return resp.status, json.loads(payload).get("id", payload)

    results = _race(N, post, connect)
    failed = [r for r in results if not isinstance(r, tuple)]
    assert not failed, failed
    statuses = sorted(code for code, _ in results)
    assert statuses == [200] * (N - 1) + [201], results
    assert len({pk for _, pk in results}) == 1
    assert _totals(cast.org_a) == (1, 1, 1)


@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_bulk_calls_neither_deadlock_nor_double(cast):
    """20 threads each send the same 30 items (shuffled, different customers' addresses per
    thread so their suppression locks differ): every call succeeds, 30 rows in total."""
    org = cast.org_a

    def bulk(i, _prepared):
        items = [
            {
                **ITEM,
                "external_id": f"B-{n}",
                "customer": {"name": "C", "email": f"c{n}-{i}@example.com"},
            }
            for n in range(30)
        ]
        random.Random(i).shuffle(items)
        with tenant_context(org):
            result = interactions_ingest(org, items)
        return result.created, dict(
            zip([it["external_id"] for it in items], result.ids, strict=True)
        )

    results = _race(20, bulk)
    assert all(isinstance(r, tuple) for r in results), [
        r for r in results if not isinstance(r, tuple)
    ]
    assert sum(created for created, _ in results) == 30
    ids_per_key = {}
    for _, ids in results:
        for key, pid in ids.items():
            ids_per_key.setdefault(key, set()).add(pid)
    assert all(len(v) == 1 for v in ids_per_key.values())
    assert _totals(org) == (30, 30, 30)
