"""Helpers shared by the survey tests: ingest an interaction, send it, pull links from mail."""

from __future__ import annotations

import re
import uuid

from django.conf import settings

from coachhub.tenancy.context import tenant_context
from feedback.models import DailyRollup, FeedbackRequest, Response
from feedback.services import survey
from feedback.services.ingest import interaction_ingest

LINK_RE = re.compile(r"https?://[^\s\"'<>]+")


def ingest(org, agent, *, email="lee@example.com", language="", mode="live", **extra):
    item = {
        "external_id": extra.pop("external_id", f"T-{uuid.uuid4().hex[:10]}"),
        "channel": "email",
        "agent": {"email": agent.user.email},
        "customer": {"name": "Lee Park", "email": email, "language": language},
        **extra,
    }
    with tenant_context(org):
        result = interaction_ingest(org, item, mode=mode)
        return FeedbackRequest.objects.select_related("interaction").get(
            organization_id=org.pk, interaction_id=result.pks[0]
        )


def send_due(org, now=None) -> dict:
    return survey.requests_send(org.pk, survey.requests_due(org.pk, now), now=now)


def reload(fr) -> FeedbackRequest:
    with tenant_context(fr.organization_id):
        return FeedbackRequest.objects.select_related("interaction").get(
            organization_id=fr.organization_id, pk=fr.pk
        )


def response_for(fr) -> Response | None:
    with tenant_context(fr.organization_id):
        return Response.objects.filter(organization_id=fr.organization_id, request_id=fr.pk).first()


def rollup(org, agent) -> dict:
    with tenant_context(org):
        rows = DailyRollup.objects.filter(organization_id=org.pk, agent=agent)
        totals: dict[str, int] = {}
        for row in rows:
            for field in (
                "interactions",
                "requests_sent",
                "responses",
                "stars_sum",
                "stars_count",
                "stars_1",
                "stars_2",
                "stars_3",
                "stars_4",
                "stars_5",
                "fcr_yes",
                "fcr_no",
            ):
                totals[field] = totals.get(field, 0) + getattr(row, field)
        return totals


def links_in(text: str) -> list[str]:
    return [link.rstrip(".,)") for link in LINK_RE.findall(text)]


def path_of(url: str) -> str:
    assert url.startswith(settings.SITE_URL), url
    return url[len(settings.SITE_URL) :]


def star_links(text: str) -> dict[int, str]:
    found = {}
    for link in links_in(text.replace("&amp;", "&")):
        m = re.search(r"/s/([A-Za-z0-9_-]+)/\?stars=(\d)$", link)
        if m:
            found[int(m.group(2))] = link
    return found


def token_of(url: str) -> str:
    return re.search(r"/s/([A-Za-z0-9_-]+)/", url).group(1)
