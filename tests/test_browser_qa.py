"""The QA journey in a real browser: an admin builds a scorecard with a critical criterion and
publishes it, a supervisor reviews an interaction, the agent sees the review and disputes
criteria, the reviewer partially accepts and everyone sees the history. axe-core runs on every
page visited; screenshots go to screenshots/qa_*.png."""

import os

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser import screenshot, visit

pytestmark = [
    pytest.mark.browser,
]


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", "--people-only", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return settings.DEMO_PASSWORD


def ana_interaction():
    from coachhub.tenancy.context import tenant_context
    from coachhub.tenancy.models import Organization
    from feedback.services.ingest import interaction_ingest

    org = Organization.objects.get(slug="northwind")
    with tenant_context(org):
        return interaction_ingest(
            org,
            {
                "external_id": "ZD-48151",
                "channel": "phone",
                "agent": {"email": "ana@northwind.example"},
                "customer": {"name": "Lee Park", "email": "lee@example.com"},
                "do_not_send": True,
            },
        ).ids[0]


def sign_in(browser, base, email, password):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/o/northwind/")
    return page


def add_criterion(page, section, title, *, scale, weight, critical=False, fail=None, na=True):
    page.get_by_role("link", name=f"Add criterion to {section}").click()
    visit(page, None, f"new criterion {title}")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill(f"What good looks like for “{title}”.")
    page.get_by_label("Scale").select_option(scale)
    page.get_by_label("Weight").fill(str(weight))
    if not na:
        page.get_by_label("N/A allowed").uncheck()
    if critical:
        page.get_by_label("Critical", exact=True).check()
        page.get_by_label("When it fails").select_option("review")
        if fail is not None:
            page.get_by_label("Failing value").fill(str(fail))
    page.get_by_role("button", name="Save criterion").click()
    page.wait_for_load_state("networkidle")


def test_scorecard_review_dispute_and_partial_acceptance(live_server, browser, demo):
    base = live_server.url

    # 1. The admin builds a scorecard with a critical criterion and publishes it.
    admin = sign_in(browser, base, "olivia@northwind.example", demo)
    admin.get_by_role("navigation", name="Main").get_by_role("link", name="QA scorecards").click()
    visit(admin, None, "scorecards")
    admin.get_by_label("Name").fill("Phone QA")
    admin.get_by_role("button", name="Create scorecard").click()
    visit(admin, None, "new scorecard builder")
    assert "Not ready to publish" in admin.content()
    add_criterion(admin, "General", "Greets the customer", scale="yes_no", weight=10)
    add_criterion(admin, "General", "Resolves the issue", scale="1_5", weight=50)
    # a critical criterion without its failing value is refused inline, with the field named
    add_criterion(
        admin, "General", "Verifies identity", scale="yes_no", weight=0, critical=True, na=False
    )
    assert admin.get_by_text("A critical criterion needs a failing value.").is_visible()
    visit(admin, None, "criterion form with an error")
    screenshot(admin, "qa_criterion_error")
    admin.get_by_label("Failing value").fill("0")
    admin.get_by_role("button", name="Save criterion").click()
    admin.wait_for_load_state("networkidle")
    # reorder with the buttons (htmx swaps the builder in place)
    with admin.expect_response(lambda r: "/move/" in r.url):
        admin.get_by_role("button", name="Move Resolves the issue up").click()
    admin.wait_for_load_state("networkidle")
    rows = admin.locator(
        "table[aria-label='Criteria of General'] tbody tr td:first-child .fw-semibold"
    )
    assert rows.all_inner_texts()[:2] == ["Resolves the issue", "Greets the customer"]
    assert "Ready to publish" in admin.content()
    visit(admin, None, "builder ready")
    screenshot(admin, "qa_builder")
    admin.get_by_role("button", name="Publish v1").click()
    visit(admin, None, "published scorecard")
    assert "v1 · Published" in admin.content()

    # 2. The supervisor reviews Ana's interaction.
    interaction_id = ana_interaction()
    sup = sign_in(browser, base, "marcus@northwind.example", demo)
    visit(sup, f"{base}/o/northwind/qa/interactions/{interaction_id}/", "interaction")
    screenshot(sup, "qa_interaction")
    sup.get_by_role("button", name="Start review").click()
    visit(sup, None, "review form")
    assert "How this score is calculated" in sup.content()

    def answer(page, criterion, label):
        page.locator("fieldset", has_text=criterion).get_by_label(label, exact=True).check()

    answer(sup, "Greets the customer", "No")
    answer(sup, "Resolves the issue", "2")
    answer(sup, "Verifies identity", "Yes")
    sup.get_by_label("Comment on “Resolves the issue”").fill("The refund was not confirmed.")
    sup.get_by_label("Overall comment").fill("Friendly, but the fix was incomplete.")
    # the draft autosaves and the live score follows: (0×10 + 25×50) / 60 = 20.8 %
    expect(sup.get_by_test_id("qa-score")).to_have_text("20.8 %")
    expect(sup.get_by_text("Draft saved")).to_be_visible()
    expect(sup.get_by_text("still unanswered")).to_have_count(0)
    screenshot(sup, "qa_review_form")
    sup.get_by_role("button", name="Submit review").click()
    visit(sup, None, "submitted review")
    assert sup.get_by_test_id("qa-score").inner_text() == "20.8 %"

    # 3. The agent sees it (and was notified) and disputes two criteria.
    agent = sign_in(browser, base, "ana@northwind.example", demo)
    assert agent.get_by_role("button", name="Notifications: 1 unread").count() == 1
    agent.get_by_role("navigation", name="Main").get_by_role("link", name="QA reviews").click()
    visit(agent, None, "agent's reviews")
    screenshot(agent, "qa_home_agent")
    agent.get_by_role("link", name="ZD-48151").click()
    visit(agent, None, "agent's review")
    assert agent.get_by_test_id("reviewer-name").inner_text() == "Marcus Reed"
    screenshot(agent, "qa_review_agent")
    agent.get_by_role("link", name="Dispute", exact=True).click()
    visit(agent, None, "dispute form")
    agent.get_by_label("Greets the customer").check()
    agent.get_by_label("Resolves the issue").check()
    agent.get_by_label("Why?").fill("I greeted him by name; the refund went through at 10:32.")
    screenshot(agent, "qa_dispute_form")
    agent.get_by_role("button", name="Send dispute").click()
    visit(agent, None, "disputed review")
    assert agent.get_by_test_id("dispute-status").inner_text() == "Open: with the reviewer"

    # 4. The reviewer partially accepts: the refund was confirmed, the greeting was not.
    visit(sup, f"{base}/o/northwind/qa/disputes/", "reviewer's dispute queue")
    assert "your turn" in sup.content()
    sup.get_by_role("link", name="Phone QA").click()
    visit(sup, None, "review with dispute")
    sup.get_by_role("link", name="Decide the dispute").click()
    visit(sup, None, "decide form")
    answer(sup, "Resolves the issue", "5")
    sup.get_by_label("Partially accept (change some answers)").check()
    sup.get_by_label("Reason").fill("The refund log confirms it; no greeting on the recording.")
    screenshot(sup, "qa_dispute_decide")
    sup.get_by_role("button", name="Record the decision").click()
    visit(sup, None, "decided review")
    # (0×10 + 100×50) / 60 = 83.3 %
    assert sup.get_by_test_id("qa-score").inner_text() == "83.3 %"

    # 5. The agent sees the new score and the history, old → new.
    visit(agent, agent.url, "agent sees the decision")
    assert agent.get_by_test_id("dispute-status").inner_text() == "Partially accepted"
    history = " ".join(agent.get_by_role("list", name="Review history").inner_text().split())
    assert "Answer changed · “Resolves the issue” 2 → 5" in history
    assert "Score changed 20.8 % → 83.3 %" in history
    screenshot(agent, "qa_review_history")

    # 6. Reports read the same numbers: weekly per agent, pass rate, leniency, correlation.
    sup.get_by_role("navigation", name="Main").get_by_role("link", name="QA reports").click()
    visit(sup, None, "qa reports")
    assert "Ana Ruiz" in sup.content() and "83.3" in sup.content()
    screenshot(sup, "qa_reports")
    sup.get_by_role("link", name="QA vs customer stars").click()
    visit(sup, None, "qa correlation")
    assert "Not enough data" in sup.content()
