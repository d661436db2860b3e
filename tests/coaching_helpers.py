"""Builders for the real-time tests: a confirmed customer answer through the survey service, and
running the outbox / channel deliveries in-process (no worker)."""

from __future__ import annotations

import uuid

from django.utils import timezone

from coachhub.core import outbox
from coachhub.core.models import Delivery, DeliveryStatus
from coachhub.tenancy.context import tenant_context
from feedback.models import Response
from feedback.services import survey

from .survey_helpers import ingest, reload, send_due


def answered(org, agent, stars, answers=None, **extra) -> Response:
    """Ingest an interaction for ``agent``, send its survey, record a confirmed answer."""
    extra.setdefault("email", f"c-{uuid.uuid4().hex[:12]}@example.com")  # no suppression
    fr = ingest(org, agent, **extra)
    send_due(org)
    fr = reload(fr)
    with tenant_context(org):
        return survey.survey_answer_record(fr, stars=stars, answers=answers)


def change(response, stars=None, answers=None) -> Response:
    with tenant_context(response.organization_id):
        fr = response.request
        return survey.survey_answer_record(fr, stars=stars, answers=answers)


def enable_questions(org, *questions) -> None:
    org.settings = {**(org.settings or {}), "survey_questions": list(questions)}
    org.save(update_fields=["settings"])


def run_outbox(org, consumer_prefix: str = "coaching.") -> list[str]:
    """Run every pending outbox delivery of coaching's consumers (what the worker would do)."""
    outcomes = []
    with tenant_context(org):
        ids = list(
            Delivery.objects.filter(
                organization_id=org.pk,
                status=DeliveryStatus.PENDING,
                consumer__startswith=consumer_prefix,
            ).values_list("id", flat=True)
        )
    for delivery_id in ids:
        outcomes.append(outbox.delivery_run(org.pk, delivery_id))
    return outcomes


def rerun_outbox(org, consumer: str = "coaching.alerts") -> None:
    """Simulate a redelivery: put done rows back to pending and run them again."""
    with tenant_context(org):
        Delivery.objects.filter(organization_id=org.pk, consumer=consumer).update(
            status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), done_at=None
        )
    run_outbox(org)


def send_channel_deliveries(org) -> list[str]:
    from coaching.models import ChannelDelivery, DeliveryState
    from coaching.services.webhooks import delivery_send

    with tenant_context(org):
        ids = list(
            ChannelDelivery.objects.filter(
                organization_id=org.pk, state=DeliveryState.PENDING
            ).values_list("id", flat=True)
        )
    return [delivery_send(org.pk, i) for i in ids]


def burst(org, agent, n: int, stars: int = 1, *, comment: str = "") -> list[Response]:
    """``n`` confirmed answers for ``agent`` and their ``response.answered`` events, written in
    one transaction as the survey would (its doorbells ring on commit). Fast enough for batches
    of hundreds; the survey pages themselves are tested elsewhere."""
    from coachhub.core.outbox import event_record
    from feedback.models import FeedbackRequest
    from feedback.services.ingest import interactions_ingest

    items = [
        {
            "external_id": f"B-{uuid.uuid4().hex[:12]}",
            "channel": "chat",
            "agent": {"email": agent.user.email},
            "customer": {"name": "Burst Customer", "email": f"b{i}@example.com"},
            "do_not_send": True,
        }
        for i in range(n)
    ]
    with tenant_context(org):
        result = interactions_ingest(org, items)
        requests = {
            r.interaction_id: r
            for r in FeedbackRequest.objects.filter(
                organization_id=org.pk, interaction_id__in=result.pks
            ).select_related("interaction")
        }
        now = timezone.now()
        responses = Response.objects.bulk_create(
            [
                Response(
                    organization_id=org.pk,
                    request=requests[pk],
                    interaction_id=pk,
                    agent_id=agent.pk,
                    team_id=agent.team_id,
                    stars=stars,
                    comment=comment,
                    confirmed=True,
                    submitted_at=now,
                    updated_at=now,
                )
                for pk in result.pks
            ]
        )
        for r in responses:
            event_record(
                org.pk,
                "response.answered",
                {
                    "response": str(r.public_id),
                    "interaction": str(requests[r.interaction_id].interaction.public_id),
                    "agent_id": agent.pk,
                    "team_id": agent.team_id,
                    "mode": "live",
                    "kind": "initial",
                    "stars": stars,
                    "comment": comment,
                },
            )
    return responses
