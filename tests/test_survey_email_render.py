"""The sender's fast path for the request e-mail (templates rendered once per agent, language
and mode, per-e-mail values joined in) gives byte for byte the e-mail of a plain render."""

from __future__ import annotations

import itertools
import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AgentProfile, sha256_hex
from feedback.services import survey

from .survey_helpers import ingest, reload, rollup, send_due, star_links, token_of

NAMES = [
    "Lee Park",
    "<b>\"Tom\" & 'Jerry'</b> <script>alert(1)</script>",
    "{agent} {customer} {organization} {{customer}} }{",
    "%(name)s 100% %s {0}",
    "Zoë 山田 — Ünïcödé",
    "two\r\nlines\rand\nmore\n",
    "",
    "   ",
    # The sentinels themselves, and text that looks like them: joined in, never re-read.
    survey._TOKEN + survey._NAME + survey._INTRO + survey._SUBJECT,
    survey._MARK + "N" + survey._MARK,
    "zq000000000000000000000000N" + "zq000000000000000000000000",
]
SETTINGS = [
    {},
    {
        "email_subject": "{customer}, how did {agent} at {organization} do? {unknown} {{x}}",
        "email_intro": "Dear {customer},\n<b>{agent}</b> & {organization} say \"hi\" 'there'"
        "\r\n\r\nline {customer}\r",
    },
    {"email_subject": "  spaced\n\tsubject  " + "x" * 300, "email_intro": "{customer}"},
    {"email_subject": "{customer}", "email_intro": "   "},
]
LANGUAGES = ["", "es", "es-MX", "en", "xx"]


def _fields(message):
    return (
        message.subject,
        message.body,
        message.alternatives,
        message.from_email,
        message.to,
        message.extra_headers,
    )


def _compare(fr, cards, renders, token="Tok3n_-AbC"):
    """Every name, settings and language combination: the fast path (one ``renders`` dict
    across all of them, as a batch keeps it) equals the plain render."""
    org = fr.organization
    for settings_, name, language in itertools.product(SETTINGS, NAMES, LANGUAGES):
        org.settings = {**(org.settings or {}), "email_subject": "", "email_intro": ""}
        org.settings.update(settings_)
        fr.interaction.customer_name = name
        fr.interaction.customer_language = language
        card = cards.setdefault(fr.interaction.agent_id, survey.agent_card(fr.interaction.agent))
        plain = survey.request_email(fr, token, "lee@example.com", card=card)
        fast = survey.request_email(fr, token, "lee@example.com", card=card, renders=renders)
        assert _fields(fast) == _fields(plain), (settings_, name, language)
        # The whole MIME message too (less its per-message date, id and boundaries).
        assert _mime(fast) == _mime(plain)
    assert renders  # the fast path was taken, not the fallback
    assert all(entry is not None for entry in renders.values())


def _mime(message):
    import re

    raw = message.message().as_bytes()
    raw = re.sub(rb"(?m)^(Date|Message-ID): .*$", b"", raw)
    return re.sub(rb"=+[0-9]{10,}==", b"BOUNDARY", raw)


@pytest.fixture
def profiled(cast):
    with tenant_context(cast.org_a):
        AgentProfile.objects.filter(organization_id=cast.org_a.pk, membership=cast.ann).update(
            display_name='Ann <"Agent"> & {customer}',
            bio="Ten years of <billing> & 'puzzles' solved. {organization}",
            photo="agents/ann.png",
        )
    return cast


def test_fast_path_is_byte_identical_live_and_test(profiled):
    cast = profiled
    cast.org_a.name = "Acme <Support> & \"Co\" {agent} 'x'"
    cast.org_a.brand_color = "#ffcc00"
    cast.org_a.save(update_fields=["name", "brand_color"])
    live = ingest(cast.org_a, cast.ann)
    test = ingest(cast.org_a, cast.ann, mode="test", email="t@example.com")
    renders, cards = {}, {}
    with tenant_context(cast.org_a):
        for fr in (live, test):
            fr.organization = cast.org_a
            _compare(fr, cards, renders)
        # One render per (agent card, language, mode), whatever the names and settings.
        languages = {survey.language_for(live.interaction, cast.org_a)}
        assert len(renders) <= 2 * len(LANGUAGES) and len(renders) >= 2 * len(languages)
        # The e-mail is really in the language asked for, test banner and all.
        test.interaction.customer_language = "es"
        card = cards[test.interaction.agent_id]
        html = survey.request_email(test, "T", "x@y.z", card=card, renders=renders)
        assert 'lang="es"' in html.alternatives[0][0]


def test_fast_path_agent_without_profile(cast):
    with tenant_context(cast.org_a):
        AgentProfile.objects.filter(organization_id=cast.org_a.pk, membership=cast.andy).delete()
    fr = ingest(cast.org_a, cast.andy)
    with tenant_context(cast.org_a):
        fr.organization = cast.org_a
        card = survey.agent_card(fr.interaction.agent)
        assert card.photo_url == "" and card.bio == ""
        _compare(fr, {fr.interaction.agent_id: card}, {})


def test_sender_uses_fast_path_and_links_work(profiled):
    """Through the sender: a batch of e-mails with different names, each with its own token
    in every link and header."""
    cast = profiled
    names = ["A <one>", "B & two", "C {customer}"]
    for i, name in enumerate(names):
        fr = ingest(cast.org_a, cast.ann, email=f"c{i}@example.com")
        with tenant_context(cast.org_a):
            fr.interaction.__class__.objects.filter(
                organization_id=cast.org_a.pk, pk=fr.interaction_id
            ).update(customer_name=name)
    mail.outbox.clear()
    assert send_due(cast.org_a) == {"sent": 3}
    tokens = set()
    for message in mail.outbox:
        links = star_links(message.body)
        assert sorted(links) == [1, 2, 3, 4, 5]
        token = {token_of(link) for link in links.values()}
        assert len(token) == 1
        token = token.pop()
        assert survey._MARK not in message.body
        assert survey._MARK not in message.alternatives[0][0]
        assert message.extra_headers["List-Unsubscribe"] == (f"<{survey.unsubscribe_url(token)}>")
        assert set(star_links(message.alternatives[0][0]).values()) == set(links.values())
        tokens.add(token)
    assert len(tokens) == 3


class RefusingBackend(BaseEmailBackend):
    """Accepts the connection, then fails every message (after the sender wrote its rows)."""

    def send_messages(self, messages):
        for message in messages:
            message.message()
        raise smtplib.SMTPServerDisconnected("connection lost mid-message")


def test_send_failing_after_the_writes_rolls_them_back(cast, settings):
    from coachhub.tenancy.models import GlobalLookup, LookupKind
    from feedback.models import RequestStatus, SurveyState

    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    fr = ingest(cast.org_a, cast.ann)
    before = rollup(cast.org_a, cast.ann).get("requests_sent", 0)
    assert send_due(cast.org_a) == {"retry": 1}
    fr = reload(fr)
    assert (fr.status, fr.survey_state) == (RequestStatus.SCHEDULED, SurveyState.PENDING)
    assert fr.sent_at is None and fr.token_hash == "" and fr.attempts == 1
    assert "SMTPServerDisconnected" in fr.last_error
    with tenant_context(cast.org_a):
        assert not GlobalLookup.objects.filter(kind=LookupKind.SURVEY_TOKEN).exists()
    assert rollup(cast.org_a, cast.ann).get("requests_sent", 0) == before

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(fr.send_after + timedelta(seconds=1), tick=False):
        assert send_due(cast.org_a) == {"sent": 1}
    fr = reload(fr)
    assert (fr.status, fr.survey_state, fr.attempts) == (RequestStatus.SENT, SurveyState.SENT, 2)
    assert fr.sent_at is not None and fr.last_error == ""
    assert rollup(cast.org_a, cast.ann)["requests_sent"] == before + 1
    token = token_of(star_links(mail.outbox[-1].body)[5])
    assert survey.token_resolve(token) == (cast.org_a.pk, fr.pk)
    assert fr.token_hash == sha256_hex(token)


def test_test_mode_request_is_sent_to_the_test_address_and_not_counted(cast):
    from feedback.models import RequestStatus, SurveyState

    survey.survey_settings_update(cast.org_a, {"test_address": "qa@acme.test"})
    fr = ingest(cast.org_a, cast.ann, mode="test", email="real@example.com")
    mail.outbox.clear()
    assert send_due(cast.org_a) == {"sent": 1}
    assert mail.outbox[-1].to == ["qa@acme.test"]
    fr = reload(fr)
    assert (fr.status, fr.survey_state) == (RequestStatus.TEST, SurveyState.SENT)
    assert rollup(cast.org_a, cast.ann).get("requests_sent", 0) == 0


def test_renders_kept_across_batches_follow_agent_and_organization_changes(cast, monkeypatch):
    """The process keeps its renders, keyed by what they read: a renamed agent or organization
    gets a new one. A drain's connection reads the agents again after READS_KEPT_SECONDS."""

    def rename(display_name, org_name):
        with tenant_context(cast.org_a):
            AgentProfile.objects.filter(organization_id=cast.org_a.pk, membership=cast.ann).update(
                display_name=display_name
            )
        cast.org_a.name = org_name
        cast.org_a.save(update_fields=["name"])

    survey.survey_settings_update(cast.org_a, {"suppression_days": 0})
    rename("First Name", "Org One")
    connection = survey._Connection()
    for i, (agent_name, org_name) in enumerate([("First Name", "Org One"), ("Second", "Org Two")]):
        rename(agent_name, org_name)
        if i:
            monkeypatch.setattr(survey, "READS_KEPT_SECONDS", -1)
        ingest(cast.org_a, cast.ann, email=f"r{i}@example.com")
        ids = survey.requests_due(cast.org_a.pk)
        assert survey.requests_send(cast.org_a.pk, ids, connection=connection) == {"sent": 1}
        body = mail.outbox[-1].body
        assert agent_name in body and org_name in body
        assert f"{agent_name} from {org_name}" in mail.outbox[-1].alternatives[0][0]


def test_sender_of_another_organization_sees_nothing(cast):
    """Another organization's sender given this request's id: skipped, nothing written."""
    from feedback.models import RequestStatus, SurveyState

    fr = ingest(cast.org_a, cast.ann)
    mail.outbox.clear()
    assert survey.requests_send(cast.org_b.pk, [fr.pk]) == {"skipped": 1}
    assert survey.request_send(cast.org_b.pk, fr.pk) == "skipped"
    assert mail.outbox == []
    fr = reload(fr)
    assert (fr.status, fr.survey_state, fr.attempts) == (
        RequestStatus.SCHEDULED,
        SurveyState.PENDING,
        0,
    )
    assert survey.requests_send(cast.org_a.pk, [fr.pk]) == {"sent": 1}
