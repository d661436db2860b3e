"""What ingestion costs in round trips, and the survey doorbell it rings.

* A single ``POST /api/v1/interactions/`` is a fixed list of five round trips: BEGIN, the
  organization setting + organization + key from the API key, the suppression lock + the agent
  with the customer's suppression facts, one INSERT statement for interaction + feedback
  request + rollups + repeat contacts, COMMIT — run like production: no test transaction
  around the request.
* A bulk call's statements do not grow with its size.
* The repeat contacts that new rows of one call make among themselves and with stored rows
  match a rebuild from raw data.
* The doorbell coalesces: rings while a drain is armed enqueue nothing, and the drain sends
  every rung request.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coachhub.accounts.services import api_key_create
from coachhub.tenancy.context import tenant_context
from feedback.models import DailyRollup, FeedbackRequest, Interaction, RequestStatus, SurveyState
from feedback.services import survey
from feedback.services.ingest import interactions_ingest
from feedback.services.rollups import rollups_rebuild

from .survey_helpers import ingest
from .worker import _purge, _redis

URL = "/api/v1/interactions/"
BULK = "/api/v1/interactions/bulk/"


def _secret(org) -> str:
    with tenant_context(org):
        return api_key_create(organization=org, name="queries")[1]


def _post(client, secret, path, body):
    return client.generic(
        "POST",
        path,
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )


def _item(n, agent=None, email=None, **extra):
    return {
        "external_id": f"Q-{n}",
        "channel": "email",
        "agent": agent or {"email": "ann@acme.test"},
        "customer": {"name": "Lee Park", "email": email or f"q{n}@example.com"},
        **extra,
    }


def _head(sql: str) -> str:
    """A statement as it reads in the list below."""
    words = sql.split()
    if "EXECUTE" in words:
        return " ".join(w for w in words if w.startswith(("feedback_", "tenancy_")))
    return " ".join(words[:2]) if words[0] == "SELECT" else words[0]


@pytest.mark.django_db(transaction=True)
def test_a_single_post_is_five_round_trips(cast, client):
    secret = _secret(cast.org_a)
    # The first call of a database session prepares its statements (and stamps the key's
    # last use); every later call is the list below.
    assert _post(client, secret, URL, _item(1)).status_code == 201
    with CaptureQueriesContext(connection) as q:
        r = _post(client, secret, URL, _item(2))
    assert r.status_code == 201, r.content
    assert [_head(x["sql"]) for x in q.captured_queries] == [
        "BEGIN",
        # The organization setting from the key's lookup row, then organization and key
        # under it: one round trip.
        "tenancy_api_key_enter tenancy_api_key_load",
        # The suppression lock, then the agent with the customer's suppression facts.
        "feedback_ingest_lock feedback_ingest_agents_check_one",
        "feedback_ingest_insert",
        "COMMIT",
    ]
    with tenant_context(cast.org_a):
        stored = Interaction.objects.get(organization=cast.org_a, external_id="Q-2")
        request = FeedbackRequest.objects.get(organization=cast.org_a, interaction=stored)
        assert (request.status, request.survey_state) == (
            RequestStatus.SCHEDULED,
            SurveyState.PENDING,
        )
        assert r.json()["id"] == str(stored.public_id)

    # A new database session (CONN_MAX_AGE, a restart) prepares again and answers the same.
    connection.close()
    assert _post(client, secret, URL, _item(3)).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_a_bulk_call_costs_the_same_statements_whatever_its_size(cast, client):
    secret = _secret(cast.org_a)
    agents = [
        {"email": "ann@acme.test"},
        {"employee_id": "A-1"},
        {"email": "andy@acme.test"},
        {"email": "zoe@acme.test"},
    ]
    now = timezone.now()

    def batch(tag, n):
        return {
            "interactions": [
                _item(
                    f"{tag}-{i}",
                    agent=agents[i % len(agents)],
                    # Customers come back within the batch (repeat contacts, suppression).
                    email=f"{tag}-{i % 7}@example.com",
                    occurred_at=(now - timedelta(hours=n - i)).isoformat(),
                )
                for i in range(n)
            ]
        }

    # The first calls of the session prepare the statements (one address and several).
    assert _post(client, secret, BULK, batch("warm1", 1)).status_code == 200
    assert _post(client, secret, BULK, batch("warm3", 3)).status_code == 200
    counts = {}
    for n in (1, 20, 300):
        with CaptureQueriesContext(connection) as q:
            r = _post(client, secret, BULK, batch(f"b{n}", n))
        assert r.status_code == 200 and r.json()["created"] == n, r.content
        counts[n] = len(q.captured_queries)
    assert counts[1] == counts[20] == counts[300] <= 5, counts
    with tenant_context(cast.org_a):
        rolled = sum(
            DailyRollup.objects.filter(organization=cast.org_a).values_list(
                "interactions", flat=True
            )
        )
    assert rolled == 1 + 3 + 1 + 20 + 300


def _repeat_rows(org) -> dict:
    with tenant_context(org):
        return {
            (d, a): n
            for d, a, n in DailyRollup.objects.filter(organization=org).values_list(
                "day", "agent_id", "repeat_contacts"
            )
            if n
        }


def test_repeat_contacts_within_one_bulk_call_match_a_rebuild(cast, client):
    secret = _secret(cast.org_a)
    x, y = "x@example.com", "y@example.com"
    # Stored first: x on the 8th (Ann).
    body = {"interactions": [_item("s1", email=x, occurred_at="2026-11-08T12:00:00Z")]}
    assert _post(client, secret, BULK, body).status_code == 200
    assert _repeat_rows(cast.org_a) == {}
    # One call: x on the 10th (Andy) follows the stored 8th, x on the 12th (Zoe) follows the
    # 10th, x on the 20th is more than 7 days after the 12th; y once.
    body = {
        "interactions": [
            _item("n1", {"email": "andy@acme.test"}, x, occurred_at="2026-11-10T12:00:00Z"),
            _item("n2", {"email": "zoe@acme.test"}, x, occurred_at="2026-11-12T12:00:00Z"),
            _item("n3", {"email": "zoe@acme.test"}, x, occurred_at="2026-11-20T12:00:00Z"),
            _item("n4", {"email": "ann@acme.test"}, y, occurred_at="2026-11-12T12:00:00Z"),
        ]
    }
    r = _post(client, secret, BULK, body)
    assert r.status_code == 200 and r.json()["created"] == 4, r.content
    incremental = _repeat_rows(cast.org_a)
    assert incremental == {
        (date(2026, 11, 8), cast.ann.pk): 1,
        (date(2026, 11, 10), cast.andy.pk): 1,
    }
    # The same call again changes nothing (duplicates add no interaction, no repeat).
    assert _post(client, secret, BULK, body).json()["duplicates"] == 4
    assert _repeat_rows(cast.org_a) == incremental
    with tenant_context(cast.org_a):
        rollups_rebuild(cast.org_a)
    assert _repeat_rows(cast.org_a) == incremental


def test_the_doorbell_coalesces_and_the_drain_sends_every_rung_request(
    cast, mailoutbox, django_capture_on_commit_callbacks
):
    prefix = django_settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    queue = django_settings.CELERY_TASK_DEFAULT_QUEUE
    r = _redis()
    try:
        queued = r.llen(f"{prefix}{queue}")
        with django_capture_on_commit_callbacks(execute=True):
            first = ingest(cast.org_a, cast.ann, email="d1@example.com")
        assert r.llen(f"{prefix}{queue}") == queued + 1  # the drain task
        with django_capture_on_commit_callbacks(execute=True):
            second = ingest(cast.org_a, cast.andy, email="d2@example.com")
        assert r.llen(f"{prefix}{queue}") == queued + 1  # armed: the drain takes it too

        # What the worker runs for that one task.
        assert survey.requests_drain(cast.org_a.pk) == {"sent": 2}
        assert sorted(m.to[0] for m in mailoutbox) == ["d1@example.com", "d2@example.com"]
        with tenant_context(cast.org_a):
            for fr in (first, second):
                fr.refresh_from_db()
                assert (fr.status, fr.survey_state) == (RequestStatus.SENT, SurveyState.SENT)

        # Drained and disarmed: the next ring enqueues a drain again.
        with django_capture_on_commit_callbacks(execute=True):
            ingest(cast.org_a, cast.ann, email="d3@example.com")
        assert r.llen(f"{prefix}{queue}") == queued + 2
        assert survey.requests_drain(cast.org_a.pk) == {"sent": 1}
        assert survey.requests_drain(cast.org_a.pk) == {}  # nothing left
    finally:
        r.close()
        _purge(queue)


# --- property: repeat contacts maintained by the insert statement == rebuilt ------------------

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
calls = st.lists(
    st.tuples(
        st.sampled_from(["live", "live", "live", "test"]),
        st.lists(
            st.tuples(
                st.integers(0, 11),  # external id: repeats make duplicates, within a call too
                st.sampled_from(["ann@acme.test", "andy@acme.test", "zoe@acme.test"]),
                st.sampled_from(["a@example.com", "b@example.com", "c@example.com"]),
                # Hours on a grid, so interactions at the same instant and exactly a window
                # (7 days = 168 h) apart happen often.
                st.sampled_from([0, 1, 24, 72, 167, 168, 169, 200, 336, 337]),
            ),
            min_size=1,
            max_size=6,
        ),
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(calls=calls)
def test_incremental_repeat_contacts_equal_rebuilt_ones(cast, calls):
    org = cast.org_a
    with tenant_context(org):
        sid = transaction.savepoint()  # each example starts from the bare cast
        for mode, items in calls:
            interactions_ingest(
                org,
                [
                    {
                        "external_id": f"P-{n}",
                        "channel": "chat",
                        "agent": {"email": agent},
                        "customer": {"name": "C", "email": email},
                        "occurred_at": (START + timedelta(hours=h)).isoformat(),
                    }
                    for n, agent, email, h in items
                ],
                mode=mode,
            )
        incremental = _repeat_rows(org)
        rollups_rebuild(org)
        rebuilt = _repeat_rows(org)
        transaction.savepoint_rollback(sid)
    assert incremental == rebuilt
