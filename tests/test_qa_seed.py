"""seed_demo's QA step: a published scorecard, reviews, one open dispute; idempotent."""

import io

import pytest
from django.core.management import call_command

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Organization
from qa.models import Dispute, Review, ScorecardVersion


def _qa_counts():
    out = {}
    for org in Organization.objects.filter(slug__in=["northwind", "tailspin"]):
        with tenant_context(org):
            out[org.slug] = (
                ScorecardVersion.objects.filter(organization=org, status="published").count(),
                Review.objects.filter(organization=org, status="submitted").count(),
                Dispute.objects.filter(organization=org, status="open").count(),
            )
    return out


@pytest.mark.django_db
def test_seed_demo_has_a_published_scorecard_reviews_and_one_open_dispute(
    settings, tmp_path, client
):
    settings.MEDIA_ROOT = tmp_path
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "qa reviews" in out.getvalue()
    first = _qa_counts()
    for slug, (published, reviews, disputes) in first.items():
        assert published == 1, slug
        assert reviews >= 16, slug
        assert disputes == 1, slug
    call_command("seed_demo", stdout=io.StringIO())
    assert _qa_counts() == first
    # the demo pages work on seeded data, for the disputing agent and for the reviewer
    org = Organization.objects.get(slug="northwind")
    with tenant_context(org):
        dispute = Dispute.objects.select_related(
            "review__agent__user", "review__reviewer__user"
        ).get(organization=org)
        agent_email = dispute.review.agent.user.email
        reviewer_email = dispute.review.reviewer.user.email
        review_id = dispute.review.public_id
    for email in (agent_email, reviewer_email):
        assert client.login(username=email, password=settings.DEMO_PASSWORD)
        page = client.get(f"/o/northwind/qa/reviews/{review_id}/")
        assert page.status_code == 200 and b"Open: with the reviewer" in page.content
        client.logout()
    client.login(username="olivia@northwind.example", password=settings.DEMO_PASSWORD)
    for path in (
        "qa/reviews/",
        "qa/reports/",
        "qa/reports/correlation/",
        "qa/scorecards/",
        "qa/disputes/",
    ):
        assert client.get(f"/o/northwind/{path}").status_code == 200, path
