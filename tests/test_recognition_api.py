"""Recognition's read API: OpenAPI, auth, cursor pages, only public kudos, the key's org only."""

import pytest

from coachhub.accounts.services import api_key_create
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AgentProfile
from recognition.services.kudos import kudos_give

pytestmark = pytest.mark.django_db


def key(org):
    with tenant_context(org):
        return {"HTTP_AUTHORIZATION": f"Bearer {api_key_create(organization=org, name='k')[1]}"}


def test_openapi_schema_describes_the_recognition_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/api/v1/kudos/", "/api/v1/rewards/", "/api/v1/leaderboards/"):
        assert path in schema["paths"], path
        assert schema["paths"][path]["get"]["summary"]
    params = {p["name"] for p in schema["paths"]["/api/v1/leaderboards/"]["get"]["parameters"]}
    assert {"metric", "period", "team", "start", "end"} <= params


def test_endpoints_need_a_key(client):
    for path in ("/api/v1/kudos/", "/api/v1/rewards/", "/api/v1/leaderboards/"):
        assert client.get(path).status_code == 401


def test_kudos_pages_by_cursor_only_public_and_only_the_keys_org(cast, client):
    with tenant_context(cast.org_a):
        for i in range(3):
            kudos_give(cast.sam, cast.ann, behaviour="Empathy", message=f"ann {i}")
        kudos_give(cast.sam, cast.andy, behaviour="Teamwork", message="andy private")
        AgentProfile.objects.update_or_create(
            organization=cast.org_a,
            membership=cast.andy,
            defaults={"recognition_preference": "private"},
        )
    with tenant_context(cast.org_b):
        kudos_give(cast.bob, cast.bea, behaviour="Empathy", message="globex")
    auth = key(cast.org_a)
    first = client.get("/api/v1/kudos/?limit=2", **auth).json()
    assert [k["message"] for k in first["results"]] == ["ann 2", "ann 1"]
    second = client.get(first["next"], **auth).json()
    assert [k["message"] for k in second["results"]] == ["ann 0"] and second["next"] is None
    assert first["results"][0]["recipient"]["id"] == str(cast.ann.public_id)
    r = client.get(f"/api/v1/kudos/?agent={cast.andy.public_id}", **auth)
    assert r.json()["results"] == []
    r = client.get("/api/v1/kudos/?agent=nope", **auth)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "agent"
