"""The floor screen: /tv/<token>/ — no login; the unguessable token resolves the organization
(GlobalLookup kind ``tv_link``). Read-only, refreshes itself, shows agent names and figures
only (no customer data); agents whose recognition preference is private appear unnamed."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AgentProfile, RecognitionPreference

from . import selectors
from .services import tv as tv_svc

REFRESH_SECONDS = 60
ROWS = 10


@require_GET
def tv_page(request, token: str):
    found = tv_svc.tv_link_resolve(token)
    if found is None:
        raise Http404("No such screen")
    org_id, link_id = found
    with tenant_context(org_id):
        link = tv_svc.tv_link_load(org_id, link_id, token)
        if link is None:
            raise Http404("No such screen")
        organization = link.organization
        lb = selectors.leaderboard(
            organization, metric=link.metric, period=link.period, team=link.team
        )
        private = set(
            AgentProfile.objects.filter(
                organization_id=org_id, recognition_preference=RecognitionPreference.PRIVATE
            ).values_list("membership_id", flat=True)
        )
        rows = [
            {
                "rank": e.rank,
                "name": "Team member" if e.agent_id in private else e.name,
                "smoothed": e.smoothed,
                "n": e.n,
            }
            for e in lb.board.ranked[:ROWS]
        ]
        kudos_qs = selectors.public_kudos(organization)
        if link.team_id:
            kudos_qs = kudos_qs.filter(recipient__team_id=link.team_id)
        kudos = [{"to": k.recipient.display_name, "behaviour": k.behaviour} for k in kudos_qs[:3]]
        response = render(
            request,
            "recognition/tv.html",
            {
                "link": link,
                "lb": lb,
                "rows": rows,
                "kudos": kudos,
                "refresh": REFRESH_SECONDS,
                "tv_organization": organization,
            },
        )
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
