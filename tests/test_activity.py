"""Ingestion activity: recent accepted/rejected calls per source, with the reason, per org."""

from __future__ import annotations

import pytest

from feedback.services import activity


@pytest.fixture
def clean(cast):
    activity.activity_clear(cast.org_a.pk)
    activity.activity_clear(cast.org_b.pk)
    yield
    activity.activity_clear(cast.org_a.pk)
    activity.activity_clear(cast.org_b.pk)


def test_recent_entries_are_newest_first_per_source_and_capped(cast, clean):
    for i in range(activity.KEEP + 5):
        activity.activity_record(cast.org_a.pk, "api", "accepted", ref=f"ZD-{i}")
    activity.activity_record(cast.org_a.pk, "zendesk", "rejected", "bad signature", status=401)
    api = activity.activity_recent_for(cast.org_a.pk, "api")
    assert len(api) == activity.KEEP and api[0]["ref"] == f"ZD-{activity.KEEP + 4}"
    merged = activity.activity_recent_for(cast.org_a.pk, limit=3)
    assert merged[0]["source"] == "zendesk" and merged[0]["reason"] == "bad signature"
    counts = activity.activity_counts_for(cast.org_a.pk)
    assert counts["api"]["accepted"] == activity.KEEP + 5 and counts["zendesk"]["rejected"] == 1


def test_organizations_do_not_see_each_others_activity(cast, clean):
    activity.activity_record(cast.org_b.pk, "api", "rejected", "agent: unknown")
    assert activity.activity_recent_for(cast.org_a.pk) == []
    assert activity.activity_counts_for(cast.org_a.pk)["api"]["rejected"] == 0


def test_recording_never_raises_when_redis_is_down(cast, clean, monkeypatch):
    def down():
        raise ConnectionError("redis is down")

    monkeypatch.setattr(activity, "redis_client", down)
    activity.activity_record(cast.org_a.pk, "api", "accepted")  # no exception
    assert activity.activity_recent_for(cast.org_a.pk) == []


def test_errors_summary_is_short():
    errors = [{"field": f"interactions[{i}].agent", "reason": "No active agent."} for i in range(5)]
    assert activity.errors_summary(errors) == (
        "interactions[0].agent: No active agent.; interactions[1].agent: No active agent.; "
        "interactions[2].agent: No active agent.; and 2 more"
    )


def test_activity_page_shows_rejections_with_reasons_escaped(cast, clean, client_for):
    activity.activity_record(
        cast.org_a.pk, "api", "rejected", "customer.name: <script>x</script>", status=400
    )
    activity.activity_record(
        cast.org_a.pk, "csv", "accepted", "12 created", ref="march.csv", count=12
    )
    page = client_for(cast.alice).get("/o/acme/feedback/activity/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x</script>" not in html
    assert "march.csv" in html and "Rejected 400" in html
    only_csv = client_for(cast.alice).get("/o/acme/feedback/activity/?source=csv").content.decode()
    assert "march.csv" in only_csv and "customer.name" not in only_csv


@pytest.mark.parametrize("who", ["sam", "ann"])
def test_non_admins_get_403_on_the_activity_page(cast, client_for, who):
    assert client_for(getattr(cast, who)).get("/o/acme/feedback/activity/").status_code == 403


def test_another_organizations_member_gets_404(cast, client_for):
    assert client_for(cast.bob).get("/o/acme/feedback/activity/").status_code == 404


def test_api_calls_accepted_and_refused_are_listed_with_the_reason(cast, clean, client):
    from coachhub.accounts.services import api_key_create
    from coachhub.tenancy.context import tenant_context

    with tenant_context(cast.org_a):
        _key, secret = api_key_create(organization=cast.org_a, name="helpdesk")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    good = {
        "external_id": "ZD-1",
        "channel": "email",
        "agent": {"email": "ann@acme.test"},
        "customer": {"name": "Lee", "email": "lee@example.com"},
    }
    bad = {**good, "external_id": "ZD-2", "agent": {"email": "nobody@acme.test"}}
    post = lambda path, body: client.post(path, body, content_type="application/json", **auth)  # noqa: E731
    assert post("/api/v1/interactions/", good).status_code == 201
    assert post("/api/v1/interactions/", bad).status_code == 400  # rolled back, still listed
    assert post("/api/v1/interactions/bulk/", {"interactions": [good, bad]}).status_code == 400
    assert post("/api/v1/interactions/bulk/", {"interactions": [good]}).status_code == 200
    entries = activity.activity_recent_for(cast.org_a.pk, "api")
    assert [(e["outcome"], e["status"]) for e in entries] == [
        ("accepted", 200),
        ("rejected", 400),
        ("rejected", 400),
        ("accepted", 201),
    ]
    assert entries[3]["ref"] == "ZD-1"
    assert entries[2]["reason"].startswith("agent: No active agent")
    assert entries[1]["reason"].startswith("interactions[1].agent:")
    assert entries[0]["reason"] == "0 created, 1 duplicates"
    # No key, no organization: nobody's activity.
    client.post("/api/v1/interactions/", good, content_type="application/json")
    assert len(activity.activity_recent_for(cast.org_a.pk, "api")) == 4
