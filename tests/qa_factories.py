"""Builders for QA tests: interactions with ratings, a published scorecard, reviews.

Each enters the organization's context itself (RLS refuses rows of another organization)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.utils import timezone

from coachhub.tenancy.context import tenant_context
from feedback.models import FeedbackRequest, Interaction, Response
from feedback.services.ingest import interaction_ingest
from qa import scoring
from qa.models import Criterion, Scale
from qa.services import reviews as review_svc
from qa.services import scorecards as svc

_seq = itertools.count(1)


def make_interaction(org, agent, *, days_ago: float = 1, channel: str = "email", external_id=None):
    item = {
        "external_id": external_id or f"T-{next(_seq)}",
        "channel": channel,
        "agent": {"email": agent.user.email},
        "customer": {"name": "Casey Customer", "email": f"casey{next(_seq)}@example.com"},
        "occurred_at": (timezone.now() - timedelta(days=days_ago)).isoformat(),
        "do_not_send": True,
    }
    with tenant_context(org):
        public_id = interaction_ingest(org, item).ids[0]
        return Interaction.objects.select_related("agent__user", "team").get(public_id=public_id)


def rate(interaction, stars: int):
    org_id = interaction.organization_id
    with tenant_context(org_id):
        request = FeedbackRequest.objects.get(organization_id=org_id, interaction=interaction)
        return Response.objects.create(
            organization_id=org_id,
            request=request,
            interaction=interaction,
            agent_id=interaction.agent_id,
            team_id=interaction.team_id,
            stars=stars,
            confirmed=True,
        )


def make_scorecard(org, admin, *, name="Chat quality", publish=True):
    """Two sections:

    * Opening: "Greeting" yes/no, weight 10, critical → fails the section at "No";
      "Tone" 1–5, weight 20.
    * Resolution: "Solved it" 1–5, weight 50; "Privacy" yes/no, weight 0, critical → fails the
      whole review at "No", N/A not allowed.
    """
    with tenant_context(org):
        card = svc.scorecard_create(organization=org, name=name, created_by=admin)
        draft = svc.draft_of(card)
        opening = draft.sections.get()
        svc.section_update(opening, title="Opening")
        resolution = svc.section_add(draft, title="Resolution")
        svc.criterion_add(
            opening,
            title="Greeting",
            scale=Scale.YES_NO,
            weight=10,
            critical=True,
            critical_effect=scoring.SECTION,
            fail_at_or_below=0,
            na_allowed=True,
        )
        svc.criterion_add(opening, title="Tone", scale=Scale.ONE_FIVE, weight=20, na_allowed=True)
        svc.criterion_add(resolution, title="Solved it", scale=Scale.ONE_FIVE, weight=50)
        svc.criterion_add(
            resolution,
            title="Privacy",
            scale=Scale.YES_NO,
            weight=0,
            critical=True,
            critical_effect=scoring.REVIEW,
            fail_at_or_below=0,
            na_allowed=False,
        )
        if publish:
            svc.version_publish(draft, member=admin)
        card.refresh_from_db()
        return card


def criteria_by_title(version) -> dict:
    with tenant_context(version.organization_id):
        return {
            c.title: c
            for c in Criterion.objects.filter(
                organization_id=version.organization_id, version=version
            )
        }


def review_data(version, answers: dict, **options) -> dict:
    """``answers``: title → value (int), "na", or (value, comment)."""
    by_title = criteria_by_title(version)
    data = {"answers": {}, **options}
    for title, raw in answers.items():
        value, comment = raw if isinstance(raw, tuple) else (raw, "")
        data["answers"][str(by_title[title].public_id)] = (str(value), comment)
    return data


GOOD = {"Greeting": 1, "Tone": 4, "Solved it": 5, "Privacy": 1}


def make_review(reviewer, interaction, card, answers=None, *, submit=True, **options):
    org_id = reviewer.organization_id
    with tenant_context(org_id):
        version = svc.published_of(card)
        review = review_svc.review_start(
            reviewer=reviewer, interaction=interaction, version=version
        )
        data = review_data(version, answers or GOOD, **options)
        if submit:
            review_svc.review_submit(review, data)
        else:
            review_svc.review_autosave(review, data)
        review.refresh_from_db()
        return review
