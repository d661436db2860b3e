"""Leaderboards: read from DailyRollup, Bayesian-ranked, n and raw beside smoothed, "not
enough data" apart, per team or organization, agent visibility settings, API, bounded queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from coachhub.accounts.services import api_key_create
from coachhub.tenancy.context import tenant_context
from recognition import selectors

from .conftest import assert_num_queries_at_most
from .factories import make_member
from .recognition_helpers import rollup

pytestmark = pytest.mark.django_db


def today(org):
    return timezone.now().astimezone(org.tz).date()


@pytest.fixture
def board(cast):
    """Ann: 5 lucky fives today; Andy: 60 ratings averaging 4.5 over the week; Zoe (team A2):
    3 ratings — not enough data. Old history outside the week must not count."""
    org = cast.org_a
    org.settings = {**org.settings, "leaderboard_min_n": 5, "leaderboard_prior_weight": 20}
    org.save()
    d = today(org)
    rollup(org, cast.ann, d, stars=[5] * 5, fcr=(5, 0))
    for i in range(6):
        rollup(org, cast.andy, d - timedelta(days=i), stars=[5] * 5 + [4] * 5, fcr=(8, 2))
    rollup(org, cast.zoe, d, stars=[5, 5, 5])
    # a steady teammate: the team mean (the prior) is a realistic 4.2, not Andy's 4.5
    cast.al = make_member(org, team=cast.team_a1, user=None)
    for i in range(5):
        rollup(org, cast.al, d - timedelta(days=i), stars=[4] * 20)
    rollup(org, cast.ann, d - timedelta(days=40), stars=[1] * 50)
    return cast


def test_five_lucky_ratings_rank_below_sixty_good_ones_and_old_history_is_ignored(board):
    with tenant_context(board.org_a):
        lb = selectors.leaderboard(board.org_a, metric="stars", period="week")
    names = [e.name for e in lb.board.ranked]
    assert names[:2] == ["Andy Agent", "Ann Agent"] and len(names) == 3
    ann = lb.board.ranked[1]
    assert (ann.n, ann.raw) == (5, 5.0) and ann.smoothed < lb.board.ranked[0].smoothed
    assert [(e.name, e.n) for e in lb.board.not_enough] == [("Zoe Agent", 3)]


def test_team_board_and_percent_metrics(board):
    with tenant_context(board.org_a):
        lb = selectors.leaderboard(board.org_a, metric="fcr", period="week", team=board.team_a1)
        assert {"Andy Agent", "Ann Agent"} <= {e.name for e in lb.board.ranked}
        assert lb.board.ranked[0].raw in (100.0, 80.0)
        empty = selectors.leaderboard(board.org_a, metric="csat", period="week", team=board.team_a2)
        assert empty.board.ranked == [] and [e.name for e in empty.board.not_enough] == [
            "Zoe Agent"
        ]


def test_page_shows_n_raw_smoothed_and_explains_the_method(board, client_for):
    c = client_for(board.alice)
    url = reverse("recognition:leaderboard", kwargs={"org": board.org_a.slug})
    with tenant_context(board.org_a):
        for _i in range(30):  # more agents must not mean more queries
            make_member(board.org_a, team=board.team_a1)
    with assert_num_queries_at_most(30):
        r = c.get(url)
    page = r.content.decode()
    assert r.status_code == 200
    assert "Bayesian-smoothed" in page and "Not enough data" in page and "prior weight" in page
    assert "5.00★" in page  # Ann's raw average beside her smoothed one
    r = c.get(url, {"period": "custom", "start": "2026-11-10", "end": ""})
    assert r.status_code == 400 and 'id="id_end_error"' in r.content.decode()


def test_agents_see_leaderboards_only_when_enabled_and_then_top_n_and_own_rank(board, client_for):
    url = reverse("recognition:leaderboard", kwargs={"org": board.org_a.slug})
    assert client_for(board.zoe).get(url).status_code == 403
    org = board.org_a
    org.settings = {
        **org.settings,
        "leaderboard_agents_enabled": True,
        "leaderboard_agents_top_n": 1,
    }
    org.save()
    page = client_for(board.zoe).get(url, {"metric": "stars", "period": "week"}).content.decode()
    assert (
        "Andy Agent" in page and "Ann Agent" not in page and "Zoe Agent" in page
    )  # top 1 + own row
    assert client_for(board.zoe).get(url, {"team": str(board.team_a1.public_id)}).status_code == 200


def test_leaderboard_api(board, client):
    with tenant_context(board.org_a):
        _k, secret = api_key_create(organization=board.org_a, name="a")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    r = client.get("/api/v1/leaderboards/", {"metric": "stars", "period": "week"}, **auth)
    body = r.json()
    assert r.status_code == 200 and body["prior_weight"] == 20 and body["min_n"] == 5
    assert [e["name"] for e in body["ranked"]][:2] == ["Andy Agent", "Ann Agent"]
    assert body["ranked"][0]["rank"] == 1 and body["not_enough_data"][0]["rank"] is None
    r = client.get("/api/v1/leaderboards/", {"team": str(board.team_a2.public_id)}, **auth)
    assert [e["name"] for e in r.json()["not_enough_data"]] == ["Zoe Agent"]
    for params, field in (
        ({"metric": "speed"}, "metric"),
        ({"period": "year"}, "period"),
        ({"team": str(board.team_b1.public_id)}, "team"),
        ({"team": "x"}, "team"),
        ({"period": "custom", "start": "2026-13-01"}, "start"),
    ):
        r = client.get("/api/v1/leaderboards/", params, **auth)
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == field, params
