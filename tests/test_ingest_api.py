"""Interactions in through the REST API (single and bulk), and the read endpoints.

Contract: shared/API.md "Interactions" and "Reading results"."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from coachhub.accounts.services import api_key_create, membership_deactivate
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Membership, Organization
from feedback.models import (
    DailyRollup,
    FeedbackRequest,
    Interaction,
    RequestKind,
    Response,
    Unsubscribe,
)

from .conftest import assert_num_queries_at_most

URL = "/api/v1/interactions/"
BULK = "/api/v1/interactions/bulk/"


class Api:
    def __init__(self, client, secret):
        self.client, self.auth = client, f"Bearer {secret}"

    def post(self, path, body, content_type="application/json"):
        raw = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.generic(
            "POST", path, raw, content_type=content_type, HTTP_AUTHORIZATION=self.auth
        )

    def get(self, path, **params):
        return self.client.get(path, params, HTTP_AUTHORIZATION=self.auth)


@pytest.fixture
def api_for(cast, client):
    def make(org=None, mode="live"):
        org = org or cast.org_a
        with tenant_context(org):
            _key, secret = api_key_create(organization=org, name=f"{mode} key", mode=mode)
        return Api(client, secret)

    return make


@pytest.fixture
def api(api_for):
    return api_for()


def item(n=1, **overrides):
    body = {
        "external_id": f"ZD-{n}",
        "channel": "email",
        "agent": {"email": "ann@acme.test"},
        "customer": {"name": "Lee Park", "email": f"lee{n}@example.com", "language": "es"},
        "occurred_at": (timezone.now() - timedelta(minutes=10)).isoformat(),
        "tags": ["billing"],
        "properties": {"order_id": "A-77"},
        "ticket_url": f"https://helpdesk.example/tickets/{n}",
    }
    body.update(overrides)
    return body


def in_org(org, fn):
    with tenant_context(org):
        return fn()


def counts(org):
    return in_org(org, lambda: (Interaction.objects.count(), FeedbackRequest.objects.count()))


def errors_of(resp):
    body = resp.json()
    assert set(body) == {"errors"}, body
    for e in body["errors"]:
        assert set(e) == {"field", "reason"} and e["reason"]
    return {e["field"] for e in body["errors"]}


# --- single -----------------------------------------------------------------------------------


def test_public_ids_are_time_ordered_uuid7_from_the_api_the_orm_and_the_database(cast, api):
    first = uuid.UUID(api.post(URL, item(1)).json()["id"])
    later = uuid.UUID(api.post(URL, item(2)).json()["id"])
    with tenant_context(cast.org_a):
        request_ids = list(
            FeedbackRequest.objects.order_by("id").values_list("public_id", flat=True)
        )
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("SELECT coachhub_uuid7(), coachhub_uuid7()")
            from_db = cur.fetchone()
    made = [first, later, *request_ids, cast.ann.public_id, cast.team_a1.public_id, *from_db]
    assert {u.version for u in made} == {7}
    assert {u.variant for u in made} == {uuid.RFC_4122}
    # The first 48 bits are the creation time in milliseconds: ids sort as they were made.
    assert first.int >> 80 <= later.int >> 80 <= from_db[0].int >> 80 <= from_db[1].int >> 80
    assert first != later and from_db[0] != from_db[1]


def test_post_stores_interaction_with_agent_team_and_scheduled_request(cast, api):
    resp = api.post(URL, item(1, agent={"employee_id": "A-1"}))
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["external_id"] == "ZD-1" and body["source"] == "api" and body["mode"] == "live"
    assert body["status"] == "scheduled" and body["survey_state"] == "pending"
    assert body["agent"]["id"] == str(cast.ann.public_id) and body["agent"]["employee_id"] == "A-1"
    assert body["team"]["id"] == str(cast.team_a1.public_id)
    assert body["customer"] == {
        "name": "Lee Park",
        "email": "lee1@example.com",
        "phone": "",
        "language": "es",
    }
    assert body["tags"] == ["billing"] and body["properties"] == {"order_id": "A-77"}
    # The 201 answer is built without reading the row back: it must equal what is stored.
    assert api.get(f"{URL}{body['id']}/").json() == body
    with tenant_context(cast.org_a):
        i = Interaction.objects.get(public_id=body["id"])
        assert (i.agent_id, i.team_id) == (cast.ann.pk, cast.team_a1.pk)
        req = FeedbackRequest.objects.get(interaction=i)
        assert req.kind == RequestKind.INITIAL and req.status == "scheduled"
        assert DailyRollup.objects.get(agent=cast.ann).interactions == 1


def test_repeat_post_answers_200_with_the_same_interaction_and_ignores_its_body(cast, api):
    first = api.post(URL, item(1))
    again = api.post(URL, {"external_id": "ZD-1", "channel": "fax", "agent": "nobody"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["channel"] == "email"
    assert counts(cast.org_a) == (1, 1)


def test_same_external_id_from_another_source_is_another_interaction(cast, api):
    assert api.post(URL, item(1)).status_code == 201
    assert api.post(URL, item(1, source="zendesk")).status_code == 201
    assert counts(cast.org_a) == (2, 2)


def test_agent_team_is_recorded_as_it_was_when_the_interaction_happened(cast, api):
    body = api.post(URL, item(1)).json()
    with tenant_context(cast.org_a):
        Membership.objects.filter(pk=cast.ann.pk).update(team=cast.team_a2)
    again = api.get(f"{URL}{body['id']}/").json()
    assert again["team"]["id"] == str(cast.team_a1.public_id)


def test_test_key_stores_test_data_that_never_counts(cast, api_for):
    test_api, live_api = api_for(mode="test"), api_for()
    resp = test_api.post(URL, item(1))
    assert test_api.get(f"{URL}{resp.json()['id']}/").json() == resp.json()
    assert (
        resp.status_code == 201
        and resp.json()["status"] == "test"
        and resp.json()["mode"] == "test"
    )
    # Test and live data are separate: the same external id under a live key is new.
    assert live_api.post(URL, item(1)).status_code == 201
    with tenant_context(cast.org_a):
        assert DailyRollup.objects.get().interactions == 1


def test_repeat_customer_within_the_suppression_period_is_suppressed(cast, api):
    api.post(URL, item(1, customer={"name": "Lee", "email": "Lee@Example.com"}))
    second = api.post(URL, item(2, customer={"name": "Lee", "email": "lee@example.com"}))
    assert second.json()["status"] == "suppressed" and second.json()["survey_state"] == "none"


def test_no_suppression_when_the_organization_turns_it_off(cast, api):
    Organization.objects.filter(pk=cast.org_a.pk).update(settings={"suppression_days": 0})
    api.post(URL, item(1, customer={"name": "Lee", "email": "lee@example.com"}))
    second = api.post(URL, item(2, customer={"name": "Lee", "email": "lee@example.com"}))
    assert second.json()["status"] == "scheduled"


def test_do_not_send_old_and_unsubscribed_interactions_are_stored_but_not_surveyed(cast, api):
    with tenant_context(cast.org_a):
        Unsubscribe.objects.create(organization=cast.org_a, email="gone@example.com")
    dns = api.post(URL, item(1, do_not_send=True)).json()
    old = api.post(
        URL, item(2, occurred_at=(timezone.now() - timedelta(days=15)).isoformat())
    ).json()
    unsub = api.post(URL, item(3, customer={"name": "G", "email": "GONE@example.com"})).json()
    assert (dns["status"], old["status"], unsub["status"]) == (
        "do_not_send",
        "do_not_send",
        "unsubscribed",
    )
    assert {dns["survey_state"], old["survey_state"], unsub["survey_state"]} == {"none"}
    with tenant_context(cast.org_a):
        assert sum(DailyRollup.objects.values_list("interactions", flat=True)) == 3


def test_organization_defined_channel_is_accepted(cast, api):
    assert errors_of(api.post(URL, item(1, channel="whatsapp"))) == {"channel"}
    Organization.objects.filter(pk=cast.org_a.pk).update(settings={"custom_channels": ["whatsapp"]})
    assert api.post(URL, item(1, channel="WhatsApp")).json()["channel"] == "whatsapp"


def test_occurred_at_defaults_to_now(cast, api):
    body = item(1)
    del body["occurred_at"]
    resp = api.post(URL, body)
    assert resp.status_code == 201
    assert (
        abs(
            (
                timezone.now() - timezone.datetime.fromisoformat(resp.json()["occurred_at"])
            ).total_seconds()
        )
        < 60
    )


def test_single_post_uses_a_bounded_number_of_queries(cast, api):
    api.post(URL, item(1))  # warm caches (content types, ...)
    with assert_num_queries_at_most(22):
        assert api.post(URL, item(2)).status_code == 201


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"agent": None}, "agent"),
        ({"agent": {"email": "nobody@acme.test"}}, "agent"),
        ({"agent": {"email": "bea@globex.test"}}, "agent"),  # an agent of another organization
        ({"agent": {"employee_id": "B-1"}}, "agent"),
        ({"agent": {"email": "sam@acme.test"}}, "agent"),  # a supervisor, not an agent
        ({"agent": "ann@acme.test"}, "agent"),
        ({"customer": {"name": "Lee", "email": "not-an-email"}}, "customer.email"),
        ({"customer": {"name": "Lee"}}, "customer.email"),
        ({"customer": {"email": "lee@example.com"}}, "customer.name"),
        ({"customer": "lee@example.com"}, "customer"),
        ({"channel": "fax"}, "channel"),
        ({"channel": None}, "channel"),
        ({"external_id": ""}, "external_id"),
        ({"external_id": "x" * 201}, "external_id"),
        ({"properties": {"order": {"id": 7}}}, "properties.order"),
        ({"properties": {"note": "x" * 2001}}, "properties.note"),
        ({"properties": {f"k{i}": "v" for i in range(51)}}, "properties"),
        ({"properties": ["a"]}, "properties"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"tags": "billing"}, "tags"),
        ({"tags": [{"a": 1}]}, "tags[0]"),
        # Parameters are built at collection time: a day ahead stays "future" however long
        # the suite runs before this case (10 minutes did not, in a 30-minute CI run).
        ({"occurred_at": (timezone.now() + timedelta(days=1)).isoformat()}, "occurred_at"),
        ({"occurred_at": "2026-11-23T10:15:00"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"ticket_url": "javascript:alert(1)"}, "ticket_url"),
        ({"do_not_send": "yes"}, "do_not_send"),
        ({"customer": {"name": "Lee\u0000", "email": "lee@example.com"}}, "customer.name"),
        ({"properties": {"k": "v\u0000"}}, "properties.k"),
        ({"source": "a b"}, "source"),
        (
            {"customer": {"name": "L", "email": "l@example.com", "language": "english please"}},
            "customer.language",
        ),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(cast, api, overrides, field):
    resp = api.post(URL, item(1, **overrides))
    assert resp.status_code == 400, resp.content
    assert errors_of(resp) == {field}
    assert counts(cast.org_a) == (0, 0)


def test_inactive_agent_is_refused(cast, api):
    with tenant_context(cast.org_a):
        membership_deactivate(cast.ann)
    assert errors_of(api.post(URL, item(1))) == {"agent"}


def test_every_error_of_an_item_is_reported(cast, api):
    resp = api.post(URL, {"external_id": "E", "channel": "fax", "customer": {"email": "x"}})
    assert errors_of(resp) == {"channel", "agent", "customer.name", "customer.email"}


def test_non_json_body_answers_400(cast, api):
    resp = api.post(URL, "{not json")
    assert resp.status_code == 400 and errors_of(resp) == {None}


def test_json_that_is_not_an_object_answers_400(cast, api):
    assert api.post(URL, [item(1)]).status_code == 400


def test_wrong_content_type_answers_415(cast, api):
    resp = api.post(URL, "external_id=1", content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 415 and errors_of(resp) == {None}


def test_body_over_one_mebibyte_answers_413_and_writes_nothing(cast, api):
    body = item(1, properties={"blob": "x" * 2000})
    body["padding"] = "x" * (2 * 1024 * 1024)
    resp = api.post(URL, body)
    assert resp.status_code == 413 and errors_of(resp) == {None}
    assert counts(cast.org_a) == (0, 0)


def test_no_key_answers_401(cast, client):
    resp = client.post(URL, json.dumps(item(1)), content_type="application/json")
    assert resp.status_code == 401 and errors_of(resp) == {None}


def test_revoked_or_made_up_key_answers_401(cast, client):
    resp = client.post(
        URL,
        json.dumps(item(1)),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer chk_live_nope",
    )
    assert resp.status_code == 401


# --- bulk -------------------------------------------------------------------------------------


def test_bulk_answers_ids_in_input_order_with_duplicates(cast, api):
    stored = api.post(URL, item(1)).json()["id"]
    resp = api.post(BULK, {"interactions": [item(2), item(1), item(3), item(2, channel="ignored")]})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert (body["created"], body["duplicates"]) == (2, 2)
    assert body["ids"][1] == stored and body["ids"][3] == body["ids"][0]
    assert len(set(body["ids"])) == 3
    assert counts(cast.org_a) == (3, 3)


def test_bulk_of_1000_is_stored_with_a_constant_number_of_queries(cast, api):
    items = [
        item(n, agent={"email": ("ann", "andy", "zoe")[n % 3] + "@acme.test"}) for n in range(1000)
    ]
    with assert_num_queries_at_most(25):
        resp = api.post(BULK, {"interactions": items})
    assert resp.status_code == 200 and resp.json()["created"] == 1000
    assert counts(cast.org_a) == (1000, 1000)
    with tenant_context(cast.org_a):
        assert sum(DailyRollup.objects.values_list("interactions", flat=True)) == 1000


def test_bulk_of_1001_is_refused(cast, api):
    resp = api.post(BULK, {"interactions": [item(n) for n in range(1001)]})
    assert resp.status_code == 400 and errors_of(resp) == {"interactions"}
    assert counts(cast.org_a) == (0, 0)


def test_one_bad_item_among_1000_writes_nothing_and_names_it(cast, api):
    items = [item(n) for n in range(1000)]
    items[537]["agent"] = {"email": "bea@globex.test"}
    items[900]["customer"] = {"name": "X", "email": "nope"}
    resp = api.post(BULK, {"interactions": items})
    assert resp.status_code == 400
    assert errors_of(resp) == {"interactions[537].agent", "interactions[900].customer.email"}
    assert counts(cast.org_a) == (0, 0)


@pytest.mark.parametrize("body", [{"interactions": []}, {"interactions": {"a": 1}}, [item(1)], {}])
def test_bulk_needs_a_list_of_interactions(cast, api, body):
    resp = api.post(BULK, body)
    assert resp.status_code == 400 and errors_of(resp) == {"interactions"}


def test_bulk_item_that_is_not_an_object_is_named(cast, api):
    resp = api.post(BULK, {"interactions": [item(1), "nope"]})
    assert errors_of(resp) == {"interactions[1]"}


def test_bulk_suppresses_the_second_survey_of_one_customer_in_a_call(cast, api):
    same = {"name": "Lee", "email": "lee@example.com"}
    ids = api.post(BULK, {"interactions": [item(1, customer=same), item(2, customer=same)]}).json()[
        "ids"
    ]
    with tenant_context(cast.org_a):
        statuses = [FeedbackRequest.objects.get(interaction__public_id=i).status for i in ids]
    assert statuses == ["scheduled", "suppressed"]


# --- reads ------------------------------------------------------------------------------------


def test_list_filters_by_external_id_and_since_and_pages(cast, api):
    for n in range(5):
        api.post(URL, item(n))
    page = api.get(URL, limit=2).json()
    assert len(page["results"]) == 2 and page["next"]
    assert [r["external_id"] for r in api.get(URL, external_id="ZD-3").json()["results"]] == [
        "ZD-3"
    ]
    future = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert api.get(URL, since=future).json()["results"] == []
    assert (
        len(
            api.get(URL, since=(timezone.now() - timedelta(minutes=1)).isoformat()).json()[
                "results"
            ]
        )
        == 5
    )
    assert errors_of(api.get(URL, since="last week")) == {"since"}


def test_another_organizations_key_sees_nothing_and_gets_404(cast, api, api_for):
    body = api.post(URL, item(1)).json()
    other = api_for(cast.org_b)
    assert other.get(URL).json()["results"] == []
    resp = other.get(f"{URL}{body['id']}/")
    assert resp.status_code == 404 and errors_of(resp) == {None}
    assert other.get(f"{URL}{uuid.uuid4()}/").status_code == 404
    assert api.get(f"{URL}{body['id']}/").status_code == 200


def test_same_external_id_in_two_organizations_is_two_interactions(cast, api, api_for):
    other = api_for(cast.org_b)
    assert api.post(URL, item(1)).status_code == 201
    assert other.post(URL, item(1, agent={"email": "bea@globex.test"})).status_code == 201


def test_agents_lists_the_organizations_agents_only(cast, api):
    with tenant_context(cast.org_a):
        membership_deactivate(cast.zoe)
    rows = api.get("/api/v1/agents/").json()["results"]
    by_email = {r["email"]: r for r in rows}
    assert set(by_email) == {"ann@acme.test", "andy@acme.test", "zoe@acme.test"}
    assert by_email["ann@acme.test"]["employee_id"] == "A-1"
    assert by_email["ann@acme.test"]["team"]["name"] == "Team A1"
    assert by_email["zoe@acme.test"]["active"] is False


def _response(cast, interaction_public_id, **kw):
    with tenant_context(cast.org_a):
        i = Interaction.objects.get(public_id=interaction_public_id)
        req = FeedbackRequest.objects.get(interaction=i)
        return Response.objects.create(
            organization=cast.org_a,
            request=req,
            interaction=i,
            agent_id=i.agent_id,
            team_id=i.team_id,
            **kw,
        )


def test_responses_lists_confirmed_answers_and_filters_on_updated_at(cast, api, api_for):
    a = api.post(URL, item(1)).json()["id"]
    b = api.post(URL, item(2)).json()["id"]
    old = timezone.now() - timedelta(days=2)
    _response(
        cast, a, stars=5, comment="Great", confirmed=True, updated_at=old, qualities=["Friendly"]
    )
    _response(cast, b, stars=1, confirmed=False)  # a scanner's click, never confirmed
    rows = api.get("/api/v1/responses/").json()["results"]
    assert len(rows) == 1 and rows[0]["interaction_id"] == a and rows[0]["stars"] == 5
    assert rows[0]["agent"]["id"] == str(cast.ann.public_id) and rows[0]["qualities"] == [
        "Friendly"
    ]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert api.get("/api/v1/responses/", since=since).json()["results"] == []
    assert api_for(cast.org_b).get("/api/v1/responses/").json()["results"] == []


def test_openapi_schema_describes_every_field_of_the_feedback_endpoints(cast, client):
    import yaml

    resp = client.get("/api/schema/")
    assert resp.status_code == 200
    schema = yaml.safe_load(resp.content)
    for path in [
        "/api/v1/interactions/",
        "/api/v1/interactions/bulk/",
        "/api/v1/interactions/{interaction_id}/",
        "/api/v1/agents/",
        "/api/v1/responses/",
    ]:
        assert path in schema["paths"], path
    components = schema["components"]["schemas"]
    names = [
        "InteractionIn",
        "InteractionOut",
        "BulkIn",
        "BulkOut",
        "AgentOut",
        "ResponseOut",
        "ErrorsOut",
        "CustomerIn",
        "CustomerOut",
        "AgentRefIn",
        "AgentRefOut",
        "TeamRefOut",
    ]
    undocumented = [
        f"{name}.{prop}"
        for name in names
        for prop, spec in components[name]["properties"].items()
        if not (spec.get("description") or any(x.get("description") for x in spec.get("allOf", [])))
    ]
    assert undocumented == []


def test_validate_reports_the_same_errors_and_writes_nothing(cast):
    from feedback.services.ingest import interactions_validate

    items = [item(1), item(2, channel="fax"), item(1, channel="also-ignored-duplicate")]
    with tenant_context(cast.org_a):
        assert interactions_validate(cast.org_a, items) == [
            {"field": "interactions[1].channel", "reason": ANY_REASON}
        ]
        assert Interaction.objects.count() == 0


class _AnyReason(str):
    def __eq__(self, other):
        return isinstance(other, str) and bool(other)

    __hash__ = str.__hash__


ANY_REASON = _AnyReason("any")


def test_created_answer_for_an_agent_without_team_or_profile_equals_the_stored_one(cast, api):
    with tenant_context(cast.org_a):
        Membership.objects.filter(pk=cast.andy.pk).update(team=None)
    resp = api.post(URL, item(1, agent={"email": "ANDY@acme.test"}, tags=None, properties=None))
    assert resp.status_code == 201 and resp.json()["team"] is None
    assert api.get(f"{URL}{resp.json()['id']}/").json() == resp.json()
