"""The live feedback streams (htmx polling: each poll is one short request, so a sync server
never holds a worker per viewer) and excluding a response from metrics.

Apps to the right add per-card actions ("Coach on this", "Save for my 1:1") through
``stream_actions_register(fn)``: ``fn(responses, viewer) -> {response.pk: [action, ...]}``
where an action is ``{"label", "url", "method": "get"|"post", "icon", "active"}``. One call per
page, so an action costs at most one query per page, never one per card.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from coachhub.tenancy.access import members_visible_to, teams_visible_to

from . import selectors_stream as sel
from .models import Channel
from .services.exclusion import ExclusionInvalid, response_exclude, response_include
from .settings import org_setting

POLL_SECONDS = 10
_stream_actions: list[Callable] = []


def stream_actions_register(fn: Callable) -> Callable:
    if fn not in _stream_actions:
        _stream_actions.append(fn)
    return fn


def _actions(responses, viewer) -> dict:
    out: dict = {}
    for fn in _stream_actions:
        for pk, actions in (fn(responses, viewer) or {}).items():
            out.setdefault(pk, []).extend(actions)
    return out


def _render_stream(request, template, context, filters):
    before = request.GET.get("before", "")
    rows, cursor = sel.stream_page(request.member, filters, before=before)
    actions = _actions(rows, request.member)
    for r in rows:
        r.card_actions = actions.get(r.pk, [])
    params = request.GET.copy()
    params.pop("before", None)
    params.pop("partial", None)
    context.update(
        {
            "responses": rows,
            "cursor": cursor,
            "live": not before,
            "poll_seconds": POLL_SECONDS,
            "query": params.urlencode(),
            "can_exclude": not request.member.is_agent,
            "next_url": request.path + "?" + _with(params, before=cursor) if cursor else "",
        }
    )
    if request.GET.get("partial"):
        return render(request, "feedback/stream/_cards.html", context)
    return render(request, template, context)


def _with(params: QueryDict, **extra) -> str:
    q = params.copy()
    for k, v in extra.items():
        q[k] = v
    return q.urlencode()


@require_GET
def my_stream(request, org):
    member = request.member
    if not member.is_agent:
        return redirect("feedback:team_stream", org=org)
    context = {"kpis": sel.agent_kpis(member), "poll_url": request.path}
    return _render_stream(request, "feedback/stream/my.html", context, sel.StreamFilters())


@require_GET
def team_stream(request, org):
    member = request.member
    if member.is_agent:
        raise PermissionDenied("Agents see their own stream.")
    filters = sel.parse_filters(member, request.GET)
    teams = list(teams_visible_to(member).order_by("name"))
    team_ids = [filters.team_id] if filters.team_id else [t.pk for t in teams]
    context = {
        "filters": filters,
        "errors": filters.errors,
        "teams": teams,
        "agents": list(
            members_visible_to(member)
            .filter(role="agent", is_active=True)
            .order_by("user__first_name")
        ),
        "channels": Channel.values
        + list(org_setting(member.organization, "custom_channels") or []),
        "kpis": sel.team_kpis(member, team_ids),
        "poll_url": request.path,
    }
    if filters.errors:
        filters = sel.StreamFilters(team_id=-1)  # show nothing rather than more than asked
    return _render_stream(request, "feedback/stream/team.html", context, filters)


def _back(request, org):
    target = request.POST.get("next", "")
    if target.startswith(f"/o/{org}/") and "//" not in target:
        return redirect(target)
    return redirect("feedback:team_stream", org=org)


@require_POST
def exclude(request, org, response_id):
    member = request.member
    if member.is_agent:
        raise PermissionDenied("Only supervisors and admins exclude responses.")
    response = sel.get_response_for(member, response_id)
    try:
        if response_exclude(response, by=member, reason=request.POST.get("reason", "")):
            messages.success(request, "Excluded from the agent's metrics.")
    except ExclusionInvalid as exc:
        messages.error(request, "; ".join(f"{k}: {v}" for k, v in exc.errors.items()))
        return _back(request, org)
    return _back(request, org)


@require_POST
def include(request, org, response_id):
    member = request.member
    if member.is_agent:
        raise PermissionDenied("Only supervisors and admins include responses.")
    response = sel.get_response_for(member, response_id)
    if response_include(response, by=member):
        messages.success(request, "Counts in the agent's metrics again.")
    return _back(request, org)
