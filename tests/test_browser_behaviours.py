"""The kudos behaviour list in the browser (Debian's Chromium, axe on every page): the admin
adds a behaviour with a description, a bad one is refused naming the field, one is retired and
the kudos form stops offering it. Screenshot: screenshots/kudos_behaviours.png."""

from __future__ import annotations

import pytest

from tests.browser import screenshot, sign_in, visit

pytestmark = [
    pytest.mark.browser,
]

PASSWORD = "pw-for-tests-only"  # tests/factories.py


def test_admin_keeps_the_kudos_behaviour_list_in_the_browser(live_server, page, cast):
    page.set_viewport_size({"width": 1280, "height": 900})
    base = live_server.url
    sign_in(page, base, "alice@acme.test", PASSWORD)
    page.goto(f"{base}/o/acme/recognition/catalogue/")  # any admin page: the Manage menu
    page.get_by_role("link", name="Kudos behaviours").click()
    visit(page, None, "kudos behaviours")

    page.get_by_label("Behaviour").fill("Empathy")  # already on the list
    page.get_by_role("button", name="Add").click()
    visit(page, None, "kudos behaviours: field error")
    assert "That behaviour is already on the list." in page.locator("#id_name_error").inner_text()

    page.get_by_label("Behaviour").fill("Calm under pressure")
    page.get_by_label("What it looks like").fill("Kept a heated call steady and kind.")
    page.get_by_role("button", name="Add").click()
    visit(page, None, "kudos behaviours: added")
    page.get_by_role("button", name="Retire Teamwork").click()
    visit(page, None, "kudos behaviours: retired")
    assert "Retired" in page.inner_text("#behaviours")
    screenshot(page, "kudos_behaviours")

    page.get_by_role("link", name="Edit Calm under pressure").click()
    visit(page, None, "edit a kudos behaviour")
    screenshot(page, "kudos_behaviour_edit")

    sign_in(page, base, "sam@acme.test", PASSWORD)
    visit(page, f"{base}/o/acme/recognition/kudos/new/", "kudos form (supervisor)")
    offered = page.get_by_label("Behaviour").inner_text()
    assert "Calm under pressure" in offered and "Teamwork" not in offered
