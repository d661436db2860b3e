"""Service recovery: the organization's rule opens a case when a response finishes (once, even on
redelivery), a supervisor opens one from an alert, the state machine refuses illegal moves and
records who/when/why, the follow-up survey is a recovery request on the same interaction sent
by the survey machinery (never suppressed, never in metrics) whose rating lands on the case,
and the queue/case/dashboard/rule pages per role and organization."""

from __future__ import annotations

import pytest

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role
from coaching.models import Alert, AlertRule
from coaching.models_recovery import CaseState, RecoveryCase, RecoveryTransition
from coaching.services import recovery as svc
from feedback.models import FeedbackRequest, RequestKind, SurveyState
from feedback.services import survey

from .coaching_helpers import answered, run_outbox
from .factories import UserFactory, make_member
from .survey_helpers import rollup, send_due

pytestmark = pytest.mark.django_db


def finished(org, agent, stars, answers=None, **extra):
    r = answered(org, agent, stars, answers=answers, **extra)
    with tenant_context(org):
        survey.survey_finish(r.request)
    run_outbox(org, "coaching.recovery")
    return r


def cases(org):
    with tenant_context(org):
        return list(RecoveryCase.objects.filter(organization_id=org.pk).order_by("id"))


@pytest.fixture
def rita(cast):
    """Org A's recovery specialist (an agent with the recovery capability)."""
    user = UserFactory(username="rita@acme.test", email="rita@acme.test", first_name="Rita")
    return make_member(cast.org_a, Role.AGENT, user=user, is_recovery=True)


def test_a_finished_low_rating_opens_one_case_even_when_redelivered(cast):
    r = finished(cast.org_a, cast.ann, 1, answers={"comment": "awful"})
    finished(cast.org_a, cast.andy, 5)
    [case] = cases(cast.org_a)
    assert case.response_id == r.pk and case.state == CaseState.NEW
    assert case.initial_stars == 1 and case.opened_by is None and "1 star" in case.reason
    from .coaching_helpers import rerun_outbox

    rerun_outbox(cast.org_a, "coaching.recovery")
    assert len(cases(cast.org_a)) == 1
    assert cases(cast.org_b) == []


@pytest.mark.parametrize(
    ("rule", "answers", "extra", "opens"),
    [
        ({"stars_at_most": None, "not_resolved": True}, {"resolved": False}, {}, True),
        ({"stars_at_most": None, "not_resolved": True}, {"resolved": True}, {}, False),
        ({"stars_at_most": None, "nps_detractor": True}, {"nps": 6}, {}, True),
        ({"stars_at_most": None, "nps_detractor": True}, {"nps": 7}, {}, False),
        ({"stars_at_most": None, "tag": "vip"}, {}, {"tags": ["vip"]}, True),
        ({"enabled": False}, {}, {}, False),
    ],
)
def test_rule_conditions(cast, rule, answers, extra, opens):
    from .coaching_helpers import enable_questions

    enable_questions(cast.org_a, "comment", "resolved", "nps")
    cast.org_a.settings = {
        **cast.org_a.settings,
        "recovery_rule": {**svc.RECOVERY_DEFAULTS, **rule},
    }
    cast.org_a.save()
    finished(cast.org_a, cast.ann, 4, answers=answers, **extra)
    assert bool(cases(cast.org_a)) is opens


def test_state_machine_refuses_illegal_moves_and_records_each_transition(cast, rita):
    finished(cast.org_a, cast.ann, 1)
    [case] = cases(cast.org_a)
    with tenant_context(cast.org_a):
        with pytest.raises(svc.TransitionRefused) as e:
            svc.case_transition(case, CaseState.CONTACTED, by=rita, note="called")
        assert "cannot become contacted" in e.value.errors["action"]
        with pytest.raises(svc.TransitionRefused):
            svc.case_transition(case, CaseState.RECOVERED, by=rita)
        case = svc.case_transition(case, CaseState.CLAIMED, by=rita, note="mine")
        assert case.claimed_by == rita
        with pytest.raises(svc.TransitionRefused) as e:
            svc.case_transition(case, CaseState.CONTACTED, by=rita, note="  ")
        assert "note" in e.value.errors
        case = svc.case_transition(case, CaseState.CONTACTED, by=rita, note="Called, refunded")
        assert case.first_contact_at is not None
        case = svc.case_transition(case, CaseState.RECOVERED, by=rita, note="happy now")
        assert case.closed_at is not None
        for to in CaseState.values:
            with pytest.raises(svc.TransitionRefused):
                svc.case_transition(case, to, by=rita, note="x")
        history = list(
            RecoveryTransition.objects.filter(case=case).values_list("to_state", "by", "note")
        )
    assert history == [
        ("new", None, "1 star (rule: 2 or fewer)"),
        ("claimed", rita.pk, "mine"),
        ("contacted", rita.pk, "Called, refunded"),
        ("recovered", rita.pk, "happy now"),
    ]


def test_new_case_can_be_closed_without_action(cast, rita):
    finished(cast.org_a, cast.ann, 2)
    [case] = cases(cast.org_a)
    with tenant_context(cast.org_a):
        case = svc.case_transition(case, CaseState.CLOSED, by=rita, note="duplicate")
    assert case.state == CaseState.CLOSED


def test_follow_up_survey_is_sent_never_suppressed_not_counted_and_rated_on_the_case(cast, rita):
    email = "unhappy@example.com"
    finished(cast.org_a, cast.ann, 1, email=email)
    before = rollup(cast.org_a, cast.ann)
    [case] = cases(cast.org_a)
    with tenant_context(cast.org_a):
        case = svc.case_transition(case, CaseState.CLAIMED, by=rita)
        case = svc.case_transition(case, CaseState.CONTACTED, by=rita, note="phoned")
        case = svc.case_transition(case, CaseState.SURVEY_SENT, by=rita, note="sent survey")
        fr = case.follow_up
        assert fr.kind == RequestKind.RECOVERY and fr.interaction_id == case.interaction_id
    # Within the suppression period of the first survey, and still sent.
    assert send_due(cast.org_a).get("sent") == 1
    with tenant_context(cast.org_a):
        fr = FeedbackRequest.objects.get(pk=fr.pk)
        assert fr.survey_state == SurveyState.SENT
        survey.survey_answer_record(fr, stars=5, answers={"comment": "sorted, thanks"})
        survey.survey_finish(fr)
    run_outbox(cast.org_a, "coaching.")
    after = rollup(cast.org_a, cast.ann)
    assert after["responses"] == before["responses"] and after["stars_sum"] == before["stars_sum"]
    with tenant_context(cast.org_a):
        case = RecoveryCase.objects.get(pk=case.pk)
        assert case.follow_up_stars == 5
        # The follow-up's low-or-high rating raised no alert and opened no case of its own.
        assert RecoveryCase.objects.filter(organization_id=cast.org_a.pk).count() == 1
        svc.case_transition(case, CaseState.RECOVERED, by=rita)


def test_supervisor_opens_a_case_from_an_alert(cast, client_for):
    r = answered(cast.org_a, cast.ann, 1, answers={"comment": "rude"})
    with tenant_context(cast.org_a):
        rule = AlertRule.objects.filter(organization=cast.org_a).first()
        alert = Alert.objects.create(
            organization=cast.org_a, rule=rule, response=r, interaction_id=r.interaction_id,
            agent_id=r.agent_id, team_id=r.team_id, reason="Low rating",
        )  # fmt: skip
    c = client_for(cast.sam)
    resp = c.post(f"/o/acme/coaching/alerts/{alert.public_id}/recovery/")
    [case] = cases(cast.org_a)
    assert resp.status_code == 302 and str(case.public_id) in resp["Location"]
    assert case.opened_by_id == cast.sam.pk and case.alert_id == alert.pk
    # Clicking again lands on the same case.
    c.post(f"/o/acme/coaching/alerts/{alert.public_id}/recovery/")
    assert len(cases(cast.org_a)) == 1
    page = c.get(resp["Location"])
    assert page.status_code == 200 and "rude" in page.content.decode()


def test_queue_pages_by_role(cast, rita, client_for):
    finished(cast.org_a, cast.ann, 1, answers={"comment": "<script>alert(1)</script>"})
    finished(cast.org_a, cast.zoe, 1, answers={"comment": "team a2 problem"})
    [case_a1, case_a2] = cases(cast.org_a)
    base = "/o/acme/coaching/recovery/"
    c = client_for(rita)
    body = c.get(base).content.decode()
    assert "Lee Park" in body and body.count("recovery-queue") == 1
    detail = c.get(f"{base}{case_a1.public_id}/").content.decode()
    assert "<script>alert(1)</script>" not in detail and "&lt;script&gt;" in detail
    assert c.get(base + "dashboard/").status_code == 200
    assert c.get(base + "rule/").status_code == 403
    # Supervisor: their team's cases, read-only.
    s = client_for(cast.sam)
    assert s.get(f"{base}{case_a1.public_id}/").status_code == 200
    assert s.get(f"{base}{case_a2.public_id}/").status_code == 404
    assert s.post(f"{base}{case_a1.public_id}/action/", {"action": "claim"}).status_code == 403
    # Agents without the capability: no page.
    assert client_for(cast.ann).get(base).status_code == 403
    assert client_for(cast.ann).get(f"{base}{case_a1.public_id}/").status_code == 403
    # Another organization: 404.
    assert (
        client_for(cast.bob).get(f"/o/globex/coaching/recovery/{case_a1.public_id}/").status_code
        == 404
    )  # noqa: E501


def test_case_actions_over_http(cast, rita, client_for):
    finished(cast.org_a, cast.ann, 1)
    [case] = cases(cast.org_a)
    url = f"/o/acme/coaching/recovery/{case.public_id}/action/"
    c = client_for(rita)
    assert c.post(url, {"action": "claim"}).status_code == 302
    r = c.post(url, {"action": "contact", "note": ""})
    assert r.status_code == 400 and "note: Say how you contacted" in r.content.decode()
    r = c.post(url, {"action": "recovered"})
    assert r.status_code == 400 and "cannot become recovered" in r.content.decode()
    r = c.post(url, {"action": "bogus"})
    assert r.status_code == 400 and "action: Choose an action." in r.content.decode()
    assert c.post(url, {"action": "contact", "note": "Called"}).status_code == 302
    body = c.get(f"/o/acme/coaching/recovery/{case.public_id}/").content.decode()
    assert "Contacted" in body and "Called" in body and "Send follow-up survey" in body


def test_recovery_dashboard_numbers(cast, rita):
    from datetime import timedelta

    from coaching.selectors_recovery import dashboard

    for stars in (1, 2, 1):
        finished(cast.org_a, cast.ann, stars)
    a, b, c = cases(cast.org_a)
    with tenant_context(cast.org_a):
        for case, outcome in ((a, CaseState.RECOVERED), (b, CaseState.NOT_RECOVERED)):
            case = svc.case_transition(case, CaseState.CLAIMED, by=rita)
            at = case.created_at + timedelta(hours=2)
            case = svc.case_transition(case, CaseState.CONTACTED, by=rita, note="x", now=at)
            svc.case_transition(case, outcome, by=rita)
        RecoveryCase.objects.filter(pk=a.pk).update(follow_up_stars=4)
        d = dashboard(rita)
    assert d["opened"] == 3 and d["open"] == 1
    assert d["recovered_rate"] == 50.0
    assert abs(d["median_contact_seconds"] - 7200) < 5
    assert d["initial_avg"] == 1 and d["follow_up_avg"] == 4 and d["with_follow_up"] == 1


def test_rule_page_saves_and_names_bad_fields(cast, client_for):
    c = client_for(cast.alice)
    url = "/o/acme/coaching/recovery/rule/"
    assert c.get(url).status_code == 200
    r = c.post(url, {"enabled": "1", "stars_at_most": "9"})
    assert r.status_code == 400 and "Enter a number of stars from 1 to 5" in r.content.decode()
    assert c.post(url, {"enabled": "1", "stars_at_most": "3", "tag": "vip"}).status_code == 302
    cast.org_a.refresh_from_db()
    assert svc.recovery_rule(cast.org_a)["stars_at_most"] == 3
    assert client_for(cast.sam).get(url).status_code == 403
