"""Formal coaching: 1:1 sessions (state machine, private notes never reaching the agent, one
focus behaviour, rating aggregation), SMART goals (validation, progress from rollups across a
time-zone day boundary, met recorded once), effectiveness statistics on synthetic data,
coverage, the API, cross-tenant and cross-role access."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from coachhub.accounts.services import api_key_create
from coachhub.core.models import Event, Notification
from coachhub.tenancy.context import tenant_context
from coaching.models import FocusBehaviour
from coaching.models_sessions import CoachingSession, GoalStatus, SessionState
from coaching.selectors_sessions import private_notes_for, ratings_by_supervisor
from coaching.services import effectiveness as eff
from coaching.services import goals as goal_svc
from coaching.services import sessions as svc

from .coaching_helpers import answered, run_outbox

SECRET = "PRIVATE-COACH-ONLY-7f3a"
S = SessionState


def url(org, path):
    return f"/o/{org.slug}/coaching/{path}"


def behaviours(org, *names):
    with tenant_context(org):
        return [FocusBehaviour.objects.get_or_create(organization=org, name=n)[0] for n in names]


def prepared(cast, **kw):
    with tenant_context(cast.org_a):
        return svc.session_prepare(supervisor=cast.sam, agent=cast.ann, purpose="Empathy", **kw)


def move(session, to, actor):
    with tenant_context(session.organization_id):
        svc.transition(session, to, actor)


def signed_in(member):
    """A separate client per member (``client_for`` re-signs one shared client)."""
    from django.test import Client

    c = Client()
    c.force_login(member.user)
    return c


def key(org):
    with tenant_context(org):
        return {"HTTP_AUTHORIZATION": f"Bearer {api_key_create(organization=org, name='k')[1]}"}


# --- state machine ---


def test_session_walks_draft_shared_acknowledged_followed_up_closed(cast):
    s = prepared(cast)
    assert s.state == S.DRAFT
    move(s, S.SHARED, cast.sam)
    move(s, S.ACKNOWLEDGED, cast.ann)
    with tenant_context(cast.org_a):
        svc.session_record(s, cast.sam, {"grow_goal": "Warmer openings"}, developmental=True)
        assert s.follow_up_due_at is not None
        # developmental content: closing before the follow-up is refused
        with pytest.raises(svc.SessionInvalid) as exc:
            svc.transition(s, S.CLOSED, cast.sam)
        assert "state" in exc.value.errors
    move(s, S.FOLLOWED_UP, cast.sam)
    move(s, S.CLOSED, cast.sam)
    with tenant_context(cast.org_a):
        s.refresh_from_db()
    assert s.state == S.CLOSED and s.closed_at and s.shared_at and s.acknowledged_at


@pytest.mark.parametrize(
    "path,to,who",
    [
        ((), S.ACKNOWLEDGED, "ann"),  # draft → acknowledged
        ((), S.CLOSED, "sam"),  # draft → closed
        ((S.SHARED,), S.CLOSED, "sam"),  # shared → closed
        ((S.SHARED,), S.FOLLOWED_UP, "sam"),
        ((S.SHARED,), S.ACKNOWLEDGED, "sam"),  # only the agent acknowledges
        ((), S.SHARED, "ann"),  # only the coach shares
        ((S.SHARED, S.ACKNOWLEDGED, S.CLOSED), S.SHARED, "sam"),  # closed is final
    ],
)
def test_illegal_transitions_are_refused(cast, path, to, who):
    s = prepared(cast)
    actors = {S.SHARED: cast.sam, S.ACKNOWLEDGED: cast.ann, S.CLOSED: cast.sam}
    for step in path:
        move(s, step, actors[step])
    before = s.state
    with tenant_context(cast.org_a), pytest.raises(svc.SessionInvalid) as exc:
        svc.transition(s, to, getattr(cast, who))
    assert set(exc.value.errors) <= {"state", "session"}
    with tenant_context(cast.org_a):
        assert CoachingSession.objects.get(pk=s.pk).state == before


def test_a_session_has_one_focus_behaviour_the_form_refuses_two(cast, client_for):
    a, b = behaviours(cast.org_a, "Empathy", "Ownership")
    client = signed_in(cast.sam)
    r = client.post(
        url(cast.org_a, "sessions/new/"),
        {"agent": str(cast.ann.public_id), "behaviour": [str(a.public_id), str(b.public_id)]},
    )
    assert r.status_code == 400
    assert "One focus behaviour per session" in r.content.decode()
    with tenant_context(cast.org_a):
        assert not CoachingSession.objects.exists()
    r = client.post(
        url(cast.org_a, "sessions/new/"),
        {"agent": str(cast.ann.public_id), "behaviour": [str(a.public_id)]},
    )
    assert r.status_code == 302
    with tenant_context(cast.org_a):
        assert CoachingSession.objects.get().behaviour_id == a.pk


def test_preparation_brings_saved_items_and_a_metric_snapshot(cast):
    from coaching.services.notes import saved_toggle

    response = answered(cast.org_a, cast.ann, 2)
    with tenant_context(cast.org_a):
        saved_toggle(cast.ann, response=response)
    s = prepared(cast)
    with tenant_context(cast.org_a):
        assert [i.response_id for i in s.items.all()] == [response.pk]
    rows = {r["metric"]: r for r in s.metric_snapshot["rows"]}
    assert "avg_stars" in rows and "team_n" in rows["avg_stars"]


# --- private notes never reach the agent ---


def test_private_notes_never_reach_the_agent_page_api_email_export(cast, client_for, client):
    assert cast.ann.email_notifications
    s = prepared(cast)
    with tenant_context(cast.org_a):
        svc.private_note_add(s, cast.sam, f"Seems tired lately {SECRET}")
    mail.outbox.clear()
    with tenant_context(cast.org_a):
        svc.transition(s, S.SHARED, cast.sam)
    move(s, S.ACKNOWLEDGED, cast.ann)
    with tenant_context(cast.org_a):
        svc.transition(s, S.CLOSED, cast.sam)

    # the coach sees them
    coach_page = signed_in(cast.sam).get(url(cast.org_a, f"sessions/{s.public_id}/"))
    assert SECRET in coach_page.content.decode()
    # page
    agent = signed_in(cast.ann)
    page = agent.get(url(cast.org_a, f"sessions/{s.public_id}/"))
    assert page.status_code == 200 and SECRET not in page.content.decode()
    # selector: nobody but the coach, not even the admin
    with tenant_context(cast.org_a):
        assert private_notes_for(s, cast.ann) == []
        assert private_notes_for(s, cast.alice) == []
    # export (the agent's and the coach's)
    for c in (agent, signed_in(cast.sam)):
        csv = c.get(url(cast.org_a, "sessions/export.csv"))
        assert csv.status_code == 200 and str(s.public_id) in csv.content.decode()
        assert SECRET not in csv.content.decode()
    # API
    api = client.get("/api/v1/sessions/", **key(cast.org_a))
    assert api.status_code == 200 and api.json()["results"][0]["id"] == str(s.public_id)
    assert SECRET not in api.content.decode()
    # e-mail (the notification e-mails, sent as the worker would) and bell
    run_outbox(cast.org_a, consumer_prefix="")
    assert any(cast.ann.user.email in m.to for m in mail.outbox)
    with tenant_context(cast.org_a):
        bodies = [n.title + n.body for n in Notification.objects.filter(recipient=cast.ann)]
    assert bodies and all(SECRET not in b for b in bodies)
    assert all(SECRET not in (m.body + str(m.subject)) for m in mail.outbox)


# --- agent's part, rating ---


def test_agent_sees_only_shared_sessions_and_adds_self_assessment(cast, client_for):
    s = prepared(cast)
    agent = signed_in(cast.ann)
    assert agent.get(url(cast.org_a, f"sessions/{s.public_id}/")).status_code == 404
    move(s, S.SHARED, cast.sam)
    assert agent.get(url(cast.org_a, f"sessions/{s.public_id}/")).status_code == 200
    r = agent.post(
        url(cast.org_a, f"sessions/{s.public_id}/self-assessment/"),
        {"self_assessment": "I rush the close", "agent_topics": "Shift swaps"},
    )
    assert r.status_code == 302
    r = agent.post(url(cast.org_a, f"sessions/{s.public_id}/state/"), {"to": "acknowledged"})
    with tenant_context(cast.org_a):
        s.refresh_from_db()
    assert s.state == S.ACKNOWLEDGED and s.self_assessment == "I rush the close"
    # another agent of the same team: 404
    assert signed_in(cast.andy).get(url(cast.org_a, f"sessions/{s.public_id}/")).status_code == 404


def test_ratings_are_shown_to_admins_only_aggregated_with_n_at_least_5(cast, client_for):
    sessions = []
    for _ in range(5):
        s = prepared(cast)
        move(s, S.SHARED, cast.sam)
        move(s, S.ACKNOWLEDGED, cast.ann)
        sessions.append(s)
    for i, s in enumerate(sessions[:4]):
        with tenant_context(cast.org_a):
            svc.session_rate(s, cast.ann, 5 - (i % 2), "ok")
    with tenant_context(cast.org_a):
        assert ratings_by_supervisor(cast.org_a) == [
            {"supervisor": cast.sam.display_name, "n": 4, "avg": None, "enough": False}
        ]
        svc.session_rate(sessions[4], cast.ann, 3)
        rows = ratings_by_supervisor(cast.org_a)
        assert rows[0]["n"] == 5 and rows[0]["avg"] == pytest.approx((5 + 4 + 5 + 4 + 3) / 5)
        with pytest.raises(svc.SessionInvalid) as exc:
            svc.session_rate(sessions[4], cast.ann, 1)
        assert "rating" in exc.value.errors
    assert signed_in(cast.alice).get(url(cast.org_a, "effectiveness/")).status_code == 200
    assert signed_in(cast.sam).get(url(cast.org_a, "effectiveness/")).status_code == 403
    assert signed_in(cast.ann).get(url(cast.org_a, "effectiveness/")).status_code == 403


def test_follow_up_reminder_lands_in_the_supervisors_inbox_once(cast):
    from coaching.selectors_sessions import session_follow_ups_due

    s = prepared(cast)
    move(s, S.SHARED, cast.sam)
    move(s, S.ACKNOWLEDGED, cast.ann)
    now = timezone.now()
    with tenant_context(cast.org_a):
        svc.session_record(s, cast.sam, {}, developmental=True, now=now)
        s.refresh_from_db()
        assert timedelta(days=1) <= s.follow_up_due_at - now <= timedelta(days=3)
        later = s.follow_up_due_at + timedelta(minutes=1)
        assert session_follow_ups_due(cast.sam, now) == []
        assert [x.pk for x in session_follow_ups_due(cast.sam, later)] == [s.pk]
        assert svc.session_follow_ups_remind(cast.org_a.pk, later) == 1
        assert svc.session_follow_ups_remind(cast.org_a.pk, later) == 0
        assert (
            Notification.objects.filter(recipient=cast.sam, kind="coaching_follow_up").count() == 1
        )


# --- effectiveness statistics (pure) ---


def _stars(rng, n, mean):
    # Discrete 1–5 ratings around ``mean``: a clipped, rounded normal.
    return [min(5, max(1, round(rng.gauss(mean, 0.9)))) for _ in range(n)]


def test_effect_of_half_a_star_is_found_and_covered():
    rng = random.Random(20261124)
    # Generated on a continuous scale so the true difference is exactly +0.5.
    before = [rng.gauss(3.5, 0.9) for _ in range(200)]
    after = [rng.gauss(4.0, 0.9) for _ in range(200)]
    e = eff.difference_ci(before, after)
    assert e.enough and e.n_before == 200 and e.n_after == 200
    assert e.low > 0, "the interval excludes 0"
    assert e.low <= 0.5 <= e.high, "the interval covers the true effect"


def test_no_effect_interval_covers_zero():
    rng = random.Random(7)
    before = _stars(rng, 200, 3.8)
    after = _stars(rng, 200, 3.8)
    e = eff.difference_ci(before, after)
    assert e.enough and e.low <= 0 <= e.high and not e.significant


def test_interval_coverage_is_about_95_percent():
    rng = random.Random(11)
    hits = 0
    for _ in range(400):
        e = eff.difference_ci(
            [rng.gauss(0, 1) for _ in range(40)], [rng.gauss(0.3, 2) for _ in range(40)]
        )
        hits += e.low <= 0.3 <= e.high
    assert 0.92 <= hits / 400 <= 0.98


def test_not_enough_data_below_minimum_n():
    e = eff.difference_ci([4.0] * 29, [5.0] * 200)
    assert not e.enough and e.low is None and e.diff == pytest.approx(1.0)


def test_t_quantile_matches_tables():
    assert eff.t_quantile_975(10) == pytest.approx(2.228, abs=2e-3)
    assert eff.t_quantile_975(30) == pytest.approx(2.042, abs=1e-3)
    assert eff.t_quantile_975(1e9) == pytest.approx(1.960, abs=1e-3)


# --- goals ---


def test_goal_form_checks_measurable_timebound_and_names_fields(cast, client_for):
    client = signed_in(cast.sam)
    today = timezone.localdate()
    r = client.post(
        url(cast.org_a, "goals/new/"),
        {
            "agent": str(cast.ann.public_id),
            "title": "Happier customers",
            "metric": "vibes",
            "target": "x",
            "due_date": str(today + timedelta(days=400)),
        },
    )
    assert r.status_code == 400
    body = r.content.decode()
    assert "metric:" in body and "due_date:" in body
    r = client.post(
        url(cast.org_a, "goals/new/"),
        {
            "agent": str(cast.ann.public_id),
            "title": "Happier customers",
            "metric": "avg_stars",
            "target": "4.5",
            "due_date": str(today),
        },
    )
    assert r.status_code == 400 and "due_date:" in r.content.decode()
    # an agent cannot set goals; a supervisor cannot for another team's agent
    assert signed_in(cast.ann).get(url(cast.org_a, "goals/new/")).status_code == 403
    r = client.post(
        url(cast.org_a, "goals/new/"),
        {
            "agent": str(cast.zoe.public_id),
            "title": "x",
            "metric": "avg_stars",
            "target": "4",
            "due_date": str(today + timedelta(days=10)),
        },
    )
    assert r.status_code == 400 and "agent:" in r.content.decode()


def test_target_beyond_the_teams_best_10_percent_warns_then_saves_on_confirm(cast, client_for):
    for stars in (3, 3, 4, 3, 3):
        answered(cast.org_a, cast.andy, stars)
    for stars in (2, 3, 3, 3, 2):
        answered(cast.org_a, cast.ann, stars)
    # rollups are by the interaction's day; the best 10 % looks at the 30 days before today,
    # so move those rows to yesterday.
    from feedback.models import DailyRollup

    with tenant_context(cast.org_a):
        DailyRollup.objects.filter(organization=cast.org_a).update(
            day=timezone.localdate(timezone.now(), cast.org_a.tz) - timedelta(days=1)
        )
    data = {
        "agent": str(cast.ann.public_id),
        "title": "Average above 4.8",
        "metric": "avg_stars",
        "target": "4.8",
        "due_date": str(timezone.localdate() + timedelta(days=30)),
    }
    client = signed_in(cast.sam)
    r = client.post(url(cast.org_a, "goals/new/"), data)
    assert r.status_code == 200 and "best 10 %" in r.content.decode()
    r = client.post(url(cast.org_a, "goals/new/"), {**data, "confirm": "1"})
    assert r.status_code == 302
    with tenant_context(cast.org_a):
        from coaching.models_sessions import Goal

        goal = Goal.objects.get()
    assert goal.baseline == pytest.approx(2.6) and goal.baseline_n == 5


def _zone_with_daytime():
    for name in ("America/New_York", "Asia/Tokyo", "Europe/Berlin", "Pacific/Auckland"):
        local = timezone.now().astimezone(ZoneInfo(name))
        if 2 <= local.hour <= 22:
            return name
    raise AssertionError("no zone in daytime")


def test_goal_progress_counts_local_days_across_a_time_zone_boundary(cast):
    zone = _zone_with_daytime()
    org = cast.org_a
    org.time_zone = zone
    org.save(update_fields=["time_zone"])
    tz = ZoneInfo(zone)
    now = timezone.now()
    local_today = now.astimezone(tz).date()
    midnight = datetime.combine(local_today, time.min, tzinfo=tz)
    with tenant_context(org):
        goal = goal_svc.goal_create(
            created_by=cast.sam,
            agent=cast.ann,
            title="Five stars more often",
            metric="avg_stars",
            target=4.5,
            due_date=local_today + timedelta(days=20),
            accept_warnings=True,
            now=now,
        )
    assert goal.start_day == local_today  # the organization's day, not UTC's
    # 30 minutes before local midnight: yesterday locally (whatever its UTC date) → not counted
    answered(org, cast.ann, 1, occurred_at=(midnight - timedelta(minutes=30)).isoformat())
    # 30 minutes after local midnight: today locally → counted
    answered(org, cast.ann, 5, occurred_at=(midnight + timedelta(minutes=30)).isoformat())
    with tenant_context(org):
        goal.refresh_from_db()
        p = goal_svc.goal_progress(goal, local_today)
    assert p.n == 1 and p.current == 5.0
    assert p.series and p.series[-1] == (local_today, 5.0)


def test_goal_met_records_the_event_exactly_once(cast):
    from coachhub.core.models import Delivery

    with tenant_context(cast.org_a):
        goal = goal_svc.goal_create(
            created_by=cast.sam,
            agent=cast.ann,
            title="Average of 4",
            metric="avg_stars",
            target=4.0,
            due_date=timezone.localdate(timezone.now(), cast.org_a.tz) + timedelta(days=14),
            accept_warnings=True,
        )
    for stars in (4, 5, 4, 5, 4):
        answered(cast.org_a, cast.ann, stars)
    with tenant_context(cast.org_a):
        assert goal_svc.goal_evaluate(goal) == GoalStatus.MET
        goal.refresh_from_db()
        assert goal_svc.goal_evaluate(goal) is None
        assert goal_svc.goals_evaluate(cast.org_a.pk) == 0
        events = list(Event.objects.filter(type="coaching.goal_met"))
        assert len(events) == 1 and events[0].data["agent_id"] == cast.ann.pk
        # recognition's badge consumer is subscribed to it
        assert Delivery.objects.filter(event=events[0], consumer="recognition.goal_met").exists()
        goal.refresh_from_db()
        assert goal.status == GoalStatus.MET and goal.final_n == 5


def test_goal_missed_after_the_due_date(cast):
    with tenant_context(cast.org_a):
        goal = goal_svc.goal_create(
            created_by=cast.sam,
            agent=cast.ann,
            title="Fifty answers",
            metric="responses",
            target=50,
            due_date=timezone.localdate(timezone.now(), cast.org_a.tz) + timedelta(days=3),
            accept_warnings=True,
        )
        later = timezone.now() + timedelta(days=5)
        assert goal_svc.goal_evaluate(goal, now=later) == GoalStatus.MISSED
        assert Event.objects.filter(type="coaching.goal_missed").count() == 1


def test_goal_page_and_api_show_computed_progress(cast, client_for, client):
    with tenant_context(cast.org_a):
        goal = goal_svc.goal_create(
            created_by=cast.sam,
            agent=cast.ann,
            title="CSAT 90",
            metric="csat",
            target=90,
            due_date=timezone.localdate(timezone.now(), cast.org_a.tz) + timedelta(days=30),
            accept_warnings=True,
        )
    answered(cast.org_a, cast.ann, 5)
    page = signed_in(cast.ann).get(url(cast.org_a, f"goals/{goal.public_id}/"))
    assert page.status_code == 200 and "100 %" in page.content.decode()
    assert signed_in(cast.andy).get(url(cast.org_a, f"goals/{goal.public_id}/")).status_code == 404
    api = client.get("/api/v1/goals/", **key(cast.org_a)).json()
    assert api["results"][0]["progress"]["current"] == 100.0
    assert api["results"][0]["progress"]["n"] == 1
    assert client.get("/api/v1/goals/", **key(cast.org_b)).json()["results"] == []


# --- pages, API, cross-tenant / cross-role ---


def test_openapi_describes_the_coaching_endpoints(client):
    schema = client.get("/api/schema/").content.decode()
    for path in ("/api/v1/coaching-notes/", "/api/v1/sessions/", "/api/v1/goals/"):
        assert path in schema


def test_api_pages_by_cursor_and_only_the_keys_org(cast, client):
    for _ in range(3):
        prepared(cast)
    with tenant_context(cast.org_b):
        svc.session_prepare(supervisor=cast.bob, agent=cast.bea)
    h = key(cast.org_a)
    first = client.get("/api/v1/sessions/?limit=2", **h).json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"], **h).json()
    assert len(second["results"]) == 1 and second["next"] is None
    assert client.get("/api/v1/sessions/").status_code == 401
    assert len(client.get("/api/v1/sessions/", **key(cast.org_b)).json()["results"]) == 1


def test_pages_work_per_role(cast, client_for):
    s = prepared(cast)
    sam, alice, ann = signed_in(cast.sam), signed_in(cast.alice), signed_in(cast.ann)
    for path in ("sessions/", "goals/", "coverage/", f"sessions/{s.public_id}/", "sessions/new/"):
        assert sam.get(url(cast.org_a, path)).status_code == 200, path
        assert alice.get(url(cast.org_a, path)).status_code == 200, path
    assert alice.get(url(cast.org_a, "session-categories/")).status_code == 200
    assert sam.get(url(cast.org_a, "session-categories/")).status_code == 403
    assert ann.get(url(cast.org_a, "sessions/")).status_code == 200
    assert ann.get(url(cast.org_a, "sessions/new/")).status_code == 403
    assert ann.get(url(cast.org_a, "coverage/")).status_code == 403
    # the agent cannot write the coach's parts
    move(s, S.SHARED, cast.sam)
    r = ann.post(url(cast.org_a, f"sessions/{s.public_id}/private-notes/"), {"body": "x"})
    assert r.status_code == 403
    r = ann.post(url(cast.org_a, f"sessions/{s.public_id}/notes/"), {"grow_goal": "x"})
    assert r.status_code == 403
    # the admin may see the session but not write the coach's notes or rate it
    r = alice.post(url(cast.org_a, f"sessions/{s.public_id}/rate/"), {"rating": "5"})
    assert r.status_code == 403
    # a bad value names the field
    move(s, S.ACKNOWLEDGED, cast.ann)
    r = ann.post(url(cast.org_a, f"sessions/{s.public_id}/rate/"), {"rating": "9"}, follow=True)
    assert "rating: Choose 1 to 5." in r.content.decode()
    with tenant_context(cast.org_a):
        assert private_notes_for(s, cast.sam) == []
    # another org's session: 404
    with tenant_context(cast.org_b):
        other = svc.session_prepare(supervisor=cast.bob, agent=cast.bea)
    assert alice.get(url(cast.org_a, f"sessions/{other.public_id}/")).status_code == 404
    # a supervisor not leading the agent's team cannot prepare for them
    with tenant_context(cast.org_a), pytest.raises(svc.SessionInvalid) as exc:
        svc.session_prepare(supervisor=cast.sam, agent=cast.zoe)
    assert "agent" in exc.value.errors


def test_category_form_names_the_field(cast, client_for):
    client = signed_in(cast.alice)
    r = client.post(url(cast.org_a, "session-categories/"), {"name": "", "prompts": "a"})
    assert r.status_code == 400
    assert 'id="c-name-error">Name the category.</div>' in r.content.decode()
    r = client.post(
        url(cast.org_a, "session-categories/"),
        {"name": "Onboarding", "prompts": "What went well?\nWhat will you try?"},
    )
    assert r.status_code == 302


def test_coverage_counts_micro_notes_and_one_on_ones(cast):
    from coaching.selectors_sessions import coverage
    from coaching.services.notes import note_create

    (b,) = behaviours(cast.org_a, "Empathy")
    with tenant_context(cast.org_a):
        note_create(author=cast.sam, agent=cast.ann, kind="praise", behaviour=b, body="Nice")
    s = prepared(cast)
    move(s, S.SHARED, cast.sam)
    with tenant_context(cast.org_a):
        rows = {r["team"].name: r for r in coverage(cast.sam)}
    assert rows["Team A1"]["agents"] == 2
    assert rows["Team A1"]["micro_pct"] == 50 and rows["Team A1"]["one_on_one_pct"] == 50
    assert rows["Team A1"]["leads"][0]["ratio"]["praise"] == 1
    assert "Team A2" not in rows


# --- effectiveness on stored data ---------------------------------------------------------------


def test_response_count_goal_effect_compares_daily_counts(cast):
    from coaching.models_sessions import Goal
    from coaching.selectors_sessions import goal_effect
    from feedback.models import DailyRollup

    org = cast.org_a
    now = timezone.now()
    day0 = timezone.localdate(now, org.tz) - timedelta(days=30)
    with tenant_context(org):
        for k in range(1, 31):
            DailyRollup.objects.create(
                organization=org, day=day0 - timedelta(days=k), agent=cast.ann,
                team=cast.team_a1, responses=2 + (k % 2),
            )  # fmt: skip
            DailyRollup.objects.create(
                organization=org, day=day0 + timedelta(days=k - 1), agent=cast.ann,
                team=cast.team_a1, responses=4 + (k % 2),
            )  # fmt: skip
        goal = Goal.objects.create(
            organization=org, agent=cast.ann, created_by=cast.sam, title="More answers",
            metric="responses", target=100, start_day=day0, due_date=day0 + timedelta(days=40),
            created_at=now - timedelta(days=30),
        )  # fmt: skip
        e = goal_effect(goal)
    assert e.enough and e.n_before == 30 and e.n_after == 30
    assert e.diff == pytest.approx(2.0) and e.low > 0


def test_effectiveness_report_per_behaviour_coach_and_agent(cast, client_for):
    from coaching.selectors_sessions import effectiveness_report
    from coaching.services.notes import note_create

    (b,) = behaviours(cast.org_a, "Empathy")
    rng = random.Random(3)
    for _ in range(30):
        answered(cast.org_a, cast.ann, rng.choice([2, 3, 3, 4]))
    with tenant_context(cast.org_a):
        note_create(author=cast.sam, agent=cast.ann, kind="developmental", behaviour=b, body="x")
    for _ in range(30):
        answered(cast.org_a, cast.ann, rng.choice([4, 5, 5, 5]))
    with tenant_context(cast.org_a):
        report = effectiveness_report(cast.org_a)
    (row,) = report["behaviour"]
    assert row["name"] == "Empathy" and row["effect"].enough
    assert row["effect"].n_before == 30 and row["effect"].n_after == 30 and row["effect"].low > 0
    assert [r["name"] for r in report["supervisor"]] == [cast.sam.display_name]
    page = signed_in(cast.alice).get(url(cast.org_a, "effectiveness/"))
    assert page.status_code == 200 and "Empathy" in page.content.decode()
