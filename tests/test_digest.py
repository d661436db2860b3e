"""Daily digest and weekly recap over a real SMTP conversation (aiosmtpd on loopback): what a
supervisor's digest contains (their teams only, never another team's or organization's
response; customer text escaped; HTML + text), when it is due in the organization's time, the
opt-out, and exactly-once under duplicate triggers, concurrent runs and a send that fails
mid-batch."""

from __future__ import annotations

import threading
import time as time_module
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role
from coaching.models import Alert, AlertRule
from coaching.models_digest import Digest, DigestKind, DigestStatus
from coaching.services import digest as svc
from feedback.selectors_insights import today_for

from .coaching_helpers import answered
from .factories import UserFactory, make_member
from .test_survey_smtp import _parts, smtp  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def at_local(org, day, hh=8, mm=5):
    return datetime.combine(day, time(hh, mm), tzinfo=org.tz)


def yesterday_noon(org) -> str:
    y = today_for(org) - timedelta(days=1)
    return datetime.combine(y, time(12, 0), tzinfo=org.tz).isoformat()


def mails_to(sink, address):
    return [e for e in sink.envelopes if address in e.rcpt_tos]


def run(org, now=None):
    return svc.digests_run(org.pk, now=now or at_local(org, today_for(org)))


def test_supervisor_digest_covers_yesterday_for_led_teams_only(cast, smtp):  # noqa: F811
    org = cast.org_a
    when = yesterday_noon(org)
    answered(org, cast.ann, 5, answers={"comment": "Ann <b>saved</b> my day"}, occurred_at=when)
    answered(org, cast.andy, 1, answers={"comment": "Andy was rude"}, occurred_at=when)
    answered(org, cast.zoe, 1, answers={"comment": "ZOE TEAM A2 SECRET"}, occurred_at=when)
    answered(cast.org_b, cast.bea, 1, answers={"comment": "GLOBEX SECRET"}, occurred_at=when)
    with tenant_context(org):
        rule = AlertRule.objects.filter(organization=org).first()
        for agent, team in ((cast.andy, cast.team_a1), (cast.zoe, cast.team_a2)):
            r = answered(org, agent, 2)
            with tenant_context(org):
                Alert.objects.create(
                    organization=org, rule=rule, response=r, interaction_id=r.interaction_id,
                    agent=agent, team=team, reason=f"Low rating for {agent.user.first_name}",
                )  # fmt: skip
    counts = run(org)
    assert counts.get("sent", 0) >= 1
    [mail] = mails_to(smtp, "sam@acme.test")
    message, text, html = _parts(mail)
    assert "Acme Support" in message["Subject"]
    for body in (text, html):
        assert "Team A1" in body and "Andy was rude" in body
        assert "ZOE TEAM A2 SECRET" not in body and "GLOBEX SECRET" not in body
        assert "Low rating for Andy" in body and "Low rating for Zoe" not in body
        assert "Average stars" in body and "3.00" in body
    assert "Ann &lt;b&gt;saved&lt;/b&gt; my day" in html and "<b>saved</b>" not in html
    assert "Ann <b>saved</b> my day" in text  # plain text is not HTML
    # Agents get no daily digest; org B's supervisor gets only org B.
    assert mails_to(smtp, "ann@acme.test") == []
    assert mails_to(smtp, "bob@globex.test") == []  # org B's digests are org B's task
    svc.digests_run(cast.org_b.pk, now=at_local(cast.org_b, today_for(cast.org_b)))
    [bob] = mails_to(smtp, "bob@globex.test")
    _m, text, html = _parts(bob)
    assert "GLOBEX SECRET" in text and "Andy was rude" not in text and "Acme" not in html


def test_due_at_the_organization_digest_time_in_its_time_zone(cast):
    org = cast.org_a
    org.time_zone = "Europe/Berlin"
    org.save()
    day = today_for(org)
    assert svc.due_day(org, at_local(org, day, 7, 59)) is None
    assert svc.due_day(org, at_local(org, day, 8, 0)) == day - timedelta(days=1)
    assert svc.due_day(org, at_local(org, day, 12, 0)) is None  # past the send window
    org.settings = {**org.settings, "digest_time": "06:30"}
    assert svc.due_day(org, at_local(org, day, 6, 31)) == day - timedelta(days=1)


def test_sent_once_per_member_and_day_when_beat_runs_twice(cast, smtp):  # noqa: F811
    org = cast.org_a
    answered(org, cast.ann, 4, answers={"comment": "ok"}, occurred_at=yesterday_noon(org))
    run(org)
    run(org)
    with tenant_context(org):
        svc.digests_plan(org, today_for(org) - timedelta(days=1))  # the sweeper, again
    run(org)
    assert len(mails_to(smtp, "sam@acme.test")) == 1
    with tenant_context(org):
        rows = list(Digest.objects.filter(organization_id=org.pk).values_list("status", flat=True))
    assert rows == [DigestStatus.SENT]


def test_a_failed_send_mid_batch_is_retried_and_nobody_gets_two(cast, smtp):  # noqa: F811
    org = cast.org_a
    for i in range(3):
        u = UserFactory(username=f"lead{i}@acme.test", email=f"lead{i}@acme.test")
        make_member(org, Role.SUPERVISOR, user=u, teams_led=[cast.team_a1])
    smtp.refuse["lead1@acme.test"] = "451 4.3.0 try again later"
    counts = run(org)
    assert counts["sent"] == 3 and counts["failed"] == 1  # sam + lead0 + lead2
    del smtp.refuse["lead1@acme.test"]
    counts = run(org)
    assert counts == {"planned": 0, "sent": 1}
    for address in ("sam@acme.test", "lead0@acme.test", "lead1@acme.test", "lead2@acme.test"):
        assert len(mails_to(smtp, address)) == 1, address


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_send_each_digest_exactly_once(cast, smtp):  # noqa: F811
    org = cast.org_a
    for i in range(12):
        u = UserFactory(username=f"s{i}@acme.test", email=f"s{i}@acme.test")
        make_member(org, Role.SUPERVISOR, user=u, teams_led=[cast.team_a1])
    now = at_local(org, today_for(org))
    errors = []

    def worker():
        try:
            svc.digests_run(org.pk, now=now)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    recipients = [r for e in smtp.envelopes for r in e.rcpt_tos]
    assert len(recipients) == 13 and len(set(recipients)) == 13


def test_opt_out_per_member(cast, smtp, client_for):  # noqa: F811
    c = client_for(cast.sam)
    assert c.post("/o/acme/coaching/digest/", {"opt_out": "1"}).status_code == 302
    assert "You have turned it off" in c.get("/o/acme/coaching/digest/").content.decode()
    run(cast.org_a)
    assert mails_to(smtp, "sam@acme.test") == []
    c.post("/o/acme/coaching/digest/", {"opt_out": "0"})
    assert "Stop these e-mails" in c.get("/o/acme/coaching/digest/").content.decode()


def test_agents_get_a_weekly_recap_of_their_own_feedback_on_mondays(cast, smtp):  # noqa: F811
    org = cast.org_a
    today = today_for(org)
    monday = today - timedelta(days=today.weekday())
    sunday = monday - timedelta(days=1)
    when = datetime.combine(sunday - timedelta(days=2), time(12), tzinfo=org.tz)
    if timezone.now() - when < timedelta(days=13):  # still within survey expiry
        answered(org, cast.ann, 5, answers={"comment": "ANN WEEK"}, occurred_at=when.isoformat())
        answered(org, cast.andy, 1, answers={"comment": "ANDY WEEK"}, occurred_at=when.isoformat())
    svc.digests_run(org.pk, now=at_local(org, monday))
    [mail] = mails_to(smtp, "ann@acme.test")
    _m, text, html = _parts(mail)
    assert "Your week" in _m["Subject"] and "ANDY WEEK" not in text + html
    assert "ANN WEEK" in text
    assert len(mails_to(smtp, "andy@acme.test")) == 1
    # Not on other days.
    smtp.envelopes.clear()
    svc.digests_run(org.pk, now=at_local(org, monday + timedelta(days=1)))
    assert mails_to(smtp, "ann@acme.test") == []


def test_preview_page_per_role_and_organization(cast, client_for):
    org = cast.org_a
    when = yesterday_noon(org)
    answered(org, cast.ann, 5, answers={"comment": "A1 preview"}, occurred_at=when)
    answered(org, cast.zoe, 5, answers={"comment": "A2 hidden"}, occurred_at=when)
    body = client_for(cast.sam).get("/o/acme/coaching/digest/").content.decode()
    assert "A1 preview" in body and "A2 hidden" not in body and "Daily digest" in body
    body = client_for(cast.ann).get("/o/acme/coaching/digest/").content.decode()
    assert "Weekly recap" in body and "A2 hidden" not in body
    assert "lead no team" in client_for(cast.alice).get("/o/acme/coaching/digest/").content.decode()
    body = client_for(cast.bob).get("/o/globex/coaching/digest/").content.decode()
    assert "A1 preview" not in body


def test_digest_kind_values():
    assert set(DigestKind.values) == {"daily", "weekly"}


def test_digest_lists_the_supervisors_follow_ups_due_today_only(cast):
    from coaching.models import FocusBehaviour, FollowUp, NoteKind
    from coaching.services.notes import note_create

    org = cast.org_a
    with tenant_context(org):
        note = note_create(
            author=cast.sam, agent=cast.ann, kind=NoteKind.DEVELOPMENTAL,
            behaviour=FocusBehaviour.objects.filter(organization=org).first(), body="Recap first",
        )  # fmt: skip
        today = today_for(org)
        FollowUp.objects.filter(organization=org, note=note).update(
            due_at=at_local(org, today, 15, 0)
        )
        content = svc.digest_content(cast.sam, today - timedelta(days=1), DigestKind.DAILY)
        assert [f.note_id for f in content.follow_ups] == [note.pk]
        FollowUp.objects.filter(organization=org, note=note).update(
            due_at=at_local(org, today + timedelta(days=1), 9, 0)
        )
        content = svc.digest_content(cast.sam, today - timedelta(days=1), DigestKind.DAILY)
        assert content.follow_ups == []


def _session_due(supervisor, agent, due_at, **extra):
    from coaching.models_sessions import CoachingSession
    from coaching.services.sessions import session_prepare

    with tenant_context(supervisor.organization):
        session = session_prepare(supervisor=supervisor, agent=agent, purpose="1:1")
        CoachingSession.objects.filter(pk=session.pk).update(
            developmental=True, follow_up_due_at=due_at, **extra
        )
    return session


def test_digest_lists_the_supervisors_session_follow_ups_due_today_only(cast, smtp):  # noqa: F811
    org = cast.org_a
    today = today_for(org)
    kim = make_member(
        org, Role.AGENT, team=cast.team_a1,
        user=UserFactory(username="kim@acme.test", email="kim@acme.test",
                         first_name="Kim <b>Bold</b>", last_name="Agent"),
    )  # fmt: skip
    lee = make_member(
        org, Role.SUPERVISOR, teams_led=[cast.team_a2],
        user=UserFactory(username="lee@acme.test", email="lee@acme.test", first_name="Lee"),
    )  # fmt: skip
    mine = _session_due(cast.sam, kim, at_local(org, today, 15, 0))
    _session_due(cast.sam, cast.ann, at_local(org, today + timedelta(days=1), 9, 0))  # tomorrow
    _session_due(
        cast.sam, cast.andy, at_local(org, today, 9, 0), followed_up_at=timezone.now()
    )  # already followed up
    leads = _session_due(lee, cast.zoe, at_local(org, today, 10, 0))
    globex = _session_due(cast.bob, cast.bea, at_local(cast.org_b, today_for(cast.org_b), 10, 0))
    run(org)
    svc.digests_run(cast.org_b.pk, now=at_local(cast.org_b, today_for(cast.org_b)))

    [mail] = mails_to(smtp, "sam@acme.test")
    _m, text, html = _parts(mail)
    for body in (text, html):
        assert "Coaching follow-ups due today: 1" in body
        assert f"/o/acme/coaching/sessions/{mine.public_id}/" in body
        assert "follow-up due " + today.strftime("%-d %b") + " 15:00" in body
        assert str(leads.public_id) not in body and str(globex.public_id) not in body
        assert "Ann Agent" not in body.split("follow-ups due today")[1]
        assert "Andy Agent" not in body.split("follow-ups due today")[1]
    assert "Kim &lt;b&gt;Bold&lt;/b&gt; Agent" in html and "<b>Bold</b>" not in html
    assert "Kim <b>Bold</b> Agent" in text  # plain text is not HTML

    [mail] = mails_to(smtp, "lee@acme.test")
    _m, text, html = _parts(mail)
    assert str(leads.public_id) in text and str(mine.public_id) not in text + html

    [mail] = mails_to(smtp, "bob@globex.test")
    _m, text, html = _parts(mail)
    assert f"/o/globex/coaching/sessions/{globex.public_id}/" in html
    assert str(mine.public_id) not in text + html and str(leads.public_id) not in text + html


def _supervisor_with_everything(org, i, day_noon):
    """A supervisor leading their own team whose digest has every part: numbers, best/worst
    answers, an open alert, a note follow-up and a 1:1 follow-up due, a kudos."""
    from coaching.models import FocusBehaviour, FollowUp, NoteKind
    from coaching.services.notes import note_create
    from recognition.services.kudos import kudos_give
    from tests.factories import make_team

    team = make_team(org, f"Scale team {i}")
    sup = make_member(
        org, Role.SUPERVISOR, teams_led=[team],
        user=UserFactory(username=f"scale{i}@acme.test", email=f"scale{i}@acme.test"),
    )  # fmt: skip
    agent = make_member(
        org, Role.AGENT, team=team,
        user=UserFactory(username=f"agent{i}@acme.test", email=f"agent{i}@acme.test"),
    )  # fmt: skip
    for stars in (5, 1):
        r = answered(org, agent, stars, answers={"comment": f"scale {i} {stars}"},
                     occurred_at=day_noon)  # fmt: skip
    with tenant_context(org):
        rule = AlertRule.objects.filter(organization=org).first()
        Alert.objects.create(
            organization=org, rule=rule, response=r, interaction_id=r.interaction_id,
            agent=agent, team=team, reason=f"Scale alert {i}",
        )  # fmt: skip
        note = note_create(
            author=sup, agent=agent, kind=NoteKind.DEVELOPMENTAL, body="Recap",
            behaviour=FocusBehaviour.objects.filter(organization=org).first(),
        )  # fmt: skip
        FollowUp.objects.filter(organization=org, note=note).update(due_at=timezone.now())
        kudos = kudos_give(sup, agent, behaviour="Empathy", message="Well handled")
        type(kudos).objects.filter(pk=kudos.pk).update(created_at=datetime.fromisoformat(day_noon))
    _session_due(sup, agent, timezone.now())
    with tenant_context(org):  # daily digests only, whichever weekday the suite runs on
        svc.opt_out_set(agent, DigestKind.WEEKLY, True)
    return sup


PER_DIGEST = ("BEGIN", "SELECT set_config('app.current_org'", "UPDATE coaching_digest SET status",
              "COMMIT")  # fmt: skip


def _split(queries):
    """(per-digest statements, everything else) of a captured run: each digest's transaction
    (BEGIN, the organization's RLS setting, the claim, COMMIT), nothing more."""
    per_digest = [q["sql"] for q in queries if q["sql"].startswith(PER_DIGEST)]
    return per_digest, [q["sql"] for q in queries if not q["sql"].startswith(PER_DIGEST)]


@pytest.mark.django_db(transaction=True)  # no outer transaction: each digest commits as deployed
def test_queries_per_organization_do_not_grow_with_its_supervisors(cast, smtp):  # noqa: F811
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    org = cast.org_a
    today = today_for(org)
    with tenant_context(org):
        for agent in (cast.ann, cast.andy, cast.zoe):
            svc.opt_out_set(agent, DigestKind.WEEKLY, True)
    for i in range(2):
        _supervisor_with_everything(org, i, yesterday_noon(org))
    run(org, now=at_local(org, today - timedelta(days=2)))  # warm-up: caches
    with CaptureQueriesContext(connection) as small:
        counts_small = run(org, now=at_local(org, today - timedelta(days=1)))  # sam + 2
    for i in range(2, 8):
        _supervisor_with_everything(org, i, yesterday_noon(org))
    with CaptureQueriesContext(connection) as large:
        counts_large = run(org)  # sam + 8, yesterday
    assert counts_small["sent"] == 3 and counts_large["sent"] == 9
    per_digest_small, rest_small = _split(small.captured_queries)
    per_digest_large, rest_large = _split(large.captured_queries)
    # Per digest its own short transaction (the claim); everything else (planning, reading every
    # supervisor's numbers, answers, alerts, follow-ups, kudos, the names on them) is the same
    # eleven queries in one transaction for 3 or 9 supervisors.
    assert (len(per_digest_small), len(per_digest_large)) == (4 * 3 + 3, 4 * 9 + 3)
    assert sum("UPDATE coaching_digest" in q for q in per_digest_large) == 9
    assert len(rest_small) == len(rest_large) <= 11, rest_large
    # And every digest is there, complete, in its own supervisor's e-mail only.
    [mail] = mails_to(smtp, "scale7@acme.test")
    _m, text, html = _parts(mail)
    assert "Scale alert 7" in text and "scale 7 1" in html and "Scale alert 6" not in text
    assert "Coaching follow-ups due today: 2" in text and "Kudos: 1" in text


def test_digest_content_reads_a_fixed_number_of_queries_for_any_number_of_members(cast):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    org = cast.org_a
    sups = [_supervisor_with_everything(org, i, yesterday_noon(org)) for i in range(6)]
    day = today_for(org) - timedelta(days=1)
    with tenant_context(org):
        svc.digests_content(org, sups[:1], day, DigestKind.DAILY)  # warm-up
        with CaptureQueriesContext(connection) as one:
            svc.digests_content(org, sups[:1], day, DigestKind.DAILY)
        with CaptureQueriesContext(connection) as six:
            many = svc.digests_content(org, sups, day, DigestKind.DAILY)
        agents = list(svc.Membership.objects.filter(organization=org, role=Role.AGENT))
        with CaptureQueriesContext(connection) as weekly_one:
            svc.digests_content(org, agents[:1], day, DigestKind.WEEKLY)
        with CaptureQueriesContext(connection) as weekly_all:
            svc.digests_content(org, agents, day, DigestKind.WEEKLY)
    # The same few queries for one member or many (the names one is left out when no row
    # names anybody).
    assert len(one) == len(six) <= 8
    assert len(weekly_one) <= len(weekly_all) <= 4
    # Batched content equals each member's own, one by one.
    with tenant_context(org):
        for m in sups:
            alone = svc.digest_content(m, day, DigestKind.DAILY)
            both = many[m.pk]
            assert [r.pk for r in alone.best] == [r.pk for r in both.best]
            assert [r.pk for r in alone.worst] == [r.pk for r in both.worst]
            assert [a.pk for a in alone.alerts] == [a.pk for a in both.alerts]
            assert alone.follow_up_count == both.follow_up_count == 2
            assert alone.kudos["count"] == both.kudos["count"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_worker_dying_after_its_claim_leaves_the_digest_to_the_next_run(cast, smtp):  # noqa: F811
    from django.db import connection

    org = cast.org_a
    lee = make_member(
        org, Role.SUPERVISOR, teams_led=[cast.team_a2],
        user=UserFactory(username="lee@acme.test", email="lee@acme.test"),
    )  # fmt: skip
    now = at_local(org, today_for(org))
    with tenant_context(org):
        svc.digests_plan(org, svc.due_day(org, now))
        sams = Digest.objects.get(organization=org, membership=cast.sam)
    claimed, release = threading.Event(), threading.Event()

    def dying_worker():  # claims Sam's digest on its own connection, then dies (rollback)
        try:
            with tenant_context(org):
                assert svc._claim(org.pk, sams.pk, DigestStatus.SENT, "claimed")
                claimed.set()
                release.wait(30)
                raise ConnectionAbortedError("worker lost mid-send")
        except ConnectionAbortedError:
            pass
        finally:
            connection.close()

    t = threading.Thread(target=dying_worker)
    t.start()
    try:
        assert claimed.wait(30)
        started = time_module.monotonic()
        # Beat again meanwhile: planning does not wait for the held row, Sam's is skipped.
        assert svc.digests_run(org.pk, now=now) == {"planned": 0, "skipped": 1, "sent": 1}
        assert time_module.monotonic() - started < 10
    finally:
        release.set()
        t.join()
    assert svc.digests_run(org.pk, now=now) == {"planned": 0, "sent": 1}
    assert svc.digests_run(org.pk, now=now) == {"planned": 0}
    assert len(mails_to(smtp, "sam@acme.test")) == 1 and len(mails_to(smtp, lee.user.email)) == 1
