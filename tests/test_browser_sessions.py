"""A 1:1 in the browser (Debian's Chromium, axe on every page): the supervisor prepares and
shares a session, the agent adds a self-assessment and acknowledges, the supervisor writes GROW
notes, sets a SMART goal and closes the session; the goal page shows computed progress."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from coachhub.tenancy.context import tenant_context
from coaching.models import FocusBehaviour
from coaching.models_sessions import CoachingSession, Goal
from tests.browser import screenshot, sign_in, visit

from .coaching_helpers import answered

pytestmark = [
    pytest.mark.browser,
]

PASSWORD = "pw-for-tests-only"  # tests/factories.py


def test_one_on_one_from_preparation_to_goal_in_the_browser(live_server, page, cast):
    page.set_viewport_size({"width": 1360, "height": 1000})
    base = live_server.url
    with tenant_context(cast.org_a):
        FocusBehaviour.objects.get_or_create(organization=cast.org_a, name="Empathy")
    for stars in (4, 5, 5):
        answered(cast.org_a, cast.ann, stars)

    # Supervisor prepares and shares.
    sign_in(page, base, "sam@acme.test", PASSWORD)
    visit(page, f"{base}/o/acme/coaching/sessions/", "sessions (supervisor)")
    page.get_by_role("link", name="Prepare a 1:1").click()
    visit(page, None, "prepare form")
    page.get_by_label("Agent").select_option(label="Ann Agent")
    page.get_by_role("heading", name="Brought to the 1:1 with Ann Agent").wait_for()  # htmx
    page.get_by_label("Focus behaviour (one)").select_option(label="Empathy")
    page.get_by_label("Purpose").fill("Warmer openings on chat")
    page.get_by_role("button", name="Prepare draft").click()
    visit(page, None, "draft session")
    page.get_by_label("Add a private note").fill("Coach-only: seemed tired")
    page.get_by_role("button", name="Save private note").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Share with Ann Agent").click()
    visit(page, None, "shared session")
    with tenant_context(cast.org_a):
        session = CoachingSession.objects.get()
    assert session.state == "shared"

    # Agent: self-assessment, acknowledge; never sees the private note.
    sign_in(page, base, "ann@acme.test", PASSWORD)
    visit(page, f"{base}/o/acme/coaching/sessions/{session.public_id}/", "session (agent)")
    assert "seemed tired" not in page.content()
    page.get_by_label("Self-assessment").fill("My openings are a bit flat")
    page.get_by_label("Topics I want to talk about").fill("Chat macros")
    page.get_by_role("button", name="Save my part").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Acknowledge").click()
    visit(page, None, "acknowledged (agent)")
    screenshot(page, "sessions_agent")

    # Supervisor: GROW notes, a SMART goal, close.
    sign_in(page, base, "sam@acme.test", PASSWORD)
    visit(page, f"{base}/o/acme/coaching/sessions/{session.public_id}/", "session (supervisor)")
    assert page.get_by_text("My openings are a bit flat").is_visible()
    page.get_by_label("Goal", exact=True).fill("Open every chat with the customer's name")
    page.get_by_label("Will (way forward)").fill("Try it on every chat this week")
    page.get_by_role("button", name="Save notes").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("link", name="Set a SMART goal").click()
    visit(page, None, "goal form")
    page.get_by_label("Goal (specific)").fill("Average of 4.5 stars")
    page.get_by_label("Metric").select_option(label="Average stars")
    page.get_by_label("Target").fill("4.5")
    due = timezone.localdate() + timedelta(days=30)
    page.get_by_label("Due date").fill(due.isoformat())
    page.get_by_role("button", name="Set goal").click()
    visit(page, None, "goal page")
    page.goto(f"{base}/o/acme/coaching/sessions/{session.public_id}/")
    page.get_by_role("button", name="Close session").click()
    visit(page, None, "closed session")
    with tenant_context(cast.org_a):
        session.refresh_from_db()
        goal = Goal.objects.get()
    assert session.state == "closed" and goal.session_id == session.pk

    # The goal page shows progress computed from the answers (today's 3 answers count).
    visit(page, f"{base}/o/acme/coaching/goals/{goal.public_id}/", "goal page")
    assert page.get_by_test_id("goal-current").inner_text().startswith("4.67")
    assert page.get_by_test_id("goal-status").inner_text() in ("On track", "At risk")
    assert page.locator("svg[role=img]").count() == 1
    screenshot(page, "sessions_goal")
    visit(page, f"{base}/o/acme/coaching/goals/", "goal list")
    visit(page, f"{base}/o/acme/coaching/coverage/", "coverage")

    # Admin pages: effectiveness (with usefulness ratings) and the category templates.
    sign_in(page, base, "alice@acme.test", PASSWORD)
    visit(page, f"{base}/o/acme/coaching/effectiveness/", "effectiveness")
    screenshot(page, "sessions_effectiveness")
    visit(page, f"{base}/o/acme/coaching/session-categories/", "categories")
