"""The supervisor's alert inbox (open / acknowledged / resolved, one-click actions, the recovery
hook point), the rules page, and GET /api/v1/alerts/."""

from __future__ import annotations

import pytest

from coachhub.accounts.services import api_key_create
from coachhub.tenancy.context import tenant_context
from coaching import hooks
from coaching.models import Alert, AlertRule

from .coaching_helpers import answered, run_outbox

pytestmark = pytest.mark.django_db

INBOX = "/o/acme/coaching/alerts/"


def rows(response) -> str:
    """The inbox table only (the header bell repeats alert titles)."""
    return response.content.decode().split('id="alert-rows"', 1)[1]


def one_alert(cast, agent=None, comment="rude"):
    answered(cast.org_a, agent or cast.ann, 1, answers={"comment": comment})
    run_outbox(cast.org_a)
    with tenant_context(cast.org_a):
        return Alert.objects.filter(organization=cast.org_a).select_related("rule").latest("id")


def test_inbox_shows_open_alerts_and_one_click_acknowledge_and_resolve(cast, client_for):
    alert = one_alert(cast, comment="<b>shouted</b>")
    client = client_for(cast.sam)
    page = client.get(INBOX).content.decode()
    assert alert.reason in page and "Ann" in page and "&lt;b&gt;shouted&lt;/b&gt;" in page
    assert "<b>shouted</b>" not in page  # customer text is escaped
    client.post(f"{INBOX}{alert.public_id}/acknowledge/")
    assert alert.reason not in rows(client.get(INBOX))
    assert alert.reason in rows(client.get(INBOX + "?state=acknowledged"))
    client.post(f"{INBOX}{alert.public_id}/resolve/")
    with tenant_context(cast.org_a):
        alert.refresh_from_db()
    assert alert.state == "resolved" and alert.resolved_by_id == cast.sam.pk
    assert alert.acknowledged_by_id == cast.sam.pk
    detail = client.get(f"{INBOX}{alert.public_id}/").content.decode()
    assert "Resolved" in detail and "Coach on this" in detail


def test_inbox_is_narrowed_to_led_teams_and_agents_have_none(cast, client_for):
    zoe_alert = one_alert(cast, cast.zoe, comment="zoe's customer")
    assert "zoe&#x27;s customer" not in client_for(cast.sam).get(INBOX).content.decode()
    assert client_for(cast.sam).get(f"{INBOX}{zoe_alert.public_id}/").status_code == 404
    assert (
        client_for(cast.sam).post(f"{INBOX}{zoe_alert.public_id}/acknowledge/").status_code == 404
    )
    assert "zoe&#x27;s customer" in client_for(cast.alice).get(INBOX).content.decode()
    assert client_for(cast.ann).get(INBOX).status_code == 403
    assert (
        client_for(cast.bob).get(f"/o/globex/coaching/alerts/{zoe_alert.public_id}/").status_code
        == 404
    )


def test_open_a_recovery_case_is_a_hook_point(cast, client_for):
    alert = one_alert(cast)
    client = client_for(cast.sam)
    registered = list(hooks._recovery_opener)  # service recovery registers its own opener
    try:
        hooks._recovery_opener.clear()
        r = client.post(f"{INBOX}{alert.public_id}/recovery/", follow=True)
        assert "not available yet" in r.content.decode()
        opened = []
        hooks.recovery_opener_set(lambda a, m: opened.append((a.pk, m.pk)) or "/o/acme/")
        r = client.post(f"{INBOX}{alert.public_id}/recovery/")
        assert r.status_code == 302 and r["Location"] == "/o/acme/"
        assert opened == [(alert.pk, cast.sam.pk)]
    finally:
        hooks._recovery_opener[:] = registered


def test_admin_creates_and_edits_rules_with_field_errors(cast, client_for):
    client = client_for(cast.alice)
    r = client.post(
        "/o/acme/coaching/rules/", {"name": "Regex", "kind": "comment_regex", "pattern": "(x"}
    )
    assert r.status_code == 400 and "Not a valid pattern" in r.content.decode()
    r = client.post(
        "/o/acme/coaching/rules/",
        {
            "name": "Billing lows",
            "kind": "stars_at_most",
            "threshold": "3",
            "team": str(cast.team_a1.public_id),
            "channels": ["slack"],
            "is_active": "on",
        },
    )
    assert r.status_code == 302
    with tenant_context(cast.org_a):
        rule = AlertRule.objects.get(organization=cast.org_a, name="Billing lows")
    assert rule.team_id == cast.team_a1.pk and rule.channels == ["slack"] and rule.is_active
    page = client.get(f"/o/acme/coaching/rules/{rule.public_id}/").content.decode()
    assert "Billing lows" in page
    r = client.post(
        "/o/acme/coaching/rules/",
        {"name": "x", "kind": "not_resolved", "team": str(cast.team_b1.public_id)},
    )
    assert r.status_code == 400 and "Choose a team of this organization." in r.content.decode()
    client.post(f"/o/acme/coaching/rules/{rule.public_id}/delete/")
    with tenant_context(cast.org_a):
        assert not AlertRule.objects.filter(pk=rule.pk).exists()


def test_a_rule_with_alerts_is_deactivated_not_deleted(cast, client_for):
    alert = one_alert(cast)
    client_for(cast.alice).post(f"/o/acme/coaching/rules/{alert.rule.public_id}/delete/")
    with tenant_context(cast.org_a):
        rule = AlertRule.objects.get(pk=alert.rule_id)
    assert not rule.is_active


def test_alerts_api_lists_the_keys_organization_only(cast, client):
    alert = one_alert(cast)
    with tenant_context(cast.org_b):
        answered(cast.org_b, cast.bea, 1)
        run_outbox(cast.org_b)
    with tenant_context(cast.org_a):
        _key, secret = api_key_create(organization=cast.org_a, name="BI")
    r = client.get("/api/v1/alerts/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert r.status_code == 200
    data = r.json()
    assert data["next"] is None
    [row] = data["results"]
    assert row["id"] == str(alert.public_id)
    assert {"id", "rule", "interaction", "agent", "reason", "created_at", "state"} <= set(row)
    assert row["state"] == "open" and row["rule"]["name"] == alert.rule.name
    r = client.get(
        "/api/v1/alerts/?since=2999-01-01T00:00:00Z", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert r.json()["results"] == []
    r = client.get("/api/v1/alerts/?since=yesterday", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "since"
    assert client.get("/api/v1/alerts/").status_code == 401
