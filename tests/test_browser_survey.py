"""The customer's journey in a real browser at 390×844 (an iPhone-sized screen): open the
e-mailed 2-star link, the page confirms it, pick an improvement chip, answer "not resolved",
comment, submit; the answer is stored, the rollup moved, the page locked on reload. axe-core
runs on every page state; screenshots land in screenshots/ (git-ignored)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from PIL import Image, ImageDraw

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AgentProfile
from feedback.models import SurveyState
from tests.browser import assert_accessible, screenshot

from .survey_helpers import ingest, reload, response_for, rollup, send_due, star_links

pytestmark = [
    pytest.mark.browser,
]


@pytest.fixture
def agent_photo(cast):
    """A real picture under the served media root (URLs bind that root at import)."""
    name = f"agents/survey-test-{uuid.uuid4().hex}.png"
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (128, 128), "#3b5bdb")
    ImageDraw.Draw(image).ellipse((34, 24, 94, 84), fill="#f8d7b5")
    image.save(path)
    with tenant_context(cast.org_a):
        AgentProfile.objects.filter(organization_id=cast.org_a.pk, membership=cast.ann).update(
            display_name="Ann Agent",
            bio="Billing and refunds, 6 years. Loves a tricky case.",
            photo=name,
        )
    yield name
    path.unlink(missing_ok=True)


def test_customer_answers_the_emailed_survey_on_a_phone(
    live_server, page, cast, agent_photo, settings
):
    settings.SITE_URL = live_server.url
    settings.SURVEY_RATE_LIMIT_PER_MINUTE = 0
    fr = ingest(cast.org_a, cast.ann, email="lee@example.com")
    assert send_due(cast.org_a) == {"sent": 1}
    link = star_links(mail.outbox[-1].alternatives[0][0])[2]
    assert link.startswith(live_server.url)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(link)
    # The page confirms the star by itself (one htmx POST), then shows the questions.
    page.get_by_text("What could have been better?").wait_for()
    page.wait_for_load_state("networkidle")
    assert response_for(fr).stars == 2
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("img", name="Photo of Ann Agent").is_visible()
    assert_accessible(page, "survey questions")
    screenshot(page, "survey_mobile_questions")

    page.get_by_text("Speed", exact=True).click()
    page.get_by_text("No", exact=True).click()
    page.get_by_label("Anything else you'd like to tell us?").fill(
        "Took three calls <b>and</b> the refund is still missing."
    )
    # Keyboard works too: the "2 stars" radio stays chosen and focusable.
    assert page.locator("#star-2").is_checked()
    screenshot(page, "survey_mobile_filled")
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    assert_accessible(page, "survey thanks")
    assert "<b>and</b>" in page.locator(".survey-comment").inner_text()
    screenshot(page, "survey_mobile_thanks")

    response = response_for(fr)
    assert (response.stars, response.qualities, response.resolved) == (2, ["Speed"], False)
    assert response.comment == "Took three calls <b>and</b> the refund is still missing."
    assert response.finished
    assert reload(fr).survey_state == SurveyState.FINISHED
    totals = rollup(cast.org_a, cast.ann)
    assert (totals["responses"], totals["stars_2"], totals["fcr_no"]) == (1, 1, 1)

    answer = page.reload()
    assert answer.status == 410
    page.get_by_role("heading", name="This survey is closed").wait_for()
    assert page.locator("form").count() == 0
    assert_accessible(page, "survey closed")
    screenshot(page, "survey_mobile_closed")


def test_keyboard_only_customer_can_rate_and_submit(live_server, page, cast, settings):
    settings.SITE_URL = live_server.url
    settings.SURVEY_RATE_LIMIT_PER_MINUTE = 0
    fr = ingest(cast.org_a, cast.ann, email="kb@example.com", language="es")
    send_due(cast.org_a)
    base_link = star_links(mail.outbox[-1].body)[5].split("?")[0]

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base_link)  # no star chosen yet: the page asks
    assert page.locator("html").get_attribute("lang") == "es"
    assert_accessible(page, "survey without a star (es)")
    page.locator("#star-1").focus()
    page.keyboard.press("ArrowRight")  # radio group: moves to 2 stars and picks it
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.get_by_text("¿Qué destacarías?").wait_for()
    page.wait_for_load_state("networkidle")
    assert response_for(fr).stars == 5
    assert_accessible(page, "survey 5 stars (es)")
    screenshot(page, "survey_mobile_es")
    page.get_by_role("button", name="Enviar").focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="¡Gracias!").wait_for()
    assert response_for(fr).finished
