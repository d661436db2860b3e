"""QA read API: scorecards with versions and submitted reviews, cursor pages, OpenAPI."""

from __future__ import annotations

import pytest

from coachhub.accounts.services import api_key_create
from coachhub.tenancy.context import tenant_context
from qa.services import scorecards as svc
from qa.services.settings import qa_settings_update

from .qa_factories import GOOD, make_interaction, make_review, make_scorecard, rate

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(cast, client):
    def get(path, org=None, **params):
        org = org or cast.org_a
        with tenant_context(org):
            _key, secret = api_key_create(organization=org, name="qa key")
        return client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {secret}")

    return get


def test_scorecards_list_and_detail_with_versions(cast, api):
    card = make_scorecard(cast.org_a, cast.alice)
    with tenant_context(cast.org_a):
        svc.draft_ensure(card, member=cast.alice)
        svc.scorecard_update(
            card, name=card.name, description="", channels=["chat"], teams=[cast.team_a1]
        )
    r = api("/api/v1/scorecards/")
    assert r.status_code == 200
    [row] = r.json()["results"]
    assert row["id"] == str(card.public_id) and row["channels"] == ["chat"]
    assert row["teams"] == [str(cast.team_a1.public_id)]
    assert sorted((v["number"], v["status"]) for v in row["versions"]) == [
        (1, "published"),
        (2, "draft"),
    ]
    detail = api(f"/api/v1/scorecards/{card.public_id}/").json()
    v1 = next(v for v in detail["versions"] if v["number"] == 1)
    assert [s["title"] for s in v1["sections"]] == ["Opening", "Resolution"]
    privacy = v1["sections"][1]["criteria"][1]
    assert privacy["title"] == "Privacy" and privacy["critical"] is True
    assert privacy["critical_effect"] == "review" and privacy["fail_at_or_below"] == 0
    assert privacy["points"] == [{"value": 1, "label": "Yes"}, {"value": 0, "label": "No"}]


def test_reviews_list_only_submitted_with_blend_and_cursor(cast, api):
    card = make_scorecard(cast.org_a, cast.alice)
    with tenant_context(cast.org_a):
        qa_settings_update(cast.org_a, qa_blend_weight=30)
    first = make_interaction(cast.org_a, cast.ann)
    rate(first, 5)
    submitted = make_review(cast.sam, first, card, hide_reviewer=True)
    make_review(cast.sam, make_interaction(cast.org_a, cast.ann), card, GOOD)
    make_review(cast.sam, make_interaction(cast.org_a, cast.andy), card, submit=False)
    r = api("/api/v1/reviews/", limit=1)
    assert r.status_code == 200
    body = r.json()
    assert len(body["results"]) == 1 and body["next"]
    rows = api("/api/v1/reviews/").json()["results"]
    assert len(rows) == 2  # the draft is never listed
    row = next(x for x in rows if x["id"] == str(submitted.public_id))
    assert row["score"] == 93.75 and row["customer_stars"] == 5
    assert row["final_score"] == pytest.approx(95.625)
    assert row["hide_reviewer"] is True and row["agent"]["email"] == "ann@acme.test"
    only_andy = api("/api/v1/reviews/", agent=str(cast.andy.public_id)).json()["results"]
    assert only_andy == []
    bad = api("/api/v1/reviews/", agent="nope")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "agent"
    bad = api("/api/v1/reviews/", since="yesterday")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "since"
    detail = api(f"/api/v1/reviews/{submitted.public_id}/").json()
    assert {a["title"]: a["value"] for a in detail["answers"]} == GOOD
    assert next(a for a in detail["answers"] if a["title"] == "Greeting")["label"] == "Yes"


def test_other_organization_gets_404_and_drafts_are_404(cast, api):
    card = make_scorecard(cast.org_a, cast.alice)
    draft = make_review(cast.sam, make_interaction(cast.org_a, cast.ann), card, submit=False)
    assert api(f"/api/v1/reviews/{draft.public_id}/").status_code == 404
    assert api(f"/api/v1/scorecards/{card.public_id}/", org=cast.org_b).status_code == 404
    assert api("/api/v1/scorecards/", org=cast.org_b).json()["results"] == []


def test_openapi_schema_describes_the_qa_endpoints(cast, client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/v1/scorecards/",
        "/api/v1/scorecards/{scorecard_id}/",
        "/api/v1/reviews/",
        "/api/v1/reviews/{review_id}/",
    ):
        assert path in schema["paths"], path
        assert schema["paths"][path]["get"]["summary"]
