"""Staff pages of the survey side: the interaction with its delivery status and the customer's
answer, and the recent surveys list. Role narrowing, other org 404, comments escaped."""

from __future__ import annotations

import pytest
from django.core import mail

from coachhub.tenancy.context import tenant_context
from feedback.models import Unsubscribe

from .survey_helpers import ingest, send_due, star_links, token_of

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.SURVEY_RATE_LIMIT_PER_MINUTE = 0


def answered(cast, client, agent, comment=XSS, email="lee@example.com"):
    fr = ingest(cast.org_a, agent, email=email)
    send_due(cast.org_a)
    token = token_of(star_links(mail.outbox[-1].body)[1])
    client.post(f"/s/{token}/", {"stars": 2, "action": "finish", "comment": comment})
    client.logout()
    return fr


def page_url(fr, slug="acme"):
    return f"/o/{slug}/feedback/interactions/{fr.interaction.public_id}/"


def test_interaction_page_shows_sent_status_and_the_escaped_answer(cast, client, client_for):
    fr = answered(cast, client, cast.ann)
    page = client_for(cast.alice).get(page_url(fr))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Sent" in html and "Finished" in html
    assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    listing = client_for(cast.alice).get("/o/acme/feedback/surveys/").content.decode()
    assert fr.interaction.external_id in listing and "2 ★" in listing


def test_bounced_status_is_shown_with_the_error(cast, client_for):
    with tenant_context(cast.org_a):
        Unsubscribe.objects.create(
            organization_id=cast.org_a.pk, email="gone@example.com", source="bounce"
        )
    fr = ingest(cast.org_a, cast.ann, email="gone@example.com")
    html = client_for(cast.alice).get(page_url(fr)).content.decode()
    assert "Bounced" in html


@pytest.mark.parametrize(
    ("viewer", "agent", "code"),
    [
        ("sam", "ann", 200),  # leads Team A1
        ("sam", "zoe", 404),  # Team A2 is not his
        ("ann", "ann", 200),  # her own
        ("ann", "andy", 404),  # a colleague's
    ],
)
def test_interaction_page_is_narrowed_by_role(cast, client, client_for, viewer, agent, code):
    fr = answered(cast, client, getattr(cast, agent), comment="fine", email=f"{agent}@c.example")
    assert client_for(getattr(cast, viewer)).get(page_url(fr)).status_code == code


def test_survey_list_shows_only_what_the_member_may_see(cast, client, client_for):
    mine = answered(cast, client, cast.ann, comment="a", email="a@c.example")
    other = answered(cast, client, cast.zoe, comment="b", email="b@c.example")
    html = client_for(cast.ann).get("/o/acme/feedback/surveys/").content.decode()
    assert mine.interaction.external_id in html and other.interaction.external_id not in html


def test_other_organizations_interaction_is_404(cast, client, client_for):
    fr = answered(cast, client, cast.ann)
    assert client_for(cast.bob).get(page_url(fr, "globex")).status_code == 404


def test_survey_list_query_count_does_not_grow_with_rows(cast, client, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from feedback.services.survey import survey_settings_update

    survey_settings_update(cast.org_a, {"suppression_days": 0})

    def count():
        admin = client_for(cast.alice)
        with CaptureQueriesContext(connection) as ctx:
            assert admin.get("/o/acme/feedback/surveys/").status_code == 200
        return len(ctx.captured_queries)

    for i in range(2):
        answered(cast, client, cast.ann, comment="x", email=f"q{i}@c.example")
    few = count()
    for i in range(2, 8):
        answered(cast, client, cast.andy, comment="y", email=f"q{i}@c.example")
    assert count() == few
