"""The real-time loop in a browser (Debian's Chromium, axe on every page): a rating shows up in
the agent's stream without a reload (htmx polling), the supervisor acknowledges the alert,
coaches on it, and the agent reads the note beside the interaction and replies."""

from __future__ import annotations

import pytest

from coachhub.tenancy.context import tenant_context
from coaching.models import CoachingNote
from tests.browser import screenshot, sign_in, visit

from .coaching_helpers import answered, run_outbox

pytestmark = [
    pytest.mark.browser,
]

PASSWORD = "pw-for-tests-only"  # tests/factories.py


def test_rating_to_alert_to_coaching_note_in_the_browser(live_server, page, cast):
    page.set_viewport_size({"width": 1360, "height": 900})
    base = live_server.url
    answered(cast.org_a, cast.ann, 5, answers={"comment": "Lovely help"})

    # The agent's stream: a new rating appears without reloading.
    sign_in(page, base, "ann@acme.test", PASSWORD)
    visit(page, f"{base}/o/acme/feedback/mine/", "my feedback")
    assert page.get_by_text("Lovely help").is_visible()
    answered(cast.org_a, cast.ann, 1, answers={"comment": "Waited <forever>"})
    page.get_by_text("Waited <forever>").wait_for(timeout=20_000)  # the poll brought it in
    screenshot(page, "realtime_my_feedback")
    run_outbox(cast.org_a)  # the worker's part: the 1-star raises its alert

    # The supervisor: the alert in the inbox, one-click acknowledge, then coach on it.
    sign_in(page, base, "sam@acme.test", PASSWORD)
    visit(page, f"{base}/o/acme/coaching/alerts/", "alert inbox")
    rows = page.locator("#alert-rows")
    assert rows.get_by_text("1-star rating").is_visible()
    rows.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state("networkidle")
    assert rows.get_by_text("Nothing open").is_visible()
    visit(page, f"{base}/o/acme/coaching/alerts/?state=acknowledged", "acknowledged alerts")
    page.locator("#alert-rows").get_by_role("link", name="Coach on this").click()
    visit(page, None, "note form")
    page.get_by_label("Developmental").check()
    page.get_by_label("Focus behaviour").select_option(label="Ownership")
    page.get_by_label("Note").fill("Set the customer's expectations on timing up front.")
    page.get_by_role("button", name="Send note").click()
    visit(page, None, "note (supervisor)")
    visit(page, f"{base}/o/acme/coaching/notes/", "coaching overview")
    visit(page, f"{base}/o/acme/feedback/stream/", "team stream")
    screenshot(page, "realtime_team_stream")

    # The agent reads it beside the interaction and replies.
    with tenant_context(cast.org_a):
        note = CoachingNote.objects.get(organization=cast.org_a)
    sign_in(page, base, "ann@acme.test", PASSWORD)
    visit(page, f"{base}/o/acme/coaching/notes/{note.public_id}/", "note (agent)")
    assert page.get_by_text("Waited <forever>").is_visible()
    page.get_by_label("Reply (optional)").fill("Thanks, will do.")
    page.get_by_role("button", name="Got it").click()
    visit(page, None, "note acknowledged")
    assert page.get_by_text("Thanks, will do.").is_visible()
    screenshot(page, "realtime_note")
    with tenant_context(cast.org_a):
        note.refresh_from_db()
    assert note.acknowledged_at is not None
