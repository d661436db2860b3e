"""Service-recovery reads: who may work the queue, the queue, one case, the dashboard."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.db.models import Avg, Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from coachhub.tenancy.models import Membership

from .models_recovery import OPEN_STATES, CaseState, RecoveryCase


def may_work(member: Membership) -> bool:
    return member.is_admin or bool(member.is_recovery)


def cases_visible_to(member: Membership) -> QuerySet[RecoveryCase]:
    """Recovery specialists and admins: every case; supervisors: their teams' cases (read and
    open from alerts); agents: none."""
    qs = RecoveryCase.objects.filter(organization_id=member.organization_id)
    if may_work(member):
        return qs
    if member.is_supervisor:
        return qs.filter(team_id__in=member.led_team_ids)
    return qs.none()


def get_case_for(member: Membership, public_id) -> RecoveryCase:
    try:
        return (
            cases_visible_to(member)
            .select_related(
                "response", "interaction", "agent__user", "team", "claimed_by__user", "follow_up"
            )
            .get(public_id=public_id)
        )
    except Exception as exc:  # missing, not yours, malformed: the same 404
        raise Http404("No such case") from exc


def queue(member: Membership, state: str = "open", limit: int = 200) -> list[RecoveryCase]:
    qs = cases_visible_to(member).select_related(
        "response", "interaction", "agent__user", "team", "claimed_by__user"
    )
    if state == "open":
        qs = qs.filter(state__in=OPEN_STATES)
    elif state == "mine":
        qs = qs.filter(claimed_by=member, state__in=OPEN_STATES)
    elif state in CaseState.values:
        qs = qs.filter(state=state)
    return list(qs.order_by("-created_at")[:limit])


def counts(member: Membership) -> dict[str, int]:
    rows = cases_visible_to(member).values("state").annotate(n=Count("id"))
    out = dict.fromkeys(CaseState.values, 0)
    for r in rows:
        out[r["state"]] = r["n"]
    out["open"] = sum(out[s] for s in OPEN_STATES)
    return out


def dashboard(member: Membership, days: int = 30, now=None) -> dict:
    """Cases opened in the last ``days``; recovered rate over decided cases; median time from
    opening to first contact; initial vs follow-up average rating (cases with both)."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    qs = cases_visible_to(member).filter(created_at__gte=since)
    agg = qs.aggregate(
        opened=Count("id"),
        recovered=Count("id", filter=Q(state=CaseState.RECOVERED)),
        not_recovered=Count("id", filter=Q(state=CaseState.NOT_RECOVERED)),
        closed=Count("id", filter=Q(state=CaseState.CLOSED)),
        open=Count("id", filter=Q(state__in=OPEN_STATES)),
        initial_avg=Avg("initial_stars", filter=Q(follow_up_stars__isnull=False)),
        follow_up_avg=Avg("follow_up_stars", filter=Q(follow_up_stars__isnull=False)),
        with_follow_up=Count("id", filter=Q(follow_up_stars__isnull=False)),
    )
    decided = agg["recovered"] + agg["not_recovered"]
    agg["recovered_rate"] = 100.0 * agg["recovered"] / decided if decided else None
    agg["decided"] = decided
    sql, params = (
        qs.filter(first_contact_at__isnull=False)
        .values("first_contact_at", "created_at")
        .query.sql_with_params()
    )
    with connection.cursor() as cur:
        cur.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP"  # noqa: S608
            " (ORDER BY EXTRACT(EPOCH FROM (x.first_contact_at - x.created_at))), COUNT(*)"
            f" FROM ({sql}) AS x",
            params,
        )
        median, contacted = cur.fetchone()
    agg["median_contact_seconds"] = median
    agg["contacted"] = contacted
    agg["days"] = days
    return agg


def duration(seconds) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    if seconds < 3600:
        return f"{max(1, seconds // 60)} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
