"""Reads for the KPI dashboards (organization / team / agent). Everything comes from
``DailyRollup`` — never raw history — in a fixed number of queries whatever the number of
responses: one for the tiles and the daily series (both periods, per day), three per table
(names, who has data, the sums of the rows shown — ordered in SQL when only the first rows are
shown, so a 2,000-agent organization's page fetches 100 rows of sums, not 2,000).

Days are the organization's local days (``DailyRollup.day`` is the interaction's local day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection
from django.db.models import CharField, Exists, F, OuterRef, Q, Sum, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django_scopes import ScopeError

from coachhub.tenancy.access import members_visible_to, teams_visible_to
from coachhub.tenancy.context import current_organization_id
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
    return Scope("agent", agent.display_name, agent_id=agent.pk, agent=agent)


# --- reads --------------------------------------------------------------------------------


def _rollups(organization, scope: Scope):
    return DailyRollup.objects.filter(organization_id=organization.pk).filter(scope.filter())


def _sums() -> dict:
    return {c: Sum(c, default=0) for c in COUNTERS}


_SUMS_SQL = ", ".join(f"COALESCE(SUM({c}), 0) AS {c}" for c in COUNTERS)
_KEYS = ("day", "agent_id", "team_id")


def _sums_by(organization, scope: Scope, key: str, start: date, end: date, ids=None) -> list[dict]:
    """Counter sums per ``key`` (day, agent or team) of the scope's rollups from ``start`` to
    ``end`` (only the keys ``ids`` if given; teams: rows with a team): one query.

    The same rows as ``_rollups(...)`` would read, in SQL written once: compiling seventeen
    aggregates through the ORM costs more CPU than the database spends on a typical
    organization's rows, three times a page. Fails closed, like the ORM's scoped manager,
    outside the organization's scope (and row-level security still applies)."""
    if key not in _KEYS:
        raise ValueError(f"no sums by {key!r}")
    if current_organization_id() != organization.pk:
        raise ScopeError("insights sums outside the organization's scope")
    where = ["organization_id = %s", "day >= %s", "day <= %s"]
    params: list = [organization.pk, start, end]
    if scope.agent_id is not None:
        where.append("agent_id = %s")
        params.append(scope.agent_id)
    elif scope.team_ids is not None:
        where.append("team_id = ANY(%s)")
        params.append(list(scope.team_ids))
    if key == "team_id":
        where.append("team_id IS NOT NULL")
    if ids is not None:
        where.append(f"{key} = ANY(%s)")
        params.append(list(ids))
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT {key}, {_SUMS_SQL} FROM feedback_dailyrollup"  # noqa: S608 - identifiers only
            f" WHERE {' AND '.join(where)} GROUP BY {key}",
            params,
        )
        columns = [c[0] for c in cur.description]
        return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


def _by_day(organization, scope: Scope, start: date, end: date) -> dict[date, dict]:
    """Counter sums per local day from ``start`` to ``end``: one query."""
    return {r["day"]: r for r in _sums_by(organization, scope, "day", start, end)}


def _add_days(by_day: dict, start: date, end: date) -> dict:
    out = dict.fromkeys(COUNTERS, 0)
    for day, row in by_day.items():
        if start <= day <= end:
            for c in COUNTERS:
                out[c] += row[c] or 0
    return out


def _series(by_day: dict, period: Period) -> list[dict]:
    out = []
    d = period.start
    while d <= period.end:
        t = by_day.get(d, {})
        out.append({"day": d, **metrics.compute(t)})
        d += timedelta(days=1)
    return out


def overview_numbers(organization, scope: Scope, period: Period) -> tuple[dict, dict, list[dict]]:
    """(current totals, previous totals, daily series) for the tiles and the chart: one query
    (per-day sums over both periods, added up here)."""
    prev = period.previous
    by_day = _by_day(organization, scope, prev.start, period.end)
    return (
        _add_days(by_day, period.start, period.end),
        _add_days(by_day, prev.start, prev.end),
        _series(by_day, period),
    )


def totals(organization, scope: Scope, period: Period) -> tuple[dict, dict]:
    """(current, previous) counter sums: one query."""
    current, previous, _ = overview_numbers(organization, scope, period)
    return current, previous


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
    return _series(_by_day(organization, scope, period.start, period.end), period)


SORTABLE = ("name", *metrics.METRICS)


def _order(keyed: list, sort: str, descending: bool) -> list:
    """``keyed``: (name, id, sums) triples in the table's order. By name (case-insensitive), or
    by the metric with no data last either way; ties by id, so a page the database ordered
    (``_table``) and the CSV ordered here agree."""
    if sort == "name":
        return sorted(keyed, key=lambda x: (x[0].lower(), x[1]), reverse=descending)
    fn = metrics.METRIC_FUNCS[sort]
    values = [(fn(x[2]), x) for x in keyed]
    values.sort(
        key=lambda kv: (
            kv[0] is None,
            -(kv[0] or 0) if descending else (kv[0] or 0),
            kv[1][1],
        )
    )
    return [x for _, x in values]


def _rows(shown, names: dict) -> list[dict]:
    out = []
    for ident, sums in shown:
        name, public_id, _ = names[ident]
        out.append({"name": name, "public_id": public_id, "id": ident, **metrics.compute(sums)})
    return out


def _table(
    organization,
    scope: Scope,
    period: Period,
    key: str,
    names: dict,
    visible,
    sort: str,
    descending: bool,
    limit: int | None,
) -> tuple[list[dict], int]:
    """(rows in order with their metrics, total) of the rows of ``names`` (id → (name, public
    id, has data in the period); ``visible``: the same ids as a subquery) that have data in the
    period.

    Every row (no ``limit``, or no more names than that): their sums in one query, ordered
    here. Only the first ``limit`` rows (the page of a 2,000-agent organization): the names
    say who has data (the total), then the sums of the rows shown only, ordered by the
    database for a metric — names plus one query, so the page never fetches 2,000 rows of
    sums."""
    if sort not in SORTABLE:
        sort = "name"
    start, end = period.start, period.end
    if limit is None or len(names) <= limit:
        rows = [r for r in _sums_by(organization, scope, key, start, end) if r[key] in names]
        ordered = _order([(names[r[key]][0], r[key], r) for r in rows], sort, descending)
        shown = ordered if limit is None else ordered[:limit]
        return _rows([(ident, r) for _, ident, r in shown], names), len(ordered)
    with_data = [i for i, (_, _, has_data) in names.items() if has_data]
    if sort == "name":
        ordered = _order([(names[i][0], i, None) for i in with_data], sort, descending)
        ids = [i for _, i, _ in ordered[:limit]]
        sums = {r[key]: r for r in _sums_by(organization, scope, key, start, end, ids)}
        return _rows([(i, sums[i]) for i in ids], names), len(with_data)
    order_key = metrics.sql_expression(sort, F)  # over the sums annotated just before
    rows = (
        _in_period(organization, scope, key, period)
        .values(key)
        .annotate(**_sums())
        .filter(**{f"{key}__in": visible})
        .annotate(sort_key=order_key)
        .order_by(
            F("sort_key").desc(nulls_last=True)
            if descending
            else F("sort_key").asc(nulls_last=True),
            key,
        )[:limit]
    )
    return _rows([(r[key], r) for r in rows], names), len(with_data)


def _in_period(organization, scope: Scope, key: str, period: Period):
    rows = _rollups(organization, scope).filter(day__gte=period.start, day__lte=period.end)
    return rows.filter(team_id__isnull=False) if key == "team_id" else rows


def _with_data_flag(visible, organization, scope: Scope, key: str, period: Period, limit):
    """``visible`` with ``has_data``: whether the row has rollups in the period — asked in the
    names' query when only the first ``limit`` rows may be shown, so "who has data" costs no
    round trip of its own (Postgres probes the organization-first index per row, or hashes the
    period's rollups once, whichever it finds cheaper)."""
    if limit is None:
        return visible.annotate(has_data=Value(True))
    rows = _in_period(organization, scope, key, period).filter(**{key: OuterRef("pk")})
    return visible.annotate(has_data=Exists(rows))


def agent_table(
    organization,
    scope: Scope,
    period: Period,
    viewer: Membership,
    sort="name",
    desc=False,
    limit: int | None = None,
) -> tuple[list[dict], int]:
    """One row per agent with data in the period that ``viewer`` may see (see ``_table``)."""
    # Plain tuples, not model instances: a 2,000-agent organization's names in one cheap read.
    visible = members_visible_to(viewer).filter(role=Role.AGENT)
    names = {}
    # public_id as text: only the rows shown need it (in a link), 2,000 UUID objects cost more.
    for pk, public_id, first, last, email, has_data in (
        _with_data_flag(visible, organization, scope, "agent_id", period, limit)
        .annotate(public_text=Cast("public_id", CharField()))
        .order_by()
        .values_list(
            "id", "public_text", "user__first_name", "user__last_name", "user__email", "has_data"
        )
    ):
        # Membership.display_name's rule (full name, else e-mail), without model instances.
        names[pk] = (f"{first} {last}".strip() or email, public_id, has_data)
    return _table(
        organization, scope, period, "agent_id", names, visible.values("pk"), sort, desc, limit
    )


def team_table(
    organization,
    scope: Scope,
    period: Period,
    viewer: Membership,
    sort="name",
    desc=False,
    limit: int | None = None,
) -> tuple[list[dict], int]:
    visible = teams_visible_to(viewer)
    names = {
        pk: (name, public_id, has_data)
        for pk, name, public_id, has_data in _with_data_flag(
            visible, organization, scope, "team_id", period, limit
        ).values_list("pk", "name", "public_id", "has_data")
    }
    return _table(
        organization, scope, period, "team_id", names, visible.values("pk"), sort, desc, limit
    )


def may_see_agent_dashboard(viewer: Membership, agent: Membership) -> bool:
    if viewer.is_admin or viewer.pk == agent.pk:
        return True
    return viewer.is_supervisor and agent.team_id in viewer.led_team_ids
