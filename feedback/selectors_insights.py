"""Reads for the KPI dashboards (organization / team / agent). Everything comes from
``DailyRollup`` — never raw history — in a fixed number of queries whatever the number of
responses: one for the current and previous period's totals, one for the daily series, one per
table (agents, teams) plus one for the names in it.

Days are the organization's local days (``DailyRollup.day`` is the interaction's local day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Q, Sum
from django.utils import timezone

from coachhub.tenancy.access import members_visible_to, teams_visible_to
from coachhub.tenancy.models import Membership, Role, Team

from . import metrics
from .models import ROLLUP_COUNTERS, DailyRollup

COUNTERS = (*ROLLUP_COUNTERS, "repeat_contacts")
PRESETS = (7, 30, 90)
MAX_CUSTOM_DAYS = 366


def today_for(organization) -> date:
    return timezone.localdate(timezone.now(), organization.tz)


@dataclass
class Period:
    start: date
    end: date
    preset: int | None = None  # 7/30/90, or None for custom
    errors: dict = field(default_factory=dict)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> Period:
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end)

    def query(self) -> str:
        if self.preset:
            return f"period={self.preset}"
        return f"period=custom&start={self.start:%Y-%m-%d}&end={self.end:%Y-%m-%d}"


def parse_period(organization, params) -> Period:
    """``?period=7|30|90`` (default 30) or ``?period=custom&start=YYYY-MM-DD&end=YYYY-MM-DD``.
    Bad input falls back to the last 30 days and names the field in ``errors``."""
    today = today_for(organization)
    raw = (params.get("period") or "30").strip()
    errors: dict = {}
    if raw == "custom":
        try:
            start = date.fromisoformat(params.get("start", ""))
        except ValueError:
            errors["start"] = "Enter a date as YYYY-MM-DD."
        try:
            end = date.fromisoformat(params.get("end", ""))
        except ValueError:
            errors["end"] = "Enter a date as YYYY-MM-DD."
        if not errors:
            if end < start:
                errors["end"] = "The end is before the start."
            elif (end - start).days + 1 > MAX_CUSTOM_DAYS:
                errors["start"] = f"At most {MAX_CUSTOM_DAYS} days."
            else:
                return Period(start, end)
    elif raw.isdigit() and int(raw) in PRESETS:
        n = int(raw)
        return Period(today - timedelta(days=n - 1), today, preset=n)
    else:
        errors["period"] = "Choose 7, 30 or 90 days, or a custom range."
    p = Period(today - timedelta(days=29), today, preset=30)
    p.errors = errors
    return p


# --- scope --------------------------------------------------------------------------------


@dataclass
class Scope:
    """What a dashboard covers: ``kind`` org | teams | team | agent."""

    kind: str
    title: str
    team_ids: list[int] | None = None  # None: the whole organization
    agent_id: int | None = None
    team: Team | None = None
    agent: Membership | None = None

    def filter(self) -> Q:
        if self.agent_id is not None:
            return Q(agent_id=self.agent_id)
        if self.team_ids is not None:
            return Q(team_id__in=self.team_ids)
        return Q()


def overview_scope(member: Membership) -> Scope:
    if member.is_admin:
        return Scope("org", member.organization.name)
    return Scope("teams", "My teams", team_ids=sorted(member.led_team_ids))


def team_scope(team: Team) -> Scope:
    return Scope("team", team.name, team_ids=[team.pk], team=team)


def agent_scope(agent: Membership) -> Scope:
    agent.profile  # noqa: B018 - loads the profile so the page shows the same name as the tables
    return Scope("agent", agent.display_name, agent_id=agent.pk, agent=agent)


# --- reads --------------------------------------------------------------------------------


def _rollups(organization, scope: Scope):
    return DailyRollup.objects.filter(organization_id=organization.pk).filter(scope.filter())


def _sums(prefix: str = "", q: Q | None = None) -> dict:
    return {f"{prefix}{c}": Sum(c, filter=q, default=0) for c in COUNTERS}


def totals(organization, scope: Scope, period: Period) -> tuple[dict, dict]:
    """(current, previous) counter sums: one query."""
    prev = period.previous
    qs = _rollups(organization, scope).filter(day__gte=prev.start, day__lte=period.end)
    cur_q = Q(day__gte=period.start, day__lte=period.end)
    prev_q = Q(day__gte=prev.start, day__lte=prev.end)
    row = qs.aggregate(**_sums("c_", cur_q), **_sums("p_", prev_q))
    return (
        {c: row[f"c_{c}"] or 0 for c in COUNTERS},
        {c: row[f"p_{c}"] or 0 for c in COUNTERS},
    )


def tiles(current: dict, previous: dict) -> list[dict]:
    cur, prev = metrics.compute(current), metrics.compute(previous)
    out = []
    for m in metrics.METRICS:
        delta = metrics.change(cur[m], prev[m])
        shown_delta = None if delta is None else round(delta, 2 if m == "avg_stars" else 0)
        out.append(
            {
                "metric": m,
                "label": metrics.METRIC_LABELS[m],
                "value": cur[m],
                "shown": metrics.fmt(m, cur[m]),
                "n": cur[f"{m}_n"],
                "previous": metrics.fmt(m, prev[m]),
                "previous_n": prev[f"{m}_n"],
                "change": delta,
                "change_shown": metrics.fmt_change(m, delta),
                "up": shown_delta is not None and shown_delta > 0,
                "down": shown_delta is not None and shown_delta < 0,
            }
        )
    return out


def daily_series(organization, scope: Scope, period: Period) -> list[dict]:
    """One row per local day of the period (days without data included): one query."""
    rows = (
        _rollups(organization, scope)
        .filter(day__gte=period.start, day__lte=period.end)
        .values("day")
        .annotate(**_sums())
        .order_by("day")
    )
    by_day = {r["day"]: r for r in rows}
    out = []
    d = period.start
    while d <= period.end:
        t = by_day.get(d, {})
        out.append({"day": d, **metrics.compute(t)})
        d += timedelta(days=1)
    return out


SORTABLE = ("name", *metrics.METRICS)


def _table(
    rows, key: str, names: dict, sort: str, descending: bool, limit: int | None = None
) -> tuple[list[dict], int]:
    """(rows in order with their metrics, total). Sorting needs one metric of every row; the
    full set of metrics is computed only for the ``limit`` rows returned."""
    if sort not in SORTABLE:
        sort = "name"
    raw = []
    for r in rows:
        ident = r[key]
        if ident in names:
            name, public_id = names[ident]
            raw.append((name, public_id, ident, r))

    if sort == "name":
        raw.sort(key=lambda x: x[0].lower(), reverse=descending)
    else:
        fn = metrics.METRIC_FUNCS[sort]
        keyed = [(fn(x[3]), x) for x in raw]
        # No data sorts last either way.
        keyed.sort(key=lambda kv: (kv[0] is None, -(kv[0] or 0) if descending else (kv[0] or 0)))
        raw = [x for _, x in keyed]
    total = len(raw)
    shown = raw if limit is None else raw[:limit]
    return [
        {"name": name, "public_id": public_id, "id": ident, **metrics.compute(r)}
        for name, public_id, ident, r in shown
    ], total


def agent_table(
    organization,
    scope: Scope,
    period: Period,
    viewer: Membership,
    sort="name",
    desc=False,
    limit: int | None = None,
) -> tuple[list[dict], int]:
    """One row per agent with data in the period that ``viewer`` may see: two queries."""
    rows = (
        _rollups(organization, scope)
        .filter(day__gte=period.start, day__lte=period.end)
        .values("agent_id")
        .annotate(**_sums())
    )
    # Plain tuples, not model instances: a 2,000-agent organization's names in one cheap read.
    names = {}
    for pk, public_id, shown, first, last, email in (
        members_visible_to(viewer)
        .filter(role=Role.AGENT)
        .values_list(
            "id",
            "public_id",
            "profiles__display_name",
            "user__first_name",
            "user__last_name",
            "user__email",
        )  # fmt: skip
    ):
        names[pk] = (shown or f"{first} {last}".strip() or email, public_id)
    return _table(rows, "agent_id", names, sort, desc, limit)


def team_table(
    organization,
    scope: Scope,
    period: Period,
    viewer: Membership,
    sort="name",
    desc=False,
    limit: int | None = None,
) -> tuple[list[dict], int]:
    rows = (
        _rollups(organization, scope)
        .filter(day__gte=period.start, day__lte=period.end, team_id__isnull=False)
        .values("team_id")
        .annotate(**_sums())
    )
    names = {t.pk: (t.name, t.public_id) for t in teams_visible_to(viewer)}
    return _table(rows, "team_id", names, sort, desc, limit)


def may_see_agent_dashboard(viewer: Membership, agent: Membership) -> bool:
    if viewer.is_admin or viewer.pk == agent.pk:
        return True
    return viewer.is_supervisor and agent.team_id in viewer.led_team_ids
