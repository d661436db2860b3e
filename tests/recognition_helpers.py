"""Builders for the recognition tests: finished customer answers through the survey service,
rollup rows for leaderboards, and recognition's outbox deliveries run in-process."""

from __future__ import annotations

import uuid
from datetime import date

from coachhub.core import outbox
from coachhub.core.models import Delivery, DeliveryStatus
from coachhub.tenancy.context import tenant_context
from feedback.models import DailyRollup, Response
from feedback.services import survey

from .survey_helpers import ingest, reload, send_due


def answered(org, agent, stars, answers=None, finish=False, **extra) -> Response:
    extra.setdefault("email", f"c-{uuid.uuid4().hex[:12]}@example.com")  # no suppression
    fr = ingest(org, agent, **extra)
    send_due(org)
    fr = reload(fr)
    with tenant_context(org):
        return survey.survey_answer_record(fr, stars=stars, answers=answers, finish=finish)


def change(response, stars=None, answers=None, finish=False) -> Response:
    with tenant_context(response.organization_id):
        return survey.survey_answer_record(
            response.request, stars=stars, answers=answers, finish=finish
        )


def run_outbox(org, prefix: str = "recognition.") -> list[str]:
    with tenant_context(org):
        ids = list(
            Delivery.objects.filter(
                organization_id=org.pk, status=DeliveryStatus.PENDING, consumer__startswith=prefix
            ).values_list("id", flat=True)
        )
    return [outbox.delivery_run(org.pk, i) for i in ids]


def rollup(org, agent, day: date, *, stars: list[int] = (), fcr=(0, 0), team="agent"):
    """One rollup row with these ratings (``stars`` a list of 1–5)."""
    counts = {f"stars_{s}": stars.count(s) for s in range(1, 6)}
    with tenant_context(org):
        return DailyRollup.objects.create(
            organization=org,
            day=day,
            agent=agent,
            team_id=agent.team_id if team == "agent" else team,
            responses=len(stars),
            stars_sum=sum(stars),
            stars_count=len(stars),
            csat_count=sum(1 for s in stars if s >= 4),
            fcr_yes=fcr[0],
            fcr_no=fcr[1],
            **counts,
        )
