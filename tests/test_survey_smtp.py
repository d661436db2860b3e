"""The request e-mail over a real SMTP conversation: an aiosmtpd server on loopback receives it
(Django's SMTP backend, as deployed through EMAIL_URL), refuses addresses to make bounces."""

from __future__ import annotations

import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AgentProfile
from feedback.models import RequestStatus, SurveyState, Unsubscribe

from .survey_helpers import ingest, path_of, reload, response_for, rollup, send_due, star_links


class Sink:
    """Accepts everything except addresses in ``refuse`` (address → SMTP reply)."""

    def __init__(self):
        self.envelopes = []
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.SURVEY_RATE_LIMIT_PER_MINUTE = 0
    yield sink
    controller.stop()


def _parts(envelope):
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return message, text, html


def test_smtp_server_receives_the_request_with_agent_card_and_links_that_work(cast, smtp, client):
    with tenant_context(cast.org_a):
        AgentProfile.objects.filter(organization_id=cast.org_a.pk, membership=cast.ann).update(
            display_name="Ann Agent", bio="Billing whisperer since 2015.", photo="agents/ann.jpg"
        )
    fr = ingest(cast.org_a, cast.ann, email="lee@example.com")

    assert send_due(cast.org_a) == {"sent": 1}

    [envelope] = smtp.envelopes
    assert envelope.rcpt_tos == ["lee@example.com"]
    message, text, html = _parts(envelope)
    assert message["To"] == "lee@example.com"
    assert "Ann Agent" in message["Subject"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    photo = f"{settings.SITE_URL}/media/agents/ann.jpg"
    for body in (text, html):
        assert "Ann Agent" in body
        assert "Billing whisperer since 2015." in body
        assert photo in body
    assert f'src="{photo}"' in html
    links = star_links(html)
    assert sorted(links) == [1, 2, 3, 4, 5]
    assert star_links(text) == links
    unsubscribe = "".join(str(message["List-Unsubscribe"]).split()).strip("<>")
    assert unsubscribe in text

    # Follow the 2-star link as a person: the page loads, then confirms the star.
    page = client.get(path_of(links[2]))
    assert page.status_code == 200 and "Ann Agent" in page.content.decode()
    assert response_for(fr) is None
    confirm = client.post(path_of(links[2]).split("?")[0], {"stars": 2, "action": "confirm"})
    assert confirm.status_code == 302
    assert response_for(fr).stars == 2
    assert reload(fr).survey_state == SurveyState.ANSWERED
    assert rollup(cast.org_a, cast.ann)["stars_2"] == 1


def test_hard_bounce_marks_bounced_and_suppresses_the_address(cast, smtp):
    smtp.refuse["gone@example.com"] = "550 5.1.1 <gone@example.com>: no such user"
    fr = ingest(cast.org_a, cast.ann, email="gone@example.com")

    assert send_due(cast.org_a) == {"bounced": 1}

    assert smtp.envelopes == []
    fr = reload(fr)
    assert (fr.status, fr.survey_state) == (RequestStatus.BOUNCED, SurveyState.NONE)
    assert "550" in fr.last_error and fr.token_hash == ""
    with tenant_context(cast.org_a):
        row = Unsubscribe.objects.get(organization_id=cast.org_a.pk, email="gone@example.com")
    assert row.source == "bounce"
    assert rollup(cast.org_a, cast.ann).get("requests_sent", 0) == 0

    # Later requests to the address are not sent, and read "bounced".
    survey_settings = {"suppression_days": 0}
    from feedback.services.survey import survey_settings_update

    survey_settings_update(cast.org_a, survey_settings)
    later = ingest(cast.org_a, cast.andy, email="gone@example.com")
    assert later.status == RequestStatus.BOUNCED
    assert send_due(cast.org_a) == {}
    # Other addresses still go out over the same server.
    ingest(cast.org_a, cast.andy, email="ok@example.com")
    assert send_due(cast.org_a) == {"sent": 1}
    assert [e.rcpt_tos for e in smtp.envelopes] == [["ok@example.com"]]


def test_temporary_refusal_is_retried_not_bounced(cast, smtp):
    smtp.refuse["busy@example.com"] = "450 4.2.1 mailbox busy, try later"
    fr = ingest(cast.org_a, cast.ann, email="busy@example.com")
    assert send_due(cast.org_a) == {"retry": 1}
    fr = reload(fr)
    assert (fr.status, fr.survey_state) == (RequestStatus.SCHEDULED, SurveyState.PENDING)
    with tenant_context(cast.org_a):
        assert not Unsubscribe.objects.filter(organization_id=cast.org_a.pk).exists()


def test_one_connection_sends_a_batch(cast, smtp):
    from feedback.services.survey import survey_settings_update

    survey_settings_update(cast.org_a, {"suppression_days": 0})
    for i in range(5):
        ingest(cast.org_a, cast.ann, email=f"c{i}@example.com")
    assert send_due(cast.org_a) == {"sent": 5}
    assert sorted(e.rcpt_tos[0] for e in smtp.envelopes) == [f"c{i}@example.com" for i in range(5)]
