"""Reads of 1:1 sessions, goals, coverage and coaching effectiveness, narrowed by role.
Missing and not-yours are the same 404. Private coach-only notes are read ONLY through
``private_notes_for`` and only for the session's coach."""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import timedelta

from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from coachhub.tenancy.models import Membership, Role, Team
from feedback.models import Mode, RequestKind, Response

from .models import CoachingNote, FocusBehaviour, SavedItem
from .models_sessions import (
    CoachingSession,
    Goal,
    GoalMetric,
    SessionCategory,
    SessionPrivateNote,
    SessionState,
)
from .selectors import SAVED_RELATED, _get, praise_ratio, with_visible_reviews
from .services import effectiveness as eff

RATING_MIN_N = 5


# --- sessions ------------------------------------------------------------------------------------


def sessions_visible_to(member: Membership) -> QuerySet[CoachingSession]:
    qs = CoachingSession.objects.filter(organization_id=member.organization_id)
    if member.is_admin:
        return qs
    if member.is_supervisor:
        return qs.filter(Q(supervisor=member) | Q(agent__team_id__in=member.led_team_ids))
    # The agent sees their sessions once shared, never a draft.
    return qs.filter(agent=member).exclude(state=SessionState.DRAFT)


def sessions_list(member: Membership, limit: int = 200) -> list[CoachingSession]:
    return list(
        sessions_visible_to(member)
        .select_related("supervisor__user", "agent__user", "behaviour", "category")
        .order_by("-created_at")[:limit]
    )


def get_session_for(member: Membership, public_id) -> CoachingSession:
    return _get(
        sessions_visible_to(member).select_related(
            "supervisor__user", "agent__user", "behaviour", "category", "organization"
        ),
        public_id,
    )


def private_notes_for(session: CoachingSession, viewer: Membership) -> list[SessionPrivateNote]:
    """Coach-only: the session's supervisor, nobody else (not the agent, not other staff)."""
    if viewer.pk != session.supervisor_id or viewer.pk == session.agent_id:
        return []
    return list(
        SessionPrivateNote.objects.filter(
            organization_id=session.organization_id, session=session
        ).order_by("created_at")
    )


def session_items(session: CoachingSession, viewer: Membership) -> list:
    """What was brought to the session, as ``viewer`` may see it (QA reviews per qa's rules)."""
    items = list(
        session.items.select_related(
            "response__interaction", "note__behaviour", "note__author__user", "saved_by__user"
        ).order_by("id")
    )
    return with_visible_reviews(items, viewer, session.organization)


def saved_for_session(supervisor: Membership, agent: Membership) -> QuerySet[SavedItem]:
    """The items a 1:1 of ``agent`` prepared by ``supervisor`` brings: everything the agent saved
    for their next 1:1, and what the supervisor saved about this agent (responses, notes, QA
    reviews)."""
    about_agent = Q(response__agent=agent) | Q(note__agent=agent) | Q(review__agent=agent)
    return SavedItem.objects.filter(organization_id=agent.organization_id).filter(
        Q(member=agent) | Q(member=supervisor) & about_agent
    )


def preparation_items(supervisor: Membership, agent: Membership) -> list[SavedItem]:
    """The preparation list: what a session prepared now would bring, as the supervisor sees it."""
    items = list(
        saved_for_session(supervisor, agent)
        .select_related(*SAVED_RELATED, "member__user")
        .order_by("-created_at")
    )
    return with_visible_reviews(items, supervisor, supervisor.organization)


def session_actions(session: CoachingSession):
    return list(session.actions.select_related("owner__user"))


def follow_ups_due_qs(organization_id: int, supervisor_ids, until) -> QuerySet[CoachingSession]:
    """The rule for a 1:1 follow-up being due: due by ``until``, not followed up, session not
    closed — for these supervisors (the inbox asks for one, the digest for all at once)."""
    return CoachingSession.objects.filter(
        organization_id=organization_id,
        supervisor_id__in=list(supervisor_ids),
        follow_up_due_at__lte=until,
        followed_up_at__isnull=True,
    ).exclude(state=SessionState.CLOSED)


def session_follow_ups_due(member: Membership, now=None) -> list[CoachingSession]:
    """The supervisor's sessions whose follow-up is due (the inbox reads this)."""
    return list(
        follow_ups_due_qs(member.organization_id, [member.pk], now or timezone.now())
        .select_related("agent__user")
        .order_by("follow_up_due_at")
    )


def categories_with_use(organization) -> QuerySet[SessionCategory]:
    """Every coaching category (active first), with how many sessions use it (admins)."""
    used = (
        CoachingSession.objects.filter(organization_id=organization.pk, category_id=OuterRef("pk"))
        .values("category_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        SessionCategory.objects.filter(organization_id=organization.pk)
        .annotate(sessions=Coalesce(Subquery(used), 0))
        .order_by("-is_active", "name")
    )


def get_category(organization, public_id) -> SessionCategory:
    return _get(SessionCategory.objects.filter(organization_id=organization.pk), public_id)


def coachable_agents(member: Membership) -> QuerySet[Membership]:
    qs = Membership.objects.filter(
        organization_id=member.organization_id, role=Role.AGENT, is_active=True
    )
    if not member.is_admin:
        qs = qs.filter(team_id__in=member.led_team_ids)
    return qs.select_related("user").order_by("user__first_name", "pk")


def ratings_by_supervisor(organization) -> list[dict]:
    """Usefulness ratings aggregated per supervisor; the average only with n >= 5 so that no
    single agent's rating can be read off (admins only)."""
    rows = (
        CoachingSession.objects.filter(organization_id=organization.pk, rating__isnull=False)
        .values("supervisor_id")
        .annotate(n=Count("id"), avg=Avg("rating"))
    )
    names = {
        m.pk: m.display_name
        for m in Membership.objects.filter(
            organization_id=organization.pk, pk__in=[r["supervisor_id"] for r in rows]
        ).select_related("user")
    }
    out = []
    for r in rows:
        enough = r["n"] >= RATING_MIN_N
        out.append(
            {
                "supervisor": names.get(r["supervisor_id"], "?"),
                "n": r["n"],
                "avg": round(float(r["avg"]), 2) if enough else None,
                "enough": enough,
            }
        )
    return sorted(out, key=lambda r: r["supervisor"])


# --- goals ---------------------------------------------------------------------------------------


def goals_visible_to(member: Membership) -> QuerySet[Goal]:
    qs = Goal.objects.filter(organization_id=member.organization_id)
    if member.is_admin:
        return qs
    if member.is_supervisor:
        return qs.filter(Q(created_by=member) | Q(agent__team_id__in=member.led_team_ids))
    return qs.filter(agent=member)


def goals_list(member: Membership, limit: int = 200) -> list[Goal]:
    return list(
        goals_visible_to(member)
        .select_related("agent__user", "created_by__user", "organization")
        .order_by("-created_at")[:limit]
    )


def get_goal_for(member: Membership, public_id) -> Goal:
    return _get(
        goals_visible_to(member).select_related(
            "agent__user", "created_by__user", "organization", "session"
        ),
        public_id,
    )


# --- coverage ------------------------------------------------------------------------------------


def coverage(member: Membership, now=None) -> list[dict]:
    """Per team (the member leads; admins: all): share of active agents with a micro-coaching
    note in 7 days and a 1:1 (shared or later) in 30 days; each lead's praise:criticism ratio."""
    now = now or timezone.now()
    teams = Team.objects.filter(organization_id=member.organization_id)
    if not member.is_admin:
        teams = teams.filter(pk__in=member.led_team_ids)
    note7 = CoachingNote.objects.filter(
        organization_id=member.organization_id,
        agent_id=OuterRef("pk"),
        created_at__gte=now - timedelta(days=7),
    )
    one30 = CoachingSession.objects.filter(
        organization_id=member.organization_id,
        agent_id=OuterRef("pk"),
        created_at__gte=now - timedelta(days=30),
    ).exclude(state=SessionState.DRAFT)
    agents = (
        Membership.objects.filter(
            organization_id=member.organization_id,
            role=Role.AGENT,
            is_active=True,
            team__in=teams,
        )
        .annotate(noted=Exists(note7), met=Exists(one30))
        .values("team_id", "noted", "met")
    )
    per_team: dict = defaultdict(lambda: {"agents": 0, "noted": 0, "met": 0})
    for a in agents:
        t = per_team[a["team_id"]]
        t["agents"] += 1
        t["noted"] += a["noted"]
        t["met"] += a["met"]
    from coachhub.tenancy.models import TeamLead

    leads = defaultdict(list)
    for tl in TeamLead.objects.filter(
        organization_id=member.organization_id, team__in=teams
    ).select_related("membership__user", "membership__organization"):
        leads[tl.team_id].append(tl.membership)
    rows = []
    for team in teams.order_by("name"):
        t = per_team[team.pk]
        n = t["agents"]
        rows.append(
            {
                "team": team,
                "agents": n,
                "micro_pct": round(100 * t["noted"] / n) if n else None,
                "one_on_one_pct": round(100 * t["met"] / n) if n else None,
                "leads": [
                    {"member": lead, "ratio": praise_ratio(lead, now)} for lead in leads[team.pk]
                ],
            }
        )
    return rows


# --- effectiveness -------------------------------------------------------------------------------


def _values(rows, metric: str) -> list:
    """Per-response values of a metric (see services/effectiveness.py for why these)."""
    out = []
    for _at, stars, resolved, nps in rows:
        if metric == GoalMetric.AVG_STARS and stars is not None:
            out.append(float(stars))
        elif metric == GoalMetric.CSAT and stars is not None:
            out.append(100.0 if stars >= 4 else 0.0)
        elif metric == GoalMetric.FCR and resolved is not None:
            out.append(100.0 if resolved else 0.0)
        elif metric == GoalMetric.NPS and nps is not None:
            out.append(eff.nps_value(nps))
    return out


def _response_rows(organization_id: int, agent_ids) -> dict[int, list]:
    """Every counted response of these agents, time-ordered (one query)."""
    rows = (
        Response.objects.filter(
            organization_id=organization_id,
            agent_id__in=agent_ids,
            confirmed=True,
            excluded=False,
            interaction__mode=Mode.LIVE,
            request__kind=RequestKind.INITIAL,
        )
        .order_by("submitted_at", "id")
        .values_list("agent_id", "submitted_at", "stars", "resolved", "nps")
    )
    by_agent: dict[int, list] = defaultdict(list)
    for agent_id, at, stars, resolved, nps in rows:
        by_agent[agent_id].append((at, stars, resolved, nps))
    return by_agent


def _windows(rows: list, moment, metric: str, n: int = eff.WINDOW_N):
    """The metric's values over the ``n`` responses before ``moment`` and the ``n`` after."""
    times = [r[0] for r in rows]
    i = bisect.bisect_left(times, moment)
    before = _values(rows[:i], metric)[-n:]
    after = _values(rows[i:], metric)[:n]
    return before, after


def moments(organization, since=None) -> list[dict]:
    """Every coaching moment: micro notes and 1:1s (focus behaviour, average stars) and goals
    (their own metric: per-response values; QA score per counted review; response count per
    local day)."""
    since = since or timezone.now() - timedelta(days=365)
    out = []
    for note in CoachingNote.objects.filter(
        organization_id=organization.pk, created_at__gte=since
    ).values("agent_id", "author_id", "behaviour_id", "created_at", "public_id"):
        out.append(
            {
                "kind": "note",
                "id": note["public_id"],
                "agent_id": note["agent_id"],
                "supervisor_id": note["author_id"],
                "behaviour_id": note["behaviour_id"],
                "at": note["created_at"],
                "metric": GoalMetric.AVG_STARS,
            }
        )
    for s in CoachingSession.objects.filter(
        organization_id=organization.pk, acknowledged_at__isnull=False, created_at__gte=since
    ).values("agent_id", "supervisor_id", "behaviour_id", "acknowledged_at", "public_id"):
        out.append(
            {
                "kind": "session",
                "id": s["public_id"],
                "agent_id": s["agent_id"],
                "supervisor_id": s["supervisor_id"],
                "behaviour_id": s["behaviour_id"],
                "at": s["acknowledged_at"],
                "metric": GoalMetric.AVG_STARS,
            }
        )
    for g in Goal.objects.filter(organization_id=organization.pk, created_at__gte=since).values(
        "agent_id", "created_by_id", "metric", "created_at", "public_id"
    ):
        out.append(
            {
                "kind": "goal",
                "id": g["public_id"],
                "agent_id": g["agent_id"],
                "supervisor_id": g["created_by_id"],
                "behaviour_id": None,
                "at": g["created_at"],
                "metric": g["metric"],
            }
        )
    return out


WINDOW_DAYS = 30  # response-count goals: the daily counts of the 30 days before vs after


def _qa_windows(organization, agent_id: int, moment):
    """QA score: the final % of the N counted reviews before vs after (qa's own scoring)."""
    from qa.selectors import counted_reviews, with_final_score

    rows = list(
        with_final_score(counted_reviews(organization).filter(agent_id=agent_id), organization)
        .order_by("submitted_at", "id")
        .values_list("submitted_at", "final")
    )
    times = [r[0] for r in rows]
    i = bisect.bisect_left(times, moment)
    before = [float(f) for _t, f in rows[:i] if f is not None][-eff.WINDOW_N :]
    after = [float(f) for _t, f in rows[i:] if f is not None][: eff.WINDOW_N]
    return before, after


def _count_windows(organization, agent_id: int, moment):
    """Response count: answers per local day, the 30 days before vs the (passed) days after."""
    from django.db.models import Sum

    from feedback.models import DailyRollup

    day0 = timezone.localdate(moment, organization.tz)
    today = timezone.localdate(timezone.now(), organization.tz)
    lo, hi = day0 - timedelta(days=WINDOW_DAYS), min(today, day0 + timedelta(days=WINDOW_DAYS - 1))
    counts = dict(
        DailyRollup.objects.filter(
            organization_id=organization.pk, agent_id=agent_id, day__gte=lo, day__lte=hi
        )
        .values("day")
        .annotate(n=Sum("responses"))
        .values_list("day", "n")
    )
    before = [float(counts.get(day0 - timedelta(days=k), 0)) for k in range(WINDOW_DAYS, 0, -1)]
    after = [
        float(counts.get(day0 + timedelta(days=k), 0))
        for k in range(WINDOW_DAYS)
        if day0 + timedelta(days=k) <= hi
    ]
    return before, after


def _goal_windows(organization, agent_id: int, metric: str, moment, rows=None):
    if metric == GoalMetric.QA_SCORE:
        return _qa_windows(organization, agent_id, moment)
    if metric == GoalMetric.RESPONSES:
        return _count_windows(organization, agent_id, moment)
    if rows is None:
        rows = _response_rows(organization.pk, [agent_id]).get(agent_id, [])
    return _windows(rows, moment, metric)


def goal_effect(goal: Goal) -> eff.Effect:
    before, after = _goal_windows(goal.organization, goal.agent_id, goal.metric, goal.created_at)
    return eff.difference_ci(before, after)


def effectiveness_report(organization, since=None) -> dict:
    """Before/after effect per agent, per supervisor and per focus behaviour (pooled Welch
    interval, services/effectiveness.py), and per goal."""
    ms = moments(organization, since)
    rows = _response_rows(organization.pk, {m["agent_id"] for m in ms})
    groups: dict = {
        "agent": defaultdict(lambda: ([], [])),
        "supervisor": defaultdict(lambda: ([], [])),
        "behaviour": defaultdict(lambda: ([], [])),
    }
    goals = []
    for m in ms:
        if m["kind"] == "goal":
            before, after = _goal_windows(
                organization, m["agent_id"], m["metric"], m["at"], rows.get(m["agent_id"], [])
            )
            goals.append({**m, "effect": eff.difference_ci(before, after)})
            continue
        before, after = _windows(rows.get(m["agent_id"], []), m["at"], m["metric"])
        for key, value in (
            ("agent", m["agent_id"]),
            ("supervisor", m["supervisor_id"]),
            ("behaviour", m["behaviour_id"]),
        ):
            if value is None:
                continue
            groups[key][value][0].extend(before)
            groups[key][value][1].extend(after)
    people = {
        p.pk: p.display_name
        for p in Membership.objects.filter(organization_id=organization.pk).select_related("user")
    }
    behaviours = {
        b.pk: b.name for b in FocusBehaviour.objects.filter(organization_id=organization.pk)
    }
    out: dict = {}
    for key, names in (("agent", people), ("supervisor", people), ("behaviour", behaviours)):
        out[key] = sorted(
            (
                {"name": names.get(k, "?"), "effect": eff.difference_ci(b, a)}
                for k, (b, a) in groups[key].items()
            ),
            key=lambda r: r["name"],
        )
    for g in goals:
        g["agent"] = people.get(g["agent_id"], "?")
        g["metric_label"] = GoalMetric(g["metric"]).label
    out["goals"] = goals
    return out
