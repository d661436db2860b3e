"""The customer's side: sending, the survey page, every state transition, guards, settings.

Time moves with time-machine, never with sleeps. E-mail here is Django's locmem backend; the
real SMTP conversation is in tests/test_survey_smtp.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from coachhub.core.models import Event
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AgentProfile, GlobalLookup, LookupKind, sha256_hex
from feedback.models import FeedbackRequest, RequestStatus, SurveyState, Unsubscribe
from feedback.services import survey

from .survey_helpers import (
    ingest,
    links_in,
    path_of,
    reload,
    response_for,
    rollup,
    send_due,
    star_links,
    token_of,
)

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.SURVEY_RATE_LIMIT_PER_MINUTE = 0


@pytest.fixture
def ann_profile(cast):
    with tenant_context(cast.org_a):
        AgentProfile.objects.filter(organization_id=cast.org_a.pk, membership=cast.ann).update(
            display_name="Ann Agent",
            bio="Ten years of billing puzzles solved.",
            photo="agents/ann.png",
        )
    return cast.ann


def sent_survey(cast, **kw):
    """A live request for Ann, sent; returns (request, token, star links)."""
    fr = ingest(cast.org_a, cast.ann, **kw)
    assert send_due(cast.org_a) == {"sent": 1}
    message = mail.outbox[-1]
    links = star_links(message.body)
    return reload(fr), token_of(links[1]), links


def events(org, type_):
    with tenant_context(org):
        return list(Event.objects.filter(organization_id=org.pk, type=type_).order_by("created_at"))


def post(client, token, **data):
    return client.post(f"/s/{token}/", data)


# --- sending ---


def test_scheduled_request_is_sent_with_agent_card_five_star_links_and_unsubscribe(
    cast, ann_profile
):
    fr = ingest(cast.org_a, cast.ann)
    assert (fr.status, fr.survey_state) == (RequestStatus.SCHEDULED, SurveyState.PENDING)

    assert send_due(cast.org_a) == {"sent": 1}

    [message] = mail.outbox
    assert message.to == ["lee@example.com"]
    assert message.from_email.startswith("Acme Support <")
    assert "Ann Agent" in message.subject
    html = message.alternatives[0][0]
    for body in (message.body, html):
        assert "Ann Agent" in body
        assert "Ten years of billing puzzles solved." in body
        assert f"{settings.SITE_URL}/media/agents/ann.png" in body
        assert "Acme Support" in body
        links = star_links(body)
        assert sorted(links) == [1, 2, 3, 4, 5]
        assert len({token_of(u) for u in links.values()}) == 1
    assert cast.org_a.brand_color in html
    token = token_of(links[1])
    assert len(token) >= 43  # 256 bits, URL-safe base64
    assert message.extra_headers["List-Unsubscribe"] == (
        f"<{settings.SITE_URL}/s/{token}/unsubscribe/>"
    )
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"/s/{token}/unsubscribe/" in message.body

    fr = reload(fr)
    assert (fr.status, fr.survey_state) == (RequestStatus.SENT, SurveyState.SENT)
    assert fr.sent_at is not None and fr.attempts == 1
    # Stored hashed: the digest, never the token.
    assert fr.token_hash == sha256_hex(token) and token not in fr.token_hash
    assert GlobalLookup.resolve(LookupKind.SURVEY_TOKEN, token) == (cast.org_a.pk, fr.pk)
    assert rollup(cast.org_a, cast.ann)["requests_sent"] == 1

    # Sending again finds nothing due; the request is sent once.
    assert send_due(cast.org_a) == {}
    assert survey.requests_send(cast.org_a.pk, [fr.pk]) == {"skipped": 1}
    assert len(mail.outbox) == 1


def test_send_waits_for_the_organizations_send_delay(cast):
    survey.survey_settings_update(cast.org_a, {"send_delay_minutes": 30})
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fr = ingest(cast.org_a, cast.ann)
        assert send_due(cast.org_a) == {}
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert send_due(cast.org_a) == {}
        assert survey.requests_send(cast.org_a.pk, [fr.pk]) == {"not-due": 1}
    with time_machine.travel(start + timedelta(minutes=30, seconds=1), tick=False):
        assert send_due(cast.org_a) == {"sent": 1}
    assert reload(fr).status == RequestStatus.SENT


def test_test_key_request_goes_to_the_test_address_only(cast):
    survey.survey_settings_update(cast.org_a, {"test_address": "qa@acme.test"})
    fr = ingest(cast.org_a, cast.ann, mode="test")
    assert fr.status == RequestStatus.TEST
    assert send_due(cast.org_a) == {"sent": 1}
    [message] = mail.outbox
    assert message.to == ["qa@acme.test"]
    fr = reload(fr)
    assert (fr.status, fr.survey_state) == (RequestStatus.TEST, SurveyState.SENT)
    assert rollup(cast.org_a, cast.ann).get("requests_sent", 0) == 0  # test data never counts


def test_test_key_request_without_test_address_sends_nothing(cast):
    fr = ingest(cast.org_a, cast.ann, mode="test")
    assert send_due(cast.org_a) == {"no-test-address": 1}
    assert mail.outbox == []
    fr = reload(fr)
    assert (fr.status, fr.survey_state) == (RequestStatus.TEST, SurveyState.NONE)
    assert "test address" in fr.last_error


@pytest.mark.parametrize(
    ("extra", "status"),
    [({"do_not_send": True}, RequestStatus.DO_NOT_SEND)],
)
def test_do_not_send_is_recorded_and_never_sent(cast, extra, status):
    fr = ingest(cast.org_a, cast.ann, **extra)
    assert (fr.status, fr.survey_state) == (status, SurveyState.NONE)
    assert send_due(cast.org_a) == {}
    assert mail.outbox == []


def test_same_customer_again_within_the_suppression_period_is_suppressed(cast):
    sent_survey(cast)
    fr2 = ingest(cast.org_a, cast.andy)
    assert (fr2.status, fr2.survey_state) == (RequestStatus.SUPPRESSED, SurveyState.NONE)
    assert send_due(cast.org_a) == {}
    assert len(mail.outbox) == 1


def test_transient_smtp_failure_is_retried_later(cast, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens: refused
    settings.EMAIL_TIMEOUT = 2
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        fr = ingest(cast.org_a, cast.ann)
        assert send_due(cast.org_a) == {"retry": 1}
    fr = reload(fr)
    assert (fr.status, fr.survey_state) == (RequestStatus.SCHEDULED, SurveyState.PENDING)
    assert fr.attempts == 1 and fr.last_error and fr.send_after > now and fr.token_hash == ""
    with tenant_context(cast.org_a):
        assert not GlobalLookup.objects.filter(kind=LookupKind.SURVEY_TOKEN).exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(fr.send_after + timedelta(seconds=1), tick=False):
        assert send_due(cast.org_a) == {"sent": 1}
    assert reload(fr).status == RequestStatus.SENT


def test_request_never_sent_expires_after_the_window(cast):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fr = ingest(cast.org_a, cast.ann)
    with time_machine.travel(start + timedelta(days=14, minutes=1), tick=False):
        survey.surveys_tick(cast.org_a.pk)
    assert reload(fr).survey_state == SurveyState.EXPIRED
    assert mail.outbox == []


# --- the survey page ---


def test_get_of_a_star_link_records_nothing_and_the_page_confirms_it(cast, client, ann_profile):
    fr, token, links = sent_survey(cast)
    page = client.get(path_of(links[4]))
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "no-referrer"
    html = page.content.decode()
    assert "Ann Agent" in html and "Ten years of billing" in html
    # The page carries the confirmation request (htmx on load) and a no-JS button.
    assert 'hx-trigger="load"' in html and '"stars": "4"' in html
    assert 'value="confirm"' in html
    assert response_for(fr) is None
    assert reload(fr).survey_state == SurveyState.SENT

    confirmed = post(client, token, stars=4, action="confirm")
    assert confirmed.status_code == 302
    response = response_for(fr)
    assert (response.stars, response.confirmed, response.finished) == (4, True, False)
    assert reload(fr).survey_state == SurveyState.ANSWERED
    totals = rollup(cast.org_a, cast.ann)
    assert (totals["responses"], totals["stars_4"], totals["stars_sum"]) == (1, 1, 4)
    [answered] = events(cast.org_a, survey.EVENT_ANSWERED)
    assert answered.data["stars"] == 4 and answered.data["response"] == str(response.public_id)


def test_changing_the_star_moves_the_rollup_exactly_once(cast, client):
    fr, token, _ = sent_survey(cast)
    post(client, token, stars=5, action="confirm")
    post(client, token, stars=5, action="confirm")  # the same again: no change, no event
    post(client, token, stars=2, action="confirm")
    totals = rollup(cast.org_a, cast.ann)
    assert totals["responses"] == 1
    assert (totals["stars_5"], totals["stars_2"], totals["stars_sum"], totals["stars_count"]) == (
        0,
        1,
        2,
        1,
    )
    assert [e.data["stars"] for e in events(cast.org_a, survey.EVENT_ANSWERED)] == [5, 2]


def test_answers_are_saved_and_a_star_change_drops_chips_that_no_longer_fit(cast, client):
    fr, token, _ = sent_survey(cast)
    post(client, token, stars=5, action="confirm")
    saved = post(
        client,
        token,
        stars=5,
        action="save",
        qualities=["Friendly", "Quick"],
        resolved="yes",
        comment="Great help",
        reward_tier="large",
    )
    assert saved.status_code == 302
    response = response_for(fr)
    assert response.qualities == ["Friendly", "Quick"]
    assert (response.resolved, response.comment, response.reward_tier) == (
        True,
        "Great help",
        "large",
    )
    assert rollup(cast.org_a, cast.ann)["fcr_yes"] == 1

    post(client, token, stars=2, action="confirm")
    response = response_for(fr)
    assert response.stars == 2
    assert response.qualities == [] and response.reward_tier == ""  # positive chips, reward gone
    assert (response.comment, response.resolved) == ("Great help", True)
    page = client.get(f"/s/{token}/").content.decode()
    assert "What could have been better?" in page and 'value="Speed"' in page


def test_submit_finishes_and_locks_with_thanks_then_410(cast, client):
    fr, token, _ = sent_survey(cast)
    post(client, token, stars=2, action="confirm")
    done = post(
        client, token, stars=2, action="finish", qualities=["Speed"], resolved="no", comment="Slow"
    )
    assert done.status_code == 200
    assert "Thank you" in done.content.decode()
    response = response_for(fr)
    assert response.finished and response.finished_at is not None
    assert (response.qualities, response.resolved) == (["Speed"], False)
    assert reload(fr).survey_state == SurveyState.FINISHED
    [finished] = events(cast.org_a, survey.EVENT_FINISHED)
    assert finished.data["finished"] is True and finished.data["stars"] == 2

    closed = client.get(f"/s/{token}/?stars=5")
    assert closed.status_code == 410
    assert "This survey is closed" in closed.content.decode()
    again = post(client, token, stars=5, action="confirm")
    assert again.status_code == 410
    assert response_for(fr).stars == 2
    assert len(events(cast.org_a, survey.EVENT_FINISHED)) == 1


def test_survey_finishes_by_itself_after_the_window_since_the_last_answer(cast, client):
    fr, token, _ = sent_survey(cast)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        post(client, token, stars=3, action="confirm")
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        post(client, token, stars=4, action="confirm")  # a later answer restarts the window
    with time_machine.travel(start + timedelta(minutes=99), tick=False):
        assert survey.surveys_finish_due(cast.org_a.pk) == 0
    with time_machine.travel(start + timedelta(minutes=101), tick=False):
        assert survey.surveys_tick(cast.org_a.pk)["finished"] == 1
        assert survey.surveys_finish_due(cast.org_a.pk) == 0
        assert client.get(f"/s/{token}/").status_code == 410
    assert reload(fr).survey_state == SurveyState.FINISHED
    assert response_for(fr).finished
    assert len(events(cast.org_a, survey.EVENT_FINISHED)) == 1


def test_finish_window_is_the_organizations_setting(cast, client):
    survey.survey_settings_update(cast.org_a, {"finish_window_minutes": 5})
    fr, token, _ = sent_survey(cast)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        post(client, token, stars=3, action="confirm")
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        assert survey.surveys_finish_due(cast.org_a.pk) == 1


def test_unanswered_survey_expires_and_answers_410_in_the_customers_language(cast, client):
    fr, token, _ = sent_survey(cast, language="es")
    with time_machine.travel(timezone.now() + timedelta(days=14, minutes=1), tick=False):
        page = client.get(f"/s/{token}/?stars=5")
        assert page.status_code == 410  # closed even before the sweep ran
        assert survey.surveys_expire_due(cast.org_a.pk) == 1
    assert reload(fr).survey_state == SurveyState.EXPIRED
    html = client.get(f"/s/{token}/").content.decode()
    assert 'lang="es"' in html and "Esta encuesta está cerrada" in html
    assert response_for(fr) is None


def test_unknown_token_is_404(cast, client):
    sent_survey(cast)
    assert (
        client.get("/s/not-a-real-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaa/?stars=5").status_code == 404
    )
    assert client.post("/s/nope/", {"stars": 5, "action": "confirm"}).status_code == 404
    assert client.get("/s/nope/unsubscribe/").status_code == 404


def test_signed_in_member_of_the_organization_cannot_answer(cast, client_for):
    fr, token, links = sent_survey(cast)
    client = client_for(cast.sam)
    page = client.get(path_of(links[1]))
    assert page.status_code == 403
    assert "Surveys are for customers" in page.content.decode()
    assert client.post(f"/s/{token}/", {"stars": 1, "action": "confirm"}).status_code == 403
    assert response_for(fr) is None


def test_member_of_another_organization_may_answer(cast, client_for):
    fr, token, _ = sent_survey(cast)
    client = client_for(cast.bob)
    assert client.post(f"/s/{token}/", {"stars": 4, "action": "confirm"}).status_code == 302
    assert response_for(fr).stars == 4


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"stars": 9}, "stars"),
        ({"stars": 3, "nps": "11"}, "nps"),
        ({"stars": 3, "comment": "x" * 5001}, "comment"),
        ({"stars": 3, "qualities": ["Friendly"]}, "qualities"),  # a positive chip for 3 stars
        ({"stars": 5, "reward_tier": "huge"}, "reward_tier"),
    ],
)
def test_bad_answers_are_refused_naming_the_field(cast, client, data, field):
    survey.survey_settings_update(
        cast.org_a, {"survey_questions": ["comment", "resolved", "nps", "qualities", "reward"]}
    )
    fr, token, _ = sent_survey(cast)
    answer = client.post(f"/s/{token}/", {"action": "save", **data})
    assert answer.status_code == 400
    assert 'role="alert"' in answer.content.decode()
    assert response_for(fr) is None
    assert events(cast.org_a, survey.EVENT_ANSWERED) == []


def test_comment_of_5000_characters_is_accepted(cast, client):
    fr, token, _ = sent_survey(cast)
    assert post(client, token, stars=3, action="save", comment="y" * 5000).status_code == 302
    assert len(response_for(fr).comment) == 5000


def test_disabled_questions_are_neither_shown_nor_stored(cast, client):
    survey.survey_settings_update(cast.org_a, {"survey_questions": ["comment"]})
    fr, token, _ = sent_survey(cast)
    post(client, token, stars=5, action="confirm")
    html = client.get(f"/s/{token}/").content.decode()
    assert 'name="comment"' in html
    assert 'name="resolved"' not in html and 'name="qualities"' not in html
    assert 'name="reward_tier"' not in html and 'name="nps"' not in html
    post(client, token, stars=5, action="save", resolved="yes", reward_tier="small", comment="ok")
    response = response_for(fr)
    assert (response.resolved, response.reward_tier, response.comment) == (None, "", "ok")


def test_reward_is_asked_only_at_or_above_the_threshold(cast, client):
    survey.survey_settings_update(cast.org_a, {"reward_threshold": 4})
    fr, token, _ = sent_survey(cast)
    post(client, token, stars=3, action="confirm")
    assert 'name="reward_tier"' not in client.get(f"/s/{token}/").content.decode()
    post(client, token, stars=4, action="confirm")
    assert 'name="reward_tier"' in client.get(f"/s/{token}/").content.decode()
    post(client, token, stars=4, action="save", reward_tier="medium")
    assert response_for(fr).reward_tier == "medium"


def test_survey_submissions_are_rate_limited_per_address(cast, client, settings):
    settings.SURVEY_RATE_LIMIT_PER_MINUTE = 3
    from django.core.cache import cache

    cache.clear()
    fr, token, _ = sent_survey(cast)
    codes = [
        client.post(
            f"/s/{token}/", {"stars": 3, "action": "confirm"}, REMOTE_ADDR="203.0.113.9"
        ).status_code
        for _ in range(5)
    ]
    assert codes == [302, 302, 302, 429, 429]
    # Another address is not affected.
    other = client.post(
        f"/s/{token}/", {"stars": 4, "action": "confirm"}, REMOTE_ADDR="203.0.113.10"
    )
    assert other.status_code == 302


def test_answers_need_no_csrf_cookie_from_in_app_browsers(cast, client):
    fr, token, _ = sent_survey(cast)
    client.handler.enforce_csrf_checks = True
    assert post(client, token, stars=4, action="confirm").status_code == 302
    assert response_for(fr).stars == 4


def test_htmx_confirm_returns_the_questions_and_save_returns_204(cast, client):
    fr, token, _ = sent_survey(cast)
    headers = {"HTTP_HX_REQUEST": "true"}
    confirm = client.post(f"/s/{token}/", {"stars": 2, "action": "confirm"}, **headers)
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "<html" not in html and "What could have been better?" in html
    save = client.post(f"/s/{token}/", {"stars": 2, "action": "save", "resolved": "no"}, **headers)
    assert save.status_code == 204
    assert response_for(fr).resolved is False
    finish = client.post(f"/s/{token}/", {"stars": 2, "action": "finish"}, **headers)
    assert finish.status_code == 200 and "Thank you" in finish.content.decode()


# --- scanners and XSS ----------------------------------------------------------------------------


def test_a_scanner_that_gets_every_link_in_the_email_creates_no_rating(cast, client):
    fr, token, _ = sent_survey(cast)
    message = mail.outbox[-1]
    links = set(links_in(message.body)) | set(
        links_in(message.alternatives[0][0].replace("&amp;", "&"))
    )
    links |= {message.extra_headers["List-Unsubscribe"].strip("<>")}
    survey_links = [u for u in links if u.startswith(settings.SITE_URL + "/s/")]
    assert len(survey_links) >= 6  # five stars + unsubscribe
    for url in survey_links:
        assert client.get(path_of(url)).status_code == 200
        client.head(path_of(url))
    assert response_for(fr) is None
    assert rollup(cast.org_a, cast.ann).get("responses", 0) == 0
    assert events(cast.org_a, survey.EVENT_ANSWERED) == []
    with tenant_context(cast.org_a):
        assert not Unsubscribe.objects.filter(organization_id=cast.org_a.pk).exists()
    assert reload(fr).survey_state == SurveyState.SENT


def test_xss_comment_is_shown_as_text_on_every_page(cast, client):
    fr, token, _ = sent_survey(cast)
    post(client, token, stars=1, action="save", comment=XSS)
    editing = client.get(f"/s/{token}/").content.decode()
    done = client.post(f"/s/{token}/", {"stars": 1, "action": "finish", "comment": XSS})
    closed = client.get(f"/s/{token}/")
    pages = [editing, done.content.decode(), closed.content.decode()]
    # The staff side: the interaction page, the survey list and the live streams.
    staff = Client()
    staff.force_login(cast.alice.user)
    interaction = f"/o/acme/feedback/interactions/{fr.interaction.public_id}/"
    for url in (interaction, "/o/acme/feedback/stream/"):
        page = staff.get(url)
        assert page.status_code == 200, url
        pages.append(page.content.decode())
    ann = Client()
    ann.force_login(cast.ann.user)
    pages.append(ann.get("/o/acme/feedback/mine/").content.decode())
    for html in pages:
        assert XSS not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert response_for(fr).comment == XSS  # stored as typed, escaped on output


# --- unsubscribe and bounces ---


def test_unsubscribe_link_asks_then_later_requests_are_unsubscribed(cast, client):
    fr, token, _ = sent_survey(cast)
    page = client.get(f"/s/{token}/unsubscribe/")
    assert page.status_code == 200 and "Unsubscribe" in page.content.decode()
    with tenant_context(cast.org_a):
        assert not Unsubscribe.objects.filter(organization_id=cast.org_a.pk).exists()
    # RFC 8058 one-click: the mail provider POSTs without a CSRF cookie.
    client.handler.enforce_csrf_checks = True
    done = client.post(f"/s/{token}/unsubscribe/", {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    with tenant_context(cast.org_a):
        row = Unsubscribe.objects.get(organization_id=cast.org_a.pk)
    assert (row.email, row.source) == ("lee@example.com", "link")

    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        later = ingest(cast.org_a, cast.andy)
        assert later.status == RequestStatus.UNSUBSCRIBED
        assert send_due(cast.org_a) == {}
    assert len(mail.outbox) == 1
    # The other organization may still survey the same person.
    assert ingest(cast.org_b, cast.bea).status == RequestStatus.SCHEDULED


def test_unsubscribe_cancels_a_request_waiting_for_its_send_delay(cast, client):
    fr, token, _ = sent_survey(cast)
    survey.survey_settings_update(cast.org_a, {"send_delay_minutes": 60, "suppression_days": 0})
    waiting = ingest(cast.org_a, cast.andy)
    assert waiting.status == RequestStatus.SCHEDULED
    client.post(f"/s/{token}/unsubscribe/")
    waiting = reload(waiting)
    assert (waiting.status, waiting.survey_state) == (RequestStatus.UNSUBSCRIBED, SurveyState.NONE)


def test_address_unsubscribed_after_scheduling_is_not_sent(cast):
    fr = ingest(cast.org_a, cast.ann)
    with tenant_context(cast.org_a):
        Unsubscribe.objects.create(organization_id=cast.org_a.pk, email="lee@example.com")
    assert send_due(cast.org_a) == {"unsubscribed": 1}
    assert mail.outbox == []
    assert reload(fr).status == RequestStatus.UNSUBSCRIBED


def test_unsubscribe_works_after_the_survey_is_closed(cast, client):
    fr, token, _ = sent_survey(cast)
    post(client, token, stars=5, action="finish")
    assert client.get(f"/s/{token}/").status_code == 410
    assert client.post(f"/s/{token}/unsubscribe/").status_code == 200
    with tenant_context(cast.org_a):
        assert Unsubscribe.objects.filter(organization_id=cast.org_a.pk).count() == 1


# --- language ---


def test_email_and_page_are_in_the_customers_language(cast, client):
    fr, token, links = sent_survey(cast, language="es-MX")
    message = mail.outbox[-1]
    assert message.subject.startswith("¿Qué tal")
    assert 'lang="es"' in message.alternatives[0][0]
    page = client.get(path_of(links[3])).content.decode()
    assert 'lang="es"' in page and "Tu valoración" in page


def test_unknown_customer_language_falls_back_to_the_organizations(cast, client):
    from coachhub.accounts.services import organization_update

    organization_update(cast.org_a, language="es")
    fr, token, links = sent_survey(cast, language="de")
    assert mail.outbox[-1].subject.startswith("¿Qué tal")
    assert 'lang="es"' in client.get(path_of(links[3])).content.decode()


def test_custom_subject_and_intro_are_used_with_placeholders(cast):
    survey.survey_settings_update(
        cast.org_a,
        {"email_subject": "Rate {agent} at {organization}", "email_intro": "Hi from {agent} {x}"},
    )
    sent_survey(cast)
    message = mail.outbox[-1]
    assert message.subject == "Rate Ann Agent at Acme Support"
    assert "Hi from Ann Agent {x}" in message.body


# --- data consistency ---


def test_test_mode_answers_never_reach_the_rollups(cast, client):
    survey.survey_settings_update(cast.org_a, {"test_address": "qa@acme.test"})
    fr = ingest(cast.org_a, cast.ann, mode="test")
    send_due(cast.org_a)
    token = token_of(star_links(mail.outbox[-1].body)[1])
    post(client, token, stars=1, action="finish")
    assert response_for(fr).stars == 1
    assert rollup(cast.org_a, cast.ann).get("responses", 0) == 0


def test_request_rows_of_other_organizations_are_not_reachable_by_hash(cast):
    fr, token, _ = sent_survey(cast)
    with tenant_context(cast.org_b):
        assert survey.request_for_token(cast.org_b.pk, fr.pk, token) is None
    with tenant_context(cast.org_a):
        assert survey.request_for_token(cast.org_a.pk, fr.pk, token + "x") is None
        assert FeedbackRequest.objects.filter(organization_id=cast.org_a.pk).count() == 1
