"""Concurrent answers to one survey (double clicks, two tabs): the request row lock serializes
them, so the rollup holds exactly one response with the last star, never two."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from coachhub.core.models import Event
from coachhub.tenancy.context import tenant_context
from feedback.models import Response
from feedback.services import survey

from .survey_helpers import ingest, rollup, send_due, star_links, token_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_answers_leave_one_response_and_a_consistent_rollup(cast, settings):
    settings.SURVEY_RATE_LIMIT_PER_MINUTE = 0
    ingest(cast.org_a, cast.ann)
    send_due(cast.org_a)
    token = token_of(star_links(mail.outbox[-1].body)[1])
    codes: list[int] = []
    barrier = threading.Barrier(8)

    def answer(stars: int):
        try:
            barrier.wait(timeout=10)
            response = Client().post(f"/s/{token}/", {"stars": stars, "action": "confirm"})
            codes.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=answer, args=(1 + i % 5,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert codes == [302] * 8

    with tenant_context(cast.org_a):
        [response] = Response.objects.filter(organization_id=cast.org_a.pk)
        answered = Event.objects.filter(
            organization_id=cast.org_a.pk, type=survey.EVENT_ANSWERED
        ).count()
    totals = rollup(cast.org_a, cast.ann)
    assert totals["responses"] == 1 and totals["stars_count"] == 1
    assert totals["stars_sum"] == response.stars
    assert totals[f"stars_{response.stars}"] == 1
    assert sum(totals[f"stars_{n}"] for n in range(1, 6)) == 1
    assert 1 <= answered <= 8
