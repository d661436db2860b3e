"""Reads of recognition: who may see which kudos, rewards, achievements and leaderboards.

Leaderboards read ``feedback.DailyRollup`` only (never raw responses): one GROUP BY agent over
the period's rollup rows, then the Bayesian ranking in ``recognition.ranking``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils import timezone

from coachhub.tenancy.access import teams_visible_to
from coachhub.tenancy.models import AgentProfile, Membership, RecognitionPreference, Role, Team
from feedback.models import DailyRollup

from . import ranking
from .models import (
    Achievement,
    EarnedReward,
    Kudos,
    KudosBehaviour,
    RewardCounter,
    RewardItem,
    TVLink,
)
from .settings import TIERS, recognition_setting, tier_threshold

# --- kudos -----------------------------------------------------------------------------------


def _private_recipient():
    return Exists(
        AgentProfile.objects.filter(
            organization_id=OuterRef("organization_id"),
            membership_id=OuterRef("recipient_id"),
            recognition_preference=RecognitionPreference.PRIVATE,
        )
    )


def public_kudos(organization) -> QuerySet[Kudos]:
    """Kudos whose recipient's preference is public (read now, so a change re-hides old ones)."""
    return (
        Kudos.objects.filter(organization_id=organization.pk)
        .annotate(private=_private_recipient())
        .filter(private=False)
        .select_related("giver__user", "recipient__user", "recipient__team")
    )


def is_public(member: Membership) -> bool:
    profile = member.profile
    return profile is None or profile.recognition_preference != RecognitionPreference.PRIVATE


def oversees(viewer: Membership, agent: Membership) -> bool:
    """The viewer is the agent, an admin, or a supervisor leading the agent's team."""
    return (
        viewer.pk == agent.pk
        or viewer.is_admin
        or (viewer.is_supervisor and agent.team_id in viewer.led_team_ids)
    )


def wall_kudos(viewer: Membership, team: Team | None) -> QuerySet[Kudos]:
    """The team wall: public kudos to agents of ``team`` (None: the viewer's whole view)."""
    qs = public_kudos(viewer.organization)
    if team is not None:
        return qs.filter(recipient__team=team)
    return qs.filter(recipient__team__in=teams_visible_to(viewer))


def kudos_of(viewer: Membership, agent: Membership) -> QuerySet[Kudos]:
    """An agent's kudos as ``viewer`` may see them: all to the agent and their supervisors,
    public ones to peers."""
    qs = Kudos.objects.filter(
        organization_id=agent.organization_id, recipient=agent
    ).select_related("giver__user", "recipient__user")
    if oversees(viewer, agent):
        return qs
    return qs.annotate(private=_private_recipient()).filter(private=False)


def kudos_given_count(member: Membership, start: date | datetime, end: date | datetime) -> int:
    """Kudos ``member`` gave as a supervisor or admin in [start, end): praise in coaching's
    praise:criticism ratio. Dates are inclusive local days in the organization's time zone."""
    lo, hi = bounds(member.organization, start, end)
    return Kudos.objects.filter(
        organization_id=member.organization_id,
        giver=member,
        from_supervisor=True,
        created_at__gte=lo,
        created_at__lt=hi,
    ).count()


def kudos_recipients_for(giver: Membership) -> QuerySet[Membership]:
    """Whom ``giver`` may give kudos to: supervisors their teams' agents (admins: all agents),
    agents their peers (every other active agent of the organization)."""
    qs = Membership.objects.filter(
        organization_id=giver.organization_id, role=Role.AGENT, is_active=True
    ).select_related("user", "team")
    if giver.is_supervisor:
        qs = qs.filter(team_id__in=giver.led_team_ids)
    return qs.exclude(pk=giver.pk)


def behaviours(organization) -> list[str]:
    """The names a kudos can be given for now (active ones, in the admins' order)."""
    return list(
        kudos_behaviours(organization).filter(is_active=True).values_list("name", flat=True)
    )


def kudos_behaviours(organization) -> QuerySet[KudosBehaviour]:
    """The whole list, retired ones included (the admin page)."""
    return KudosBehaviour.objects.filter(organization_id=organization.pk).order_by(
        "position", "name", "id"
    )


# --- rewards ---------------------------------------------------------------------------------


def rewards_visible_to(viewer: Membership) -> QuerySet[EarnedReward]:
    qs = EarnedReward.objects.filter(organization_id=viewer.organization_id).select_related(
        "agent__user", "item", "approved_by__user", "fulfilled_by__user"
    )
    if viewer.is_admin:
        return qs
    if viewer.is_supervisor:
        return qs.filter(Q(agent__team_id__in=viewer.led_team_ids))
    return qs.filter(agent=viewer)


def get_reward_for(viewer: Membership, public_id) -> EarnedReward:
    try:
        return rewards_visible_to(viewer).get(public_id=public_id)
    except Exception as exc:
        raise Http404("No such reward") from exc


def catalogue(organization, *, active_only: bool = False) -> QuerySet[RewardItem]:
    qs = RewardItem.objects.filter(organization_id=organization.pk)
    return qs.filter(is_active=True) if active_only else qs


def vote_progress(agent: Membership) -> list[dict]:
    counts = dict(
        RewardCounter.objects.filter(
            organization_id=agent.organization_id, agent=agent
        ).values_list("tier", "votes")
    )
    org = agent.organization
    return [
        {"tier": t, "votes": counts.get(t, 0), "threshold": tier_threshold(org, t)} for t in TIERS
    ]


def achievements_of(member: Membership) -> QuerySet[Achievement]:
    return Achievement.objects.filter(organization_id=member.organization_id, member=member)


def tv_links(organization) -> QuerySet[TVLink]:
    return TVLink.objects.filter(organization_id=organization.pk).select_related("team")


# --- leaderboards ----------------------------------------------------------------------------

METRICS = {
    "stars": "Average stars",
    "csat": "CSAT %",
    "fcr": "FCR %",
    "qa": "QA score",
}
PERIODS = {"week": "Last 7 days", "month": "Last 30 days", "custom": "Custom"}


def bounds(organization, start, end) -> tuple[datetime, datetime]:
    tz = organization.tz
    if not isinstance(start, datetime):
        start = datetime.combine(start, time.min, tzinfo=tz)
    if not isinstance(end, datetime):
        end = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def period_days(organization, period: str, start: date | None = None, end: date | None = None):
    """(first day, last day) inclusive, local days. Raises ValueError naming the field."""
    today = timezone.now().astimezone(organization.tz).date()
    if period == "week":
        return today - timedelta(days=6), today
    if period == "month":
        return today - timedelta(days=29), today
    if period == "custom":
        if start is None:
            raise ValueError("start")
        if end is None:
            raise ValueError("end")
        if end < start or (end - start).days > 366:
            raise ValueError("end")
        return start, end
    raise ValueError("period")


@dataclass
class Leaderboard:
    metric: str
    period: str
    start: date
    end: date
    team: Team | None
    board: ranking.Board
    unit: str

    @property
    def metric_label(self) -> str:
        return METRICS[self.metric]


def _rollup_totals(organization, metric: str, start: date, end: date, team: Team | None):
    qs = DailyRollup.objects.filter(organization_id=organization.pk, day__gte=start, day__lte=end)
    if team is not None:
        qs = qs.filter(team=team)
    if metric == "stars":
        agg = {"n": Sum("stars_count"), "total": Sum("stars_sum")}
    elif metric == "csat":
        agg = {"n": Sum("stars_count"), "total": Sum("csat_count")}
    else:  # fcr
        agg = {"n": Sum(F("fcr_yes") + F("fcr_no")), "total": Sum("fcr_yes")}
    return {
        r["agent_id"]: (r["n"] or 0, r["total"] or 0) for r in qs.values("agent_id").annotate(**agg)
    }


def _qa_totals(organization, start: date, end: date, team: Team | None):
    from django.db.models import Count

    from qa.selectors import counted_reviews, with_final_score

    lo, hi = bounds(organization, start, end)
    qs = counted_reviews(organization).filter(submitted_at__gte=lo, submitted_at__lt=hi)
    if team is not None:
        qs = qs.filter(agent__team=team)
    rows = (
        with_final_score(qs, organization)
        .values("agent_id")
        .annotate(n=Count("id"), total=Sum("final"))
    )
    return {r["agent_id"]: (r["n"] or 0, float(r["total"] or 0)) for r in rows}


def leaderboard(
    organization,
    *,
    metric: str = "stars",
    period: str = "week",
    team: Team | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Leaderboard:
    if metric not in METRICS:
        raise ValueError("metric")
    first, last = period_days(organization, period, start, end)
    if metric == "qa":
        totals = _qa_totals(organization, first, last, team)
    else:
        totals = _rollup_totals(organization, metric, first, last, team)
    agents = Membership.objects.filter(organization_id=organization.pk, role=Role.AGENT)
    if team is not None:
        agents = agents.filter(Q(team=team) | Q(pk__in=list(totals)))
    else:
        agents = agents.filter(Q(is_active=True) | Q(pk__in=list(totals)))
    rows = list(
        agents.values("id", "team_id", "user__first_name", "user__last_name", "user__email")
    )
    names = dict(
        AgentProfile.objects.filter(organization_id=organization.pk)
        .exclude(display_name="")
        .values_list("membership_id", "display_name")
    )
    entries = []
    for r in rows:
        n, total = totals.get(r["id"], (0, 0))
        name = names.get(r["id"]) or (
            f"{r['user__first_name']} {r['user__last_name']}".strip() or r["user__email"]
        )
        entries.append(
            ranking.Entry(
                agent_id=r["id"],
                team_id=team.pk if team else r["team_id"],
                n=n,
                total=total,
                name=name,
            )
        )
    board = ranking.rank(
        entries,
        prior_weight=int(recognition_setting(organization, "leaderboard_prior_weight")),
        min_n=int(recognition_setting(organization, "leaderboard_min_n")),
        scale=100.0 if metric in ("csat", "fcr") else 1.0,
    )
    unit = "%" if metric in ("csat", "fcr", "qa") else "★"
    return Leaderboard(metric, period, first, last, team, board, unit)


def agents_may_see_leaderboards(organization) -> bool:
    return bool(recognition_setting(organization, "leaderboard_agents_enabled"))


def trim_for(viewer: Membership, lb: Leaderboard) -> Leaderboard:
    """Agents see only the top N and their own row when the organization says so."""
    top_n = int(recognition_setting(viewer.organization, "leaderboard_agents_top_n") or 0)
    if not viewer.is_agent or top_n <= 0:
        return lb
    board = lb.board
    keep = [e for e in board.ranked if e.rank <= top_n or e.agent_id == viewer.pk]
    board.ranked = keep
    board.not_enough = [e for e in board.not_enough if e.agent_id == viewer.pk]
    return lb


def digest_kudos(organization, *, start: date, end: date, team_ids=None, agent=None) -> dict:
    """The daily/weekly digest's kudos line: public kudos only (the recipient's preference is
    honoured; an agent's own weekly digest counts all of theirs). Local days, inclusive.
    ``{"count": n, "latest": [Kudos, ...up to 3]}``."""
    lo, hi = bounds(organization, start, end)
    if agent is not None:
        qs = Kudos.objects.filter(organization_id=organization.pk, recipient=agent).select_related(
            "giver__user", "recipient__user"
        )
    else:
        qs = public_kudos(organization)
        if team_ids is not None:
            qs = qs.filter(recipient__team_id__in=list(team_ids))
    qs = qs.filter(created_at__gte=lo, created_at__lt=hi)
    latest = list(qs.order_by("-created_at")[:3])
    count = len(latest) if len(latest) < 3 else qs.count()
    return {"count": count, "latest": latest}


def digest_kudos_grouped(
    organization, *, start: date, end: date, team_ids=None, agent_ids=None, latest: int = 3
) -> dict[int, dict]:
    """``digest_kudos`` for many digests in one query (the digest task reads a whole
    organization at once): by recipient's team (``team_ids``: public kudos only) or by recipient
    (``agent_ids``: all of each agent's own). ``{team or agent id: {"count", "latest"}}`` with
    the latest as dicts (id, created_at, behaviour, giver_id, recipient_id); keys without kudos
    are absent. Merging teams: add the counts, take the newest of the latests."""
    lo, hi = bounds(organization, start, end)
    if agent_ids is not None:
        qs = Kudos.objects.filter(organization_id=organization.pk, recipient_id__in=list(agent_ids))
        key = "recipient_id"
    else:
        qs = (
            Kudos.objects.filter(
                organization_id=organization.pk, recipient__team_id__in=list(team_ids or ())
            )
            .annotate(private=_private_recipient())
            .filter(private=False)
        )
        key = "recipient__team_id"
    ranked = (
        qs.filter(created_at__gte=lo, created_at__lt=hi)
        .values("id", "created_at", "behaviour", "giver_id", "recipient_id")
        .annotate(
            group_id=F(key),
            rank=Window(
                RowNumber(),
                partition_by=[F(key)],
                order_by=[F("created_at").desc(), F("id").desc()],
            ),
            group_count=Window(Count("id"), partition_by=[F(key)]),
        )
        .filter(rank__lte=latest)
        .order_by("group_id", "rank")
    )
    out: dict[int, dict] = {}
    for k in ranked:
        group = out.setdefault(k.pop("group_id"), {"count": k.pop("group_count"), "latest": []})
        k.pop("group_count", None)
        k.pop("rank", None)
        k.pop("private", None)
        group["latest"].append(k)
    return out
