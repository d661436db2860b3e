"""Preparing a 1:1 in the browser (Debian's Chromium, axe on every page): the agent saves a QA
review from its page, the supervisor picks the agent on the preparation form and sees it in the
preparation list (htmx) with the chosen category's template prompts, prepares the session and
finds the review there; the admin edits a category template (a field error first) and
deactivates one."""

from __future__ import annotations

import pytest

from coachhub.tenancy.context import tenant_context
from coaching.models_sessions import CoachingSession, SessionCategory
from tests.browser import screenshot, sign_in, visit

from .qa_factories import make_interaction, make_review, make_scorecard

pytestmark = [pytest.mark.browser]

PASSWORD = "pw-for-tests-only"  # tests/factories.py


def test_saved_review_in_the_preparation_and_category_templates(live_server, page, cast):
    page.set_viewport_size({"width": 1360, "height": 1000})
    base = live_server.url
    card = make_scorecard(cast.org_a, cast.alice)
    review = make_review(
        cast.sam,
        make_interaction(cast.org_a, cast.ann, external_id="CHAT-2041"),
        card,
        overall_comment="Warm opening; confirm the refund date before closing.",
    )
    review_url = f"{base}/o/acme/qa/reviews/{review.public_id}/"

    # The agent saves the review from its page.
    sign_in(page, base, "ann@acme.test", PASSWORD)
    visit(page, review_url, "review (agent)")
    with page.expect_navigation():
        page.get_by_role("button", name="Save for 1:1").click()
    visit(page, None, "review saved (agent)")
    assert page.get_by_role("button", name="Saved for 1:1").is_visible()
    assert page.get_by_text("Saved for your next 1:1.").is_visible()

    # The supervisor prepares: choosing the agent loads the preparation list.
    sign_in(page, base, "sam@acme.test", PASSWORD)
    visit(page, f"{base}/o/acme/coaching/sessions/new/", "prepare (empty)")
    page.get_by_label("Agent").select_option(label="Ann Agent")
    panel = page.locator("#prep-panel")
    panel.get_by_role("heading", name="Brought to the 1:1 with Ann Agent").wait_for()
    assert panel.get_by_role("link", name="Chat quality · CHAT-2041").is_visible()
    page.get_by_label("Category").select_option(label="Performance")
    panel.get_by_text("Which customer moment are you proud of?").wait_for()
    page.get_by_label("Purpose").fill("Refund calls: confirm the date every time.")
    visit(page, None, "prepare (agent and category chosen)")
    assert "agent=" in page.url  # a reload keeps the choice
    screenshot(page, "session_prep_saved_review")
    with page.expect_navigation():
        page.get_by_role("button", name="Prepare draft").click()
    visit(page, None, "prepared session (supervisor)")
    items = page.get_by_role("list", name="Saved items")
    assert items.get_by_role("link", name="Chat quality · CHAT-2041").is_visible()
    assert page.get_by_text("Which customer moment are you proud of?").is_visible()
    screenshot(page, "session_with_saved_review")
    with tenant_context(cast.org_a):
        session = CoachingSession.objects.get()
        assert session.items.get().review_id == review.pk

    # The admin edits a template: a too-long prompt is refused with the field named.
    sign_in(page, base, "alice@acme.test", PASSWORD)
    visit(page, f"{base}/o/acme/coaching/session-categories/", "categories")
    screenshot(page, "session_categories")
    page.get_by_role("link", name="Edit Quality").click()
    visit(page, None, "edit category")
    prompts = page.get_by_label("Template prompts")
    prompts.fill("Which criterion cost the most points?\n" + "x" * 301)
    with page.expect_navigation():
        page.get_by_role("button", name="Save category").click()
    visit(page, None, "edit category (error)")
    assert page.get_by_text("Prompt 2 is longer than 300 characters.").is_visible()
    screenshot(page, "session_category_error")
    prompts.fill("Which criterion cost the most points?\nWhat will you try on the next call?")
    with page.expect_navigation():
        page.get_by_role("button", name="Save category").click()
    visit(page, None, "categories (saved)")
    assert page.get_by_text("What will you try on the next call?").is_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="Deactivate Development").click()
    visit(page, None, "categories (deactivated)")
    assert page.get_by_role("button", name="Use again Development").is_visible()
    screenshot(page, "session_categories_edited")
    with tenant_context(cast.org_a):
        quality = SessionCategory.objects.get(name="Quality")
        assert quality.prompt_list[-1] == "What will you try on the next call?"
        assert not SessionCategory.objects.get(name="Development").is_active
