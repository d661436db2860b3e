"""KPI dashboards under /o/<org>/feedback/insights/: the organization (admins) or "my teams"
(supervisors), one team, one agent (admins, the agent's team leads, the agent). Every number
comes from the daily rollups (feedback/selectors_insights.py) with the metric definitions of
feedback/metrics.py. Each table downloads as CSV with ``?download=agents|teams|days``.
"""

from __future__ import annotations

import csv
import uuid
from decimal import ROUND_HALF_UP, Decimal
from html import escape

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import formats
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from coachhub.tenancy.access import get_member_for, get_team_for

from . import metrics
from . import selectors_insights as sel

CSV_METRICS = metrics.METRICS
TABLE_ROWS = 100


def _sort(request) -> tuple[str, bool]:
    raw = request.GET.get("sort", "name")
    desc = raw.startswith("-")
    key = raw.lstrip("-")
    return (key if key in sel.SORTABLE else "name"), desc


def _csv(filename: str, rows: list[dict], first: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    w = csv.writer(response)
    header = [first]
    for m in CSV_METRICS:
        header += [m, f"{m}_n"]
    w.writerow(header)
    for r in rows:
        label = r[first] if first != "day" else r["day"].isoformat()
        if isinstance(label, str) and label[:1] in ("=", "+", "-", "@"):
            label = "'" + label  # no formulas in spreadsheets
        line = [label]
        for m in CSV_METRICS:
            v = r[m]
            line += ["" if v is None else (round(v, 4) if isinstance(v, float) else v), r[f"{m}_n"]]
        w.writerow(line)
    return response


_CELL = '<td class="text-end">{} <span class="small text-secondary">n={}</span></td>'
_ANY = uuid.UUID(int=0)  # reversed once per table, then each row's id put in its place


_QUANTUM = {places: Decimal(1).scaleb(-places) for places in (0, 1, 2)}


def _fixed(value: float, places: int, separator: str, grouping: bool | None = None) -> str:
    """``value|floatformat:places`` as the template filter shows it (half up, no "-0", the
    language's decimal separator), without its cost per call: a page has ~1,400 numbers.
    ``grouping``: ``settings.USE_THOUSAND_SEPARATOR`` if the caller has read it already."""
    if settings.USE_THOUSAND_SEPARATOR if grouping is None else grouping:
        return str(floatformat(value, places))  # grouping: leave it to Django
    quantum = _QUANTUM.get(places) or Decimal(1).scaleb(-places)
    d = Decimal(repr(value)).quantize(quantum, ROUND_HALF_UP)
    text = f"{d if d else abs(d):f}"
    return text.replace(".", separator) if places else text


def _int(n: int, grouping: bool | None = None) -> str:
    """``{{ n }}`` for an int as the template shows it."""
    if settings.USE_THOUSAND_SEPARATOR if grouping is None else grouping:
        return str(formats.localize(n))
    return str(n)


# One table row exactly as feedback/insights/_table.html wrote it in a loop (whitespace too).
_ROW = (
    '\n    <tr>\n      <td><a href="{url}?{query}">{name}</a></td>\n'
    '      <td class="text-end">{volume}</td>\n      {cells}\n    </tr>\n  '
)


def _cells(rows: list[dict], url: str, query: str) -> str:
    """The table's rows, rendered here (names and links escaped, numbers formatted once):
    a 200-row page spends less in a join than in ~3,000 template variables and a template
    loop."""
    grouping = settings.USE_THOUSAND_SEPARATOR  # read once: a lazy setting costs per access
    if grouping:  # the language's separators go into the text: escape every number
        sep, safe = formats.get_format("DECIMAL_SEPARATOR"), escape
    else:  # digits, signs, "%", "–" and the (escaped) decimal separator only
        sep, safe = escape(formats.get_format("DECIMAL_SEPARATOR")), str
    placeholder = str(_ANY)
    query = escape(query)

    def pct(v):
        return "–" if v is None else f"{_fixed(v, 0, sep, grouping)} %"

    def stars(v):
        return "–" if v is None else _fixed(v, 2, sep, grouping)

    def nps(v):
        return "–" if v is None else ("+" if v > 0 else "") + _fixed(v, 0, sep, grouping)

    shown = tuple((m, f"{m}_n", fmt) for m, fmt in (
        ("response_rate", pct), ("avg_stars", stars), ("csat", pct), ("nps", nps),
        ("fcr", pct), ("fcr_repeat", pct)))  # fmt: skip
    out = []
    for r in rows:
        cells = "".join(
            _CELL.format(safe(fmt(r[m])), safe(_int(r[n], grouping))) for m, n, fmt in shown
        )
        out.append(
            _ROW.format(
                url=escape(url.replace(placeholder, str(r["public_id"]))),
                query=query,
                name=escape(r["name"]),
                volume=safe(_int(r["volume"], grouping)),
                cells=cells,
            )
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above escaped


def _dashboard(request, org, scope: sel.Scope, *, show_teams: bool, show_agents: bool):
    member = request.member
    organization = member.organization
    period = sel.parse_period(organization, request.GET)
    sort, desc = _sort(request)
    download = request.GET.get("download", "")
    slug = f"{organization.slug}-{scope.kind}-{period.start:%Y%m%d}-{period.end:%Y%m%d}"

    if download == "days":
        return _csv(f"{slug}-days.csv", sel.daily_series(organization, scope, period), "day")
    if download == "agents" and show_agents:
        rows, _ = sel.agent_table(organization, scope, period, member, sort, desc)
        return _csv(f"{slug}-agents.csv", rows, "name")
    if download == "teams" and show_teams:
        rows, _ = sel.team_table(organization, scope, period, member, sort, desc)
        return _csv(f"{slug}-teams.csv", rows, "name")
    if download:
        raise Http404("No such table")

    current, previous, series = sel.overview_numbers(organization, scope, period)
    chart = {
        "labels": [d["day"].isoformat() for d in series],
        "avg_stars": [d["avg_stars"] for d in series],
        "csat": [d["csat"] for d in series],
        "responses": [d["responses"] for d in series],
        "stars": metrics.star_distribution(current),
    }
    # A 2,000-agent organization: the page shows the first rows in the chosen order (sorting
    # covers everyone); "show all" and the CSV have every row.
    show_all = request.GET.get("all") == "1"
    limit = None if show_all else TABLE_ROWS
    agents, agents_total = (
        sel.agent_table(organization, scope, period, member, sort, desc, limit)
        if show_agents
        else ([], 0)
    )
    teams, teams_total = (
        sel.team_table(organization, scope, period, member, sort, desc, limit)
        if show_teams
        else ([], 0)
    )
    query = period.query()
    agent_link = reverse("feedback:insights_agent", kwargs={"org": org, "agent_id": _ANY})
    team_link = reverse("feedback:insights_team", kwargs={"org": org, "team_id": _ANY})
    agents_html = _cells(agents, agent_link, query)
    teams_html = _cells(teams, team_link, query)
    agent_url = reverse("feedback:insights", kwargs={"org": org})
    context = {
        "scope": scope,
        "period": period,
        "previous": period.previous,
        "presets": sel.PRESETS,
        "errors": period.errors,
        "tiles": sel.tiles(current, previous),
        "series": series,
        "chart": chart,
        "agents": agents,
        "teams": teams,
        "agents_html": agents_html,
        "teams_html": teams_html,
        "agents_total": agents_total,
        "teams_total": teams_total,
        "show_all": show_all,
        "show_agents": show_agents,
        "show_teams": show_teams,
        "sort": sort,
        "desc": desc,
        "columns": [(m, metrics.METRIC_LABELS[m]) for m in metrics.METRICS],
        "insights_url": agent_url,
    }
    return render(request, "feedback/insights/dashboard.html", context)


@require_GET
def overview(request, org):
    member = request.member
    if member.is_agent:
        return redirect("feedback:insights_agent", org=org, agent_id=member.public_id)
    scope = sel.overview_scope(member)
    return _dashboard(request, org, scope, show_teams=True, show_agents=True)


@require_GET
def team(request, org, team_id):
    member = request.member
    if member.is_agent:
        raise PermissionDenied("Agents see their own dashboard.")
    t = get_team_for(member, team_id)
    return _dashboard(request, org, sel.team_scope(t), show_teams=False, show_agents=True)


@require_GET
def agent(request, org, agent_id):
    member = request.member
    a = get_member_for(member, agent_id)  # agents: only themselves; others 404
    if not sel.may_see_agent_dashboard(member, a):
        raise Http404("No such page")
    return _dashboard(request, org, sel.agent_scope(a), show_teams=False, show_agents=False)
