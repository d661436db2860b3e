"""The foundation's browser journey: sign in as the person who belongs to both demo
organizations, switch organization, and see only that organization's teams. axe-core runs on
every page visited."""

import os

import pytest
from django.core.management import call_command

from tests.browser import screenshot, visit

pytestmark = [
    pytest.mark.browser,
]

NORTHWIND_TEAMS = ["Billing", "Technical Support", "Onboarding"]
TAILSPIN_TEAMS = ["Reservations", "Baggage"]


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", "--people-only", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return settings.DEMO_PASSWORD


def notify_jordan(slug, title, body=""):
    from coachhub.core.notifications import notify
    from coachhub.tenancy.context import tenant_context
    from coachhub.tenancy.models import Membership, Organization

    org = Organization.objects.get(slug=slug)
    with tenant_context(org):
        member = Membership.objects.get(organization=org, user__email="jordan@coachhub.example")
        notify(member, "demo", title, body)


def team_names(page) -> list[str]:
    return [
        t.strip()
        for t in page.locator("table[aria-label='Teams'] tbody td:first-child a").all_inner_texts()
    ]


def test_two_organization_user_switches_and_sees_only_that_organizations_teams(
    live_server, page, demo
):
    page.set_viewport_size({"width": 1360, "height": 900})
    base = live_server.url

    visit(page, f"{base}/accounts/login/", "login")
    screenshot(page, "login")
    page.get_by_label("Email").fill("jordan@coachhub.example")
    page.get_by_label("Password", exact=True).fill(demo)
    page.get_by_role("button", name="Sign in").click()

    # Two organizations: the switcher page, not a redirect.
    page.wait_for_url(f"{base}/")
    visit(page, None, "organization switcher")
    page.get_by_role("link", name="Northwind Support").click()
    page.wait_for_url(f"{base}/o/northwind/")
    visit(page, None, "northwind home")
    screenshot(page, "org_home")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Teams").click()
    page.wait_for_url(f"{base}/o/northwind/teams/")
    visit(page, None, "northwind teams")
    assert sorted(team_names(page)) == sorted(NORTHWIND_TEAMS)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    visit(page, None, "northwind people")
    assert "Ana Ruiz" in page.content() and "Carmen" not in page.content()
    screenshot(page, "people")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    visit(page, None, "northwind api keys")
    page.get_by_label("Name").fill("Zendesk production")
    page.get_by_role("button", name="Create key").click()
    page.wait_for_load_state("networkidle")
    key = page.get_by_role("textbox", name="API key").input_value()
    assert key.startswith("chk_live_")
    visit(page, None, "northwind api key created")
    screenshot(page, "api_keys")

    # Switch organization from the header.
    page.get_by_role("button", name="Switch organization").click()
    page.get_by_role("link", name="Tailspin Care").click()
    page.wait_for_url(f"{base}/o/tailspin/")
    visit(page, None, "tailspin home")
    screenshot(page, "org_home_supervisor")

    # Jordan is a supervisor in Tailspin: the teams they lead, nothing of Northwind's.
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="People").count() == 0
    nav.get_by_role("link", name="Teams").click()
    page.wait_for_url(f"{base}/o/tailspin/teams/")
    visit(page, None, "tailspin teams")
    names = team_names(page)
    assert names == ["Baggage"]
    assert not set(names) & set(NORTHWIND_TEAMS)

    # Northwind's pages stay Northwind's: another organization's team id is a 404 here.
    page.get_by_role("link", name="Baggage").click()
    visit(page, None, "tailspin team")
    assert "Pablo" in page.content()

    # The bell: a notification arrives, the header shows it, the list marks it read.
    notify_jordan("tailspin", "Pablo R. got a 5-star rating", "“Found my bag in an hour!”")
    page.goto(f"{base}/o/tailspin/")
    bell = page.get_by_role("button", name="Notifications: 1 unread")
    bell.click()
    visit(page, None, "bell open")
    page.goto(f"{base}/o/tailspin/notifications/")
    visit(page, None, "notifications")
    page.get_by_role("button", name="Mark all read").first.click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("button", name="Notifications: 0 unread").count() == 1
