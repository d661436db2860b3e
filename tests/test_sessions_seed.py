"""seed_demo's 1:1 step: sessions in several states, goals with computed progress, a draft that
brings a saved QA review and uses a custom category template; idempotent; the pages work on the
seeded data for a supervisor, an agent (no private notes) and an admin."""

import io

import pytest
from django.core.management import call_command

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Membership, Organization
from coaching.models import SavedItem
from coaching.models_sessions import (
    CoachingSession,
    Goal,
    SessionCategory,
    SessionItem,
    SessionPrivateNote,
)
from coaching.seed_sessions import CUSTOM_CATEGORY
from coaching.services.defaults import DEFAULT_CATEGORIES
from coaching.services.goals import goal_progress


def _counts():
    out = {}
    for org in Organization.objects.filter(slug__in=["northwind", "tailspin"]):
        with tenant_context(org):
            out[org.slug] = (
                sorted(
                    set(
                        CoachingSession.objects.filter(organization=org).values_list(
                            "state", flat=True
                        )
                    )
                ),
                Goal.objects.filter(organization=org).count(),
                SavedItem.objects.filter(organization=org, review__isnull=False).count(),
                SessionItem.objects.filter(organization=org, review__isnull=False).count(),
                SessionCategory.objects.filter(organization=org).count(),
            )
    return out


@pytest.mark.django_db
def test_seed_demo_has_sessions_in_several_states_and_goals_with_progress(
    settings, tmp_path, client
):
    settings.MEDIA_ROOT = tmp_path
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "coaching 1:1 sessions and goals" in out.getvalue()
    first = _counts()
    assert first
    for slug, (states, goals, saved_reviews, review_items, categories) in first.items():
        assert len(states) >= 4, (slug, states)
        assert goals >= 1, slug
        assert saved_reviews >= 1 and review_items >= 1, slug
        assert categories == len(DEFAULT_CATEGORIES) + 1, slug
    call_command("seed_demo", stdout=io.StringIO())
    assert _counts() == first
    org = Organization.objects.get(slug="northwind")
    with tenant_context(org):
        goal = Goal.objects.filter(organization=org).select_related("organization").first()
        assert goal_progress(goal).n >= 0
        shared = (
            CoachingSession.objects.filter(organization=org)
            .exclude(state="draft")
            .select_related("agent__user", "supervisor__user")
            .first()
        )
        secret = SessionPrivateNote.objects.filter(session=shared).first().body
    assert client.login(username=shared.supervisor.user.username, password=settings.DEMO_PASSWORD)
    for path in ("sessions/", "goals/", "coverage/", f"sessions/{shared.public_id}/"):
        assert client.get(f"/o/northwind/coaching/{path}").status_code == 200, path
    assert client.login(username=shared.agent.user.username, password=settings.DEMO_PASSWORD)
    page = client.get(f"/o/northwind/coaching/sessions/{shared.public_id}/")
    assert page.status_code == 200 and secret not in page.content.decode()
    assert client.get(f"/o/northwind/coaching/goals/{goal.public_id}/").status_code in (200, 404)
    _prepared_draft_shows_a_saved_review_and_a_custom_template(settings, client)


def _prepared_draft_shows_a_saved_review_and_a_custom_template(settings, client):
    """The demo's draft 1:1 brings a QA review its supervisor saved and uses a category template
    the admin wrote (not one of the defaults); both show on the pages."""
    org = Organization.objects.get(slug="northwind")
    with tenant_context(org):
        custom = SessionCategory.objects.get(organization=org, name=CUSTOM_CATEGORY["name"])
        assert custom.prompts not in DEFAULT_CATEGORIES.values()
        item = (
            SessionItem.objects.filter(
                organization=org, review__isnull=False, session__state="draft"
            )
            .select_related("session__agent", "session__supervisor__user", "review")
            .first()
        )
        draft = item.session
        assert draft.category_id == custom.pk and draft.prompts == custom.prompts
        assert item.saved_by_id == draft.supervisor_id
        assert SavedItem.objects.filter(member=draft.supervisor, review=item.review).exists()
        admin = Membership.objects.filter(organization=org, role="admin").select_related("user")[0]
    review_url = f"/o/northwind/qa/reviews/{item.review.public_id}/"
    first_prompt = custom.prompt_list[0]
    assert client.login(username=draft.supervisor.user.username, password=settings.DEMO_PASSWORD)
    detail = client.get(f"/o/northwind/coaching/sessions/{draft.public_id}/").content.decode()
    assert review_url in detail and first_prompt in detail
    prep = client.get(f"/o/northwind/coaching/sessions/new/?agent={draft.agent.public_id}")
    assert review_url in prep.content.decode()
    assert client.login(username=admin.user.username, password=settings.DEMO_PASSWORD)
    categories = client.get("/o/northwind/coaching/session-categories/").content.decode()
    assert CUSTOM_CATEGORY["name"] in categories and first_prompt in categories
