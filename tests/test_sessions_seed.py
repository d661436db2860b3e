"""seed_demo's 1:1 step: sessions in several states, goals with computed progress; idempotent;
the pages work on the seeded data for a supervisor, an agent (no private notes) and an admin."""

import io

import pytest
from django.core.management import call_command

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Organization
from coaching.models_sessions import CoachingSession, Goal, SessionPrivateNote
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
    for slug, (states, goals) in first.items():
        assert len(states) >= 4, (slug, states)
        assert goals >= 1, slug
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
