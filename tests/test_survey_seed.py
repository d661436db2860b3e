"""The demo's survey history: answered surveys with comments, consistent with the lifecycle and
with the rollups, and idempotent."""

from __future__ import annotations

import pytest

from coachhub.accounts import services
from coachhub.core.seed import DEMO_ORGS, seed_people
from coachhub.tenancy.context import tenant_context
from feedback.models import DailyRollup, FeedbackRequest, Response, SurveyState
from feedback.seed_surveys import feedback_surveys
from feedback.services.rollups import rollups_rebuild

COUNTERS = ("requests_sent", "responses", "stars_sum", "stars_count", "fcr_yes", "fcr_no")


def _rollups(org):
    rows = DailyRollup.objects.filter(organization_id=org.pk).values_list(
        "day", "agent_id", "team_id", *COUNTERS
    )
    return sorted(r for r in rows if any(r[3:]))


@pytest.mark.django_db
def test_seeded_surveys_are_answered_with_comments_and_match_a_rebuild(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    spec = DEMO_ORGS[0]
    org = services.organization_create(
        slug=spec["slug"], name=spec["name"], time_zone=spec["time_zone"]
    )
    with tenant_context(org):
        demo = seed_people(org, spec, log=lambda _m: None)
        feedback_surveys(demo)
        responses = list(Response.objects.filter(organization_id=org.pk).select_related("request"))
        assert len(responses) >= 20
        assert sum(1 for r in responses if r.comment) >= 10
        assert min(r.stars for r in responses) <= 2 and max(r.stars for r in responses) == 5
        for r in responses:
            assert r.confirmed and r.request.sent_at is not None
            assert r.request.survey_state == (
                SurveyState.FINISHED if r.finished else SurveyState.ANSWERED
            )
        states = set(
            FeedbackRequest.objects.filter(organization_id=org.pk).values_list(
                "survey_state", flat=True
            )
        )
        assert SurveyState.EXPIRED in states and SurveyState.PENDING not in states
        incremental = _rollups(org)
        rollups_rebuild(org)
        assert _rollups(org) == incremental

        count = Response.objects.filter(organization_id=org.pk).count()
        feedback_surveys(demo)  # again: nothing new
        assert Response.objects.filter(organization_id=org.pk).count() == count
        assert _rollups(org) == incremental
