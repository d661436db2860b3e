"""Zendesk: the endpoint admin page, the signed webhook receiver and the worker that turns a
recorded delivery into an interaction (parking what it cannot, replaying once fixed)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client

from coachhub.core.models import Delivery, DeliveryStatus
from coachhub.core.outbox import delivery_run
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import GlobalLookup, LookupKind, Role
from feedback.models import Interaction
from feedback.models_channels import InboundDelivery, InboundStatus, WebhookEndpoint
from feedback.services import activity, zendesk

from .factories import UserFactory, make_member

# Zendesk's published test signing secret: used as-is (the string is the HMAC key).
ZENDESK_TEST_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="


def payload(
    ticket_id="48151", *, assignee="ann@acme.test", requester_email="lee@example.com", **extra
):
    ticket = {
        "id": ticket_id,
        "link": f"https://acme.zendesk.com/agent/tickets/{ticket_id}",
        "via": "Mail",
        "tags": "billing vip",
        "solved_at": "",
        "requester": {"name": "Lee Park", "email": requester_email, "language": "Spanish"},
        "assignee": {"email": assignee, "external_id": ""},
    }
    ticket.update(extra)
    return {"event": "ticket.solved", "ticket": ticket}


def signed_headers(secret: str, body: bytes, *, when: datetime | None = None) -> dict:
    ts = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "HTTP_X_ZENDESK_WEBHOOK_SIGNATURE": zendesk.signature_for(secret, ts, body),
        "HTTP_X_ZENDESK_WEBHOOK_SIGNATURE_TIMESTAMP": ts,
    }


def post(client, endpoint, body: bytes, headers: dict | None = None):
    return client.post(
        f"/hooks/zendesk/{endpoint.token}/",
        data=body,
        content_type="application/json",
        **(headers or {}),
    )


def post_signed(client, endpoint, data: dict | bytes, *, secret=ZENDESK_TEST_SECRET, when=None):
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return post(client, endpoint, body, signed_headers(secret, body, when=when))


@pytest.fixture
def endpoint(cast):
    activity.activity_clear(cast.org_a.pk)
    with tenant_context(cast.org_a):
        ep = zendesk.endpoint_create(
            organization=cast.org_a, name="Support EU", created_by=cast.alice
        )
        ep.secret = ZENDESK_TEST_SECRET
        ep.save(update_fields=["secret"])
    return ep


def run_worker(org) -> list[str]:
    """What a Celery worker does with the outbox rows the receiver recorded."""
    with tenant_context(org):
        ids = list(
            Delivery.objects.filter(
                organization_id=org.pk,
                consumer="feedback.inbound_process",
                status=DeliveryStatus.PENDING,
            ).values_list("id", flat=True)
        )
    return [delivery_run(org.pk, pk) for pk in ids]


def counts(org):
    with tenant_context(org):
        return InboundDelivery.objects.count(), Interaction.objects.count()


# --- the receiver -----------------------------------------------------------------------


def test_signed_delivery_is_recorded_answered_202_and_becomes_an_interaction(cast, endpoint):
    resp = post_signed(Client(enforce_csrf_checks=True), endpoint, payload())
    assert resp.status_code == 202, resp.content
    assert resp.json()["duplicate"] is False
    with tenant_context(cast.org_a):
        d = InboundDelivery.objects.get()
        assert (d.status, d.external_id, d.dedupe_key) == (
            InboundStatus.PENDING,
            "48151",
            "48151:ticket.solved",
        )
        assert Interaction.objects.count() == 0  # the worker makes it, not the request
    assert run_worker(cast.org_a) == ["done"]
    with tenant_context(cast.org_a):
        d.refresh_from_db()
        interaction = Interaction.objects.get()
        assert (
            d.status == InboundStatus.PROCESSED and d.interaction_public_id == interaction.public_id
        )
        assert interaction.source == "zendesk" and interaction.external_id == "48151"
        assert interaction.agent_id == cast.ann.pk and interaction.team_id == cast.team_a1.pk
        assert interaction.channel == "email"
        assert (
            interaction.customer_email == "lee@example.com"
            and interaction.customer_language == "es"
        )
        assert interaction.tags == ["billing", "vip"]
        assert interaction.ticket_url == "https://acme.zendesk.com/agent/tickets/48151"
        assert interaction.properties == {"zendesk_via": "Mail"}
    assert [e["outcome"] for e in activity.activity_recent_for(cast.org_a.pk, "zendesk")] == [
        "accepted"
    ]


def test_unsigned_call_is_401_and_writes_nothing(cast, endpoint):
    resp = post(Client(), endpoint, json.dumps(payload()).encode())
    assert resp.status_code == 401
    assert "unsigned" in resp.json()["errors"][0]["reason"]
    assert counts(cast.org_a) == (0, 0)
    [entry] = activity.activity_recent_for(cast.org_a.pk, "zendesk")
    assert entry["outcome"] == "rejected" and entry["status"] == 401


def test_bad_signature_is_401_and_writes_nothing(cast, endpoint):
    resp = post_signed(Client(), endpoint, payload(), secret="not-the-secret-at-all")
    assert resp.status_code == 401 and "bad signature" in resp.json()["errors"][0]["reason"]
    assert counts(cast.org_a) == (0, 0)


@pytest.mark.parametrize(
    "offset", [timedelta(seconds=-310), timedelta(seconds=310), timedelta(hours=-3)]
)
def test_stale_or_future_timestamp_is_401(cast, endpoint, offset):
    resp = post_signed(Client(), endpoint, payload(), when=datetime.now(UTC) + offset)
    assert resp.status_code == 401 and "stale" in resp.json()["errors"][0]["reason"]
    assert counts(cast.org_a) == (0, 0)


def test_timestamp_within_tolerance_is_accepted(cast, endpoint):
    resp = post_signed(
        Client(), endpoint, payload(), when=datetime.now(UTC) - timedelta(seconds=290)
    )
    assert resp.status_code == 202


def test_tampered_body_is_401(cast, endpoint):
    body = json.dumps(payload()).encode()
    headers = signed_headers(ZENDESK_TEST_SECRET, body)
    tampered = body.replace(b"ann@acme.test", b"andy@acme.test")
    assert post(Client(), endpoint, tampered, headers).status_code == 401
    assert counts(cast.org_a) == (0, 0)


def test_signature_matches_zendesk_reference_computation():
    # base64(HMAC-SHA256(secret, timestamp + body)) computed independently of the service.
    import base64
    import hashlib
    import hmac

    ts, body = "2026-11-24T00:00:00Z", b'{"a":1}'
    expected = base64.b64encode(
        hmac.new(ZENDESK_TEST_SECRET.encode(), ts.encode() + body, hashlib.sha256).digest()
    )
    assert zendesk.signature_for(ZENDESK_TEST_SECRET, ts, body) == expected.decode()


def test_previous_secret_stays_valid_after_rotation_until_retired(cast, endpoint):
    with tenant_context(cast.org_a):
        zendesk.endpoint_rotate(endpoint)
    assert (
        endpoint.secret != ZENDESK_TEST_SECRET and endpoint.previous_secret == ZENDESK_TEST_SECRET
    )
    assert post_signed(Client(), endpoint, payload("1")).status_code == 202  # old secret
    assert (
        post_signed(Client(), endpoint, payload("2"), secret=endpoint.secret).status_code == 202
    )  # new
    with tenant_context(cast.org_a):
        zendesk.endpoint_retire_previous(endpoint)
    assert post_signed(Client(), endpoint, payload("3")).status_code == 401
    assert post_signed(Client(), endpoint, payload("4"), secret=endpoint.secret).status_code == 202


def test_deactivated_endpoint_answers_404_even_when_signed(cast, endpoint):
    with tenant_context(cast.org_a):
        zendesk.endpoint_deactivate(endpoint)
    resp = post_signed(Client(), endpoint, payload())
    assert resp.status_code == 404
    unknown = Client().post(
        "/hooks/zendesk/no-such-endpoint/", data=b"{}", content_type="application/json"
    )
    assert unknown.status_code == 404 and unknown.content == resp.content  # indistinguishable
    assert counts(cast.org_a) == (0, 0)


def test_get_is_not_allowed(cast, endpoint):
    assert Client().get(f"/hooks/zendesk/{endpoint.token}/").status_code == 405


def test_body_over_one_mebibyte_is_413(cast, endpoint):
    big = json.dumps(payload(note="x" * (1024 * 1024 + 10))).encode()
    assert post_signed(Client(), endpoint, big).status_code == 413
    assert counts(cast.org_a) == (0, 0)


def test_the_endpoint_decides_the_organization_not_the_payload(cast, endpoint):
    with tenant_context(cast.org_b):
        ep_b = zendesk.endpoint_create(organization=cast.org_b, name="Globex")
    assert GlobalLookup.resolve(LookupKind.WEBHOOK_ENDPOINT, ep_b.token) == (cast.org_b.pk, ep_b.pk)
    # Signed with org B's secret, naming an org A agent: it lands in org B and parks there.
    assert post_signed(Client(), ep_b, payload(), secret=ep_b.secret).status_code == 202
    run_worker(cast.org_b)
    assert counts(cast.org_a) == (0, 0)
    with tenant_context(cast.org_b):
        d = InboundDelivery.objects.get()
        assert d.status == InboundStatus.PARKED and "agent" in d.reason


def test_duplicate_deliveries_make_one_delivery_row_and_one_interaction(cast, endpoint):
    first = post_signed(Client(), endpoint, payload())
    second = post_signed(
        Client(), endpoint, payload(), when=datetime.now(UTC) - timedelta(seconds=5)
    )
    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json() == {"id": first.json()["id"], "duplicate": True}
    run_worker(cast.org_a)
    assert counts(cast.org_a) == (1, 1)
    # The same ticket solved again later (a new event key) is recorded but is the same interaction.
    post_signed(Client(), endpoint, {**payload(), "event": "ticket.solved.again"})
    run_worker(cast.org_a)
    with tenant_context(cast.org_a):
        assert Interaction.objects.count() == 1
        assert sorted(InboundDelivery.objects.values_list("status", flat=True)) == [
            "duplicate",
            "processed",
        ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_deliveries_make_one_interaction(cast, endpoint):
    n = 20
    body = json.dumps(payload("777")).encode()
    headers = signed_headers(ZENDESK_TEST_SECRET, body)
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def call(i):
        try:
            client = Client()
            barrier.wait(timeout=10)
            results[i] = post(client, endpoint, body, headers).json()
        finally:
            connection.close()  # each thread had its own database connection

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len({r["id"] for r in results}) == 1
    assert sorted(r["duplicate"] for r in results) == [False] + [True] * (n - 1)
    run_worker(cast.org_a)
    assert counts(cast.org_a) == (1, 1)


# --- parking and replay -------------------------------------------------------------------


def test_unknown_agent_is_parked_with_its_reason_and_replayed_after_the_agent_is_added(
    cast, endpoint, client_for
):
    post_signed(Client(), endpoint, payload("900", assignee="newbie@acme.test"))
    assert run_worker(cast.org_a) == ["done"]  # parked is handled, not retried forever
    with tenant_context(cast.org_a):
        d = InboundDelivery.objects.get()
        assert d.status == InboundStatus.PARKED
        assert d.reason.startswith("agent:") and "No active agent" in d.reason
        assert Interaction.objects.count() == 0
    page = client_for(cast.alice).get(
        f"/o/acme/feedback/integrations/zendesk/{endpoint.public_id}/"
    )
    assert page.status_code == 200 and "No active agent" in page.content.decode()
    entry = activity.activity_recent_for(cast.org_a.pk, "zendesk")[0]
    assert entry["outcome"] == "rejected" and "parked" in entry["reason"]

    # Still unknown: replay keeps it parked (never dropped).
    base = f"/o/acme/feedback/integrations/zendesk/{endpoint.public_id}"
    url = f"{base}/deliveries/{d.public_id}/replay/"
    assert client_for(cast.alice).post(url).status_code == 302
    with tenant_context(cast.org_a):
        d.refresh_from_db()
        assert d.status == InboundStatus.PARKED and d.attempts == 2

    make_member(
        cast.org_a, Role.AGENT, team=cast.team_a2, user=UserFactory(username="newbie@acme.test")
    )
    assert client_for(cast.alice).post(url).status_code == 302
    with tenant_context(cast.org_a):
        d.refresh_from_db()
        interaction = Interaction.objects.get()
        assert (
            d.status == InboundStatus.PROCESSED and d.interaction_public_id == interaction.public_id
        )
        assert interaction.team_id == cast.team_a2.pk


def test_missing_requester_email_is_parked_and_replay_all_retries_every_parked_one(
    cast, endpoint, client_for
):
    post_signed(Client(), endpoint, payload("1", requester_email=""))
    post_signed(Client(), endpoint, payload("2", assignee="later@acme.test"))
    run_worker(cast.org_a)
    with tenant_context(cast.org_a):
        reasons = dict(InboundDelivery.objects.values_list("external_id", "reason"))
    assert reasons["1"].startswith("customer.email:") and reasons["2"].startswith("agent:")
    make_member(
        cast.org_a, Role.AGENT, team=cast.team_a1, user=UserFactory(username="later@acme.test")
    )
    url = f"/o/acme/feedback/integrations/zendesk/{endpoint.public_id}/replay-parked/"
    assert client_for(cast.alice).post(url).status_code == 302
    with tenant_context(cast.org_a):
        statuses = dict(InboundDelivery.objects.values_list("external_id", "status"))
    assert statuses == {"1": "parked", "2": "processed"}


def test_a_signed_body_that_is_not_json_is_recorded_parked_not_dropped(cast, endpoint):
    assert post_signed(Client(), endpoint, b"ticket=5&status=solved").status_code == 202
    assert run_worker(cast.org_a) == []  # nothing for the worker: parked at once
    with tenant_context(cast.org_a):
        d = InboundDelivery.objects.get()
        assert (
            d.status == InboundStatus.PARKED
            and "JSON" in d.reason
            and d.body == "ticket=5&status=solved"
        )


def test_payload_mapping_channels_tags_and_fallbacks():
    received = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    item = zendesk.payload_to_item(
        payload(
            "5",
            assignee="",
            via="Phone call (inbound)",
            tags=" ".join(f"t{i}" for i in range(25)),
            solved_at="2026-11-20T10:05Z",
            assignee_ignored=None,
        )
        | {},
        received_at=received,
    )
    assert item["channel"] == "phone" and len(item["tags"]) == 20 and item["agent"] == {}
    assert item["occurred_at"].startswith("2026-11-20T10:05:00")
    assert zendesk.channel_from_via("Chat") == "chat"
    assert zendesk.channel_from_via("Text") == "sms"
    assert zendesk.channel_from_via("Twitter DM") == "social"
    assert zendesk.channel_from_via("Web form") == "email"
    assert zendesk.channel_from_via("Something new") == "email"
    assert zendesk.language_from("English (United States)") == "en"
    assert zendesk.language_from("pt-BR") == "pt"
    assert zendesk.language_from("Klingon") == ""
    by_external = zendesk.payload_to_item(
        {"ticket": {"id": 9, "assignee": {"email": "", "external_id": "A-2"}, "requester": {}}},
        received_at=received,
    )
    assert (
        by_external["agent"] == {"employee_id": "A-2"}
        and by_external["occurred_at"] == received.isoformat()
    )


# --- the admin pages ----------------------------------------------------------------------


def test_admin_creates_an_endpoint_and_sees_its_url_secret_and_body_template(cast, client_for):
    client = client_for(cast.alice)
    resp = client.post("/o/acme/feedback/integrations/zendesk/", {"name": "Support EU"})
    assert resp.status_code == 302
    with tenant_context(cast.org_a):
        ep = WebhookEndpoint.objects.get()
    assert GlobalLookup.resolve(LookupKind.WEBHOOK_ENDPOINT, ep.token) == (cast.org_a.pk, ep.pk)
    assert len(ep.token) >= 32 and len(ep.secret) >= 40
    page = client.get(resp["Location"]).content.decode()
    assert f"/hooks/zendesk/{ep.token}/" in page and ep.secret in page
    assert "{{ticket.requester.email}}" in page and "{{ticket.assignee.email}}" in page
    assert "Support EU" in client.get("/o/acme/feedback/integrations/zendesk/").content.decode()


def test_endpoint_form_names_the_bad_field(cast, client_for):
    resp = client_for(cast.alice).post("/o/acme/feedback/integrations/zendesk/", {"name": "  "})
    assert resp.status_code == 400
    assert "name" in resp.context["form"].errors
    with tenant_context(cast.org_a):
        assert not WebhookEndpoint.objects.exists()


def test_rotate_form_names_the_bad_field_and_pasted_secret_is_used(cast, endpoint, client_for):
    base = f"/o/acme/feedback/integrations/zendesk/{endpoint.public_id}"
    bad = client_for(cast.alice).post(f"{base}/rotate/", {"new_secret": "short"})
    assert bad.status_code == 400 and "new_secret" in bad.context["rotate_form"].errors
    ok = client_for(cast.alice).post(
        f"{base}/rotate/", {"new_secret": "zendesk-made-secret-0123456789"}
    )
    assert ok.status_code == 302
    with tenant_context(cast.org_a):
        endpoint.refresh_from_db()
    assert endpoint.secrets == ["zendesk-made-secret-0123456789", ZENDESK_TEST_SECRET]


def test_admin_deactivates_and_reactivates_from_the_page(cast, endpoint, client_for):
    url = f"/o/acme/feedback/integrations/zendesk/{endpoint.public_id}/active/"
    assert client_for(cast.alice).post(url).status_code == 302
    assert post_signed(Client(), endpoint, payload()).status_code == 404
    client_for(cast.alice).post(url)
    assert post_signed(Client(), endpoint, payload()).status_code == 202


@pytest.mark.parametrize("who", ["sam", "ann"])
def test_non_admins_get_403_on_zendesk_pages(cast, endpoint, client_for, who):
    client = client_for(getattr(cast, who))
    assert client.get("/o/acme/feedback/integrations/zendesk/").status_code == 403
    assert (
        client.get(f"/o/acme/feedback/integrations/zendesk/{endpoint.public_id}/").status_code
        == 403
    )
    assert (
        client.post(
            f"/o/acme/feedback/integrations/zendesk/{endpoint.public_id}/rotate/"
        ).status_code
        == 403
    )


def test_other_organizations_endpoint_is_404(cast, client_for):
    with tenant_context(cast.org_b):
        ep_b = zendesk.endpoint_create(organization=cast.org_b, name="Globex")
    client = client_for(cast.alice)
    assert client.get(f"/o/acme/feedback/integrations/zendesk/{ep_b.public_id}/").status_code == 404
    assert (
        client.post(f"/o/acme/feedback/integrations/zendesk/{ep_b.public_id}/active/").status_code
        == 404
    )
    with tenant_context(cast.org_b):
        assert WebhookEndpoint.objects.get().is_active


def test_a_delivery_stuck_waiting_can_be_run_by_an_admin(cast, endpoint, client_for):
    post_signed(Client(), endpoint, payload("31"))  # its worker run never happened
    with tenant_context(cast.org_a):
        d = InboundDelivery.objects.get()
    base = f"/o/acme/feedback/integrations/zendesk/{endpoint.public_id}"
    resp = client_for(cast.alice).post(f"{base}/deliveries/{d.public_id}/replay/")
    assert resp.status_code == 302
    with tenant_context(cast.org_a):
        d.refresh_from_db()
        assert d.status == InboundStatus.PROCESSED and Interaction.objects.count() == 1
    assert run_worker(cast.org_a) == ["done"]  # the late worker run finds it done
    assert counts(cast.org_a) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_turns_a_signed_delivery_into_an_interaction(cast, endpoint, celery_worker):
    from .worker import wait_for

    assert post_signed(Client(), endpoint, payload("5150")).status_code == 202
    wait_for(lambda: counts(cast.org_a) == (1, 1), timeout=30, message="the worker's interaction")
    with tenant_context(cast.org_a):
        assert InboundDelivery.objects.get().status == InboundStatus.PROCESSED
