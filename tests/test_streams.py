"""Feedback streams: the agent's own stream with KPIs beside the team's, the supervisor's
filtered team stream (live via htmx polling), keyset pages with bounded queries, and excluding a
response from metrics (rollups move, the card stays, marked, with who/when/why)."""

from __future__ import annotations

import pytest

from coachhub.tenancy.context import tenant_context
from feedback.models import Response

from .coaching_helpers import answered
from .conftest import assert_num_queries_at_most
from .survey_helpers import rollup

pytestmark = pytest.mark.django_db

MINE = "/o/acme/feedback/mine/"
TEAM = "/o/acme/feedback/stream/"


def test_agent_sees_only_their_own_feedback_with_kpis_beside_the_team(cast, client_for):
    answered(cast.org_a, cast.ann, 5, answers={"comment": "Ann was great"})
    answered(cast.org_a, cast.andy, 1, answers={"comment": "Andy was late"})
    body = client_for(cast.ann).get(MINE).content.decode()
    assert "Ann was great" in body and "Andy was late" not in body
    assert "Last 7 days" in body and "Your team" in body
    assert 'hx-trigger="every 10s' in body  # live by polling, no held connection


def test_my_feedback_kpis_come_from_rollups(cast, client_for):
    from feedback.selectors_stream import agent_kpis

    answered(cast.org_a, cast.ann, 5)
    answered(cast.org_a, cast.andy, 1)
    with tenant_context(cast.org_a):
        [week, month] = agent_kpis(cast.ann)
    assert week["own"]["avg_stars"] == 5.0 and week["team"]["avg_stars"] == 3.0
    assert month["own"]["responses"] == 1 and month["team"]["responses"] == 2


def test_poll_returns_only_the_cards(cast, client_for):
    answered(cast.org_a, cast.ann, 4, answers={"comment": "new one"})
    r = client_for(cast.ann).get(MINE + "?partial=1", HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert body.lstrip().startswith('<div id="stream"') and "new one" in body
    assert "<html" not in body


def test_supervisor_stream_covers_led_teams_only_and_filters(cast, client_for):
    answered(cast.org_a, cast.ann, 1, answers={"comment": "ann one"}, tags=["billing"])
    answered(cast.org_a, cast.andy, 5, answers={"comment": ""})
    answered(cast.org_a, cast.zoe, 1, answers={"comment": "zoe team a2"})
    client = client_for(cast.sam)
    body = client.get(TEAM).content.decode()
    assert "ann one" in body and "zoe team a2" not in body  # Sam leads Team A1 only
    assert "ann one" in client.get(TEAM + "?stars=1").content.decode()
    assert "ann one" not in client.get(TEAM + "?stars=5").content.decode()
    assert "ann one" in client.get(TEAM + "?has_comment=1&tag=billing").content.decode()
    assert "ann one" not in client.get(TEAM + "?tag=refunds").content.decode()
    assert "ann one" in client.get(TEAM + f"?agent={cast.ann.public_id}").content.decode()
    assert "ann one" not in client.get(TEAM + f"?agent={cast.andy.public_id}").content.decode()
    assert "ann one" in client.get(TEAM + "?channel=email").content.decode()
    assert "ann one" not in client.get(TEAM + "?channel=phone").content.decode()
    # Admins see every team.
    assert "zoe team a2" in client_for(cast.alice).get(TEAM).content.decode()


def test_filter_on_a_team_you_do_not_lead_names_the_field_and_shows_nothing(cast, client_for):
    answered(cast.org_a, cast.zoe, 1, answers={"comment": "zoe team a2"})
    body = client_for(cast.sam).get(TEAM + f"?team={cast.team_a2.public_id}").content.decode()
    assert "Choose one of your teams." in body and "zoe team a2" not in body
    body = client_for(cast.sam).get(TEAM + "?start=yesterday").content.decode()
    assert "Enter a date as YYYY-MM-DD." in body


def test_agents_have_no_team_stream_and_staff_are_sent_to_it(cast, client_for):
    assert client_for(cast.ann).get(TEAM).status_code == 403
    r = client_for(cast.sam).get(MINE)
    assert r.status_code == 302 and r["Location"].endswith(TEAM)


def test_stream_pages_with_a_cursor_and_bounded_queries(cast, client_for):
    from .coaching_helpers import burst

    burst(cast.org_a, cast.ann, 30, stars=4, comment="bulk")
    client = client_for(cast.sam)
    client.get(TEAM)  # warm the session
    with assert_num_queries_at_most(32) as first_q:
        first = client.get(TEAM)
    body = first.content.decode()
    assert body.count('<article class="card') == 25 and "Older feedback" in body
    next_url = body.split('class="btn w-100" href="')[1].split('"')[0].replace("&amp;", "&")
    with assert_num_queries_at_most(32):
        second = client.get(next_url).content.decode()
    assert second.count('<article class="card') == 5
    # 30 more cards (another agent): the same number of queries, no N+1.
    burst(cast.org_a, cast.andy, 30, stars=3, comment="more")
    with assert_num_queries_at_most(32) as again:
        client.get(TEAM)
    assert len(again.captured_queries) == len(first_q.captured_queries)
    # The agent's page too.
    agent = client_for(cast.ann)
    agent.get(MINE)
    with assert_num_queries_at_most(32):
        assert agent.get(MINE).content.decode().count('<article class="card') == 25


def test_excluding_a_response_moves_rollups_and_keeps_it_visible_marked(cast, client_for):
    response = answered(cast.org_a, cast.ann, 1, answers={"comment": "angry about policy"})
    before = rollup(cast.org_a, cast.ann)
    assert before["stars_1"] == 1 and before["responses"] == 1
    client = client_for(cast.sam)
    url = f"/o/acme/feedback/responses/{response.public_id}/exclude/"
    r = client.post(url, {"reason": "Refund policy, not the agent"})
    assert r.status_code == 302
    after = rollup(cast.org_a, cast.ann)
    assert after["stars_1"] == 0 and after["responses"] == 0 and after["stars_sum"] == 0
    with tenant_context(cast.org_a):
        row = Response.objects.get(pk=response.pk)
    assert row.excluded and row.excluded_by_id == cast.sam.pk and row.excluded_at
    assert row.excluded_reason == "Refund policy, not the agent"
    body = client.get(TEAM).content.decode()
    assert "angry about policy" in body and "Excluded" in body and "Refund policy" in body
    # Excluding twice changes nothing; including puts it back.
    client.post(url, {"reason": "again"})
    assert rollup(cast.org_a, cast.ann)["responses"] == 0
    client.post(f"/o/acme/feedback/responses/{response.public_id}/include/")
    assert rollup(cast.org_a, cast.ann) == before


def test_exclusion_needs_a_reason_and_a_supervisor_of_the_agent(cast, client_for):
    response = answered(cast.org_a, cast.ann, 1)
    url = f"/o/acme/feedback/responses/{response.public_id}/exclude/"
    r = client_for(cast.sam).post(url, {"reason": " "}, follow=True)
    assert "Say why this response should not count." in r.content.decode()
    assert client_for(cast.ann).post(url, {"reason": "mine"}).status_code == 403
    zoe = answered(cast.org_a, cast.zoe, 1)
    assert (
        client_for(cast.sam)
        .post(f"/o/acme/feedback/responses/{zoe.public_id}/exclude/", {"reason": "x"})
        .status_code
        == 404
    )  # Sam does not lead Team A2
    assert rollup(cast.org_a, cast.ann)["responses"] == 1


def test_other_organization_gets_404(cast, client_for):
    response = answered(cast.org_a, cast.ann, 1)
    r = client_for(cast.bob).post(
        f"/o/globex/feedback/responses/{response.public_id}/exclude/", {"reason": "x"}
    )
    assert r.status_code == 404
    assert client_for(cast.bob).get("/o/acme/feedback/stream/").status_code == 404
