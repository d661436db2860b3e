"""Daily digest and weekly recap over a real SMTP conversation (aiosmtpd on loopback): what a
supervisor's digest contains (their teams only, never another team's or organization's
response; customer text escaped; HTML + text), when it is due in the organization's time, the
opt-out, and exactly-once under duplicate triggers, concurrent runs and a send that fails
mid-batch."""

from __future__ import annotations

import threading
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
