"""The KPI dashboard in a real browser: a supervisor opens it, switches the period, opens an
agent, and the Chart.js charts render (axe-checked; screenshots
screenshots/insights_team.png and screenshots/insights_agent.png)."""

import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.browser import assert_accessible, screenshot

pytestmark = [
    pytest.mark.browser,
]


@pytest.fixture
def northwind(transactional_db, settings, tmp_path):
    """Northwind's people and 40 days of rollups for the teams Marcus leads."""
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", "--people-only", stdout=open(os.devnull, "w"))  # noqa: SIM115
    from coachhub.tenancy.context import tenant_context
    from coachhub.tenancy.models import Membership, Organization, Role
    from feedback.models import DailyRollup

    org = Organization.objects.get(slug="northwind")
    with tenant_context(org):
        marcus = Membership.objects.get(organization=org, user__email="marcus@northwind.example")
        agents = list(
            Membership.objects.filter(
                organization=org, role=Role.AGENT, team_id__in=marcus.led_team_ids
            )
        )
        for agent in agents:
            agent.profile  # noqa: B018 - cache it: display_name shows the profile's name
        today = timezone.now().astimezone(org.tz).date()
        rows = []
        for i, agent in enumerate(agents):
            for d in range(40):
                s = [1 + (d + i) % 2, (d % 3), 2 + (i % 2), 4 + (d % 4), 6 + (i + d) % 5]
                n = sum(s)
                rows.append(
                    DailyRollup(
                        organization=org,
                        day=today - timedelta(days=d),
                        agent=agent,
                        team_id=agent.team_id,
                        interactions=n + 4,
                        requests_sent=n + 3,
                        responses=n,
                        stars_sum=sum((k + 1) * c for k, c in enumerate(s)),
                        stars_count=n,
                        stars_1=s[0],
                        stars_2=s[1],
                        stars_3=s[2],
                        stars_4=s[3],
                        stars_5=s[4],
                        csat_count=s[3] + s[4],
                        fcr_yes=n - 2,
                        fcr_no=2,
                        nps_promoters=3,
                        nps_passives=1,
                        nps_detractors=1,
                        repeat_contacts=1,
                    )  # fmt: skip
                )
        DailyRollup.objects.bulk_create(rows)
    return {"org": org, "agents": agents}


def _charts_drawn(page) -> None:
    page.wait_for_selector("body[data-charts-ready='1']", timeout=15_000)
    drawn = page.evaluate(
        """() => ['chart-series', 'chart-stars'].map(id => {
            const c = document.getElementById(id);
            return !!(c && c.chart && c.width > 0 && c.chart.data.datasets[0].data.length);
        })"""
    )
    assert drawn == [True, True], drawn


def test_supervisor_dashboard_period_and_agent_charts(live_server, browser, northwind):
    from django.conf import settings

    base = live_server.url
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill("marcus@northwind.example")
    page.get_by_label("Password", exact=True).fill(settings.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/o/northwind/")
    page.get_by_role("link", name="Dashboard").first.click()
    page.wait_for_url("**/feedback/insights/")
    page.wait_for_load_state("networkidle")
    _charts_drawn(page)
    assert "(30 days)" in page.inner_text("body")
    assert_accessible(page, "insights overview")
    page.get_by_role("link", name="7 days").click()
    page.wait_for_url("**/insights/?period=7")
    _charts_drawn(page)
    assert page.evaluate("document.getElementById('chart-series').chart.data.labels.length") == 7
    screenshot(page, "insights_team")
    agent = northwind["agents"][0]
    page.locator("#agent-table").get_by_role("link", name=agent.display_name).click()
    page.wait_for_url(f"**/insights/agents/{agent.public_id}/?period=7")
    _charts_drawn(page)
    assert agent.display_name in page.inner_text("h1")
    assert_accessible(page, "insights agent")
    screenshot(page, "insights_agent")
    context.close()
