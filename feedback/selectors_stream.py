"""Reads for the live feedback streams: the agent's "My feedback" and the supervisor's team
stream. Cards come from one indexed, keyset-paginated query (no COUNT, no OFFSET); numbers come
from the daily rollups, never from raw history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from coachhub.tenancy.models import Membership

from .models import Response
from .selectors import rollup_totals

PAGE = 25


def responses_visible_to(member: Membership) -> QuerySet[Response]:
    """Confirmed answers the member may see: admin → all, supervisor → led teams, agent → own."""
    qs = Response.objects.filter(organization_id=member.organization_id, confirmed=True)
    if member.is_admin:
        return qs
    if member.is_supervisor:
        return qs.filter(team_id__in=member.led_team_ids)
    return qs.filter(agent_id=member.pk)


def get_response_for(member: Membership, public_id) -> Response:
    try:
        return (
            responses_visible_to(member)
            .select_related("interaction", "agent__user", "team", "excluded_by__user")
            .get(public_id=public_id)
        )
    except (Response.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such response") from exc
    except Exception as exc:
        from django.core.exceptions import ValidationError

        if isinstance(exc, ValidationError):
            raise Http404("No such response") from exc
        raise


@dataclass
class StreamFilters:
    team_id: int | None = None
    agent_id: int | None = None
    stars: int | None = None
    channel: str = ""
    tag: str = ""
    has_comment: bool = False
    start: date | None = None
    end: date | None = None
    errors: dict = field(default_factory=dict)

    def query(self) -> dict:
        return {}


def stream_page(member: Membership, filters: StreamFilters, *, before: str = "", limit: int = PAGE):
    """One page of cards, newest first, and the cursor of the next (older) page or ''."""
    qs = responses_visible_to(member)
    if filters.team_id is not None:
        qs = qs.filter(team_id=filters.team_id)
    if filters.agent_id is not None:
        qs = qs.filter(agent_id=filters.agent_id)
    if filters.stars is not None:
        qs = qs.filter(stars=filters.stars)
    if filters.channel:
        qs = qs.filter(interaction__channel=filters.channel)
    if filters.tag:
        qs = qs.filter(interaction__tags__contains=[filters.tag])
    if filters.has_comment:
        qs = qs.exclude(comment="")
    tz = ZoneInfo(member.organization.time_zone)
    if filters.start:
        qs = qs.filter(submitted_at__gte=datetime.combine(filters.start, datetime.min.time(), tz))
    if filters.end:
        end = datetime.combine(filters.end + timedelta(days=1), datetime.min.time(), tz)
        qs = qs.filter(submitted_at__lt=end)
    if before:
        at, _, pid = before.partition("~")
        at = parse_datetime(at)
        if at is not None:
            qs = qs.filter(submitted_at__lt=at) | qs.filter(submitted_at=at, public_id__lt=pid)
    rows = list(
        qs.select_related("interaction", "agent__user", "team", "excluded_by__user").order_by(
            "-submitted_at", "-public_id"
        )[: limit + 1]
    )
    cursor = ""
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        cursor = f"{last.submitted_at.isoformat()}~{last.public_id}"
    return rows, cursor


def parse_filters(member: Membership, params) -> StreamFilters:
    """Filters from the query string; anything the member may not see is an error, not a leak."""
    from coachhub.tenancy.access import members_visible_to, teams_visible_to

    f = StreamFilters()
    if team := params.get("team"):
        t = teams_visible_to(member).filter(public_id=team).first() if _uuid(team) else None
        if t is None:
            f.errors["team"] = "Choose one of your teams."
        else:
            f.team_id = t.pk
    if agent := params.get("agent"):
        a = members_visible_to(member).filter(public_id=agent).first() if _uuid(agent) else None
        if a is None:
            f.errors["agent"] = "Choose one of your agents."
        else:
            f.agent_id = a.pk
    if stars := params.get("stars"):
        if stars in {"1", "2", "3", "4", "5"}:
            f.stars = int(stars)
        else:
            f.errors["stars"] = "Choose from 1 to 5 stars."
    f.channel = (params.get("channel") or "").strip()[:40]
    f.tag = (params.get("tag") or "").strip()[:100]
    f.has_comment = params.get("has_comment") in {"1", "on", "true"}
    for name in ("start", "end"):
        if raw := params.get(name):
            value = parse_date(raw) if len(raw) == 10 else None
            if value is None:
                f.errors[name] = "Enter a date as YYYY-MM-DD."
            setattr(f, name, value)
    return f


def _uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False


def kpis(totals: dict) -> dict:
    """Tiles from summed rollup counters."""
    stars_count = totals["stars_count"]
    fcr = totals["fcr_yes"] + totals["fcr_no"]
    nps_n = totals["nps_promoters"] + totals["nps_passives"] + totals["nps_detractors"]
    return {
        "responses": totals["responses"],
        "avg_stars": round(totals["stars_sum"] / stars_count, 2) if stars_count else None,
        "csat": round(100 * totals["csat_count"] / stars_count) if stars_count else None,
        "fcr": round(100 * totals["fcr_yes"] / fcr) if fcr else None,
        "nps": round(100 * (totals["nps_promoters"] - totals["nps_detractors"]) / nps_n)
        if nps_n
        else None,
    }


def local_today(organization) -> date:
    return timezone.now().astimezone(ZoneInfo(organization.time_zone)).date()


def agent_kpis(member: Membership) -> list[dict]:
    """The agent's own KPIs beside their team's, over 7 and 30 days (four rollup sums)."""
    org = member.organization
    today = local_today(org)
    out = []
    for days in (7, 30):
        start = today - timedelta(days=days - 1)
        own = kpis(rollup_totals(org, start=start, end=today, agent_ids=[member.pk]))
        team = (
            kpis(rollup_totals(org, start=start, end=today, team_ids=[member.team_id]))
            if member.team_id
            else None
        )
        out.append({"days": days, "own": own, "team": team})
    return out


def team_kpis(member: Membership, team_ids) -> list[dict]:
    org = member.organization
    today = local_today(org)
    return [
        {
            "days": days,
            "team": kpis(
                rollup_totals(
                    org, start=today - timedelta(days=days - 1), end=today, team_ids=list(team_ids)
                )
            ),
        }
        for days in (7, 30)
    ]
