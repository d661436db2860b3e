"""SMART goals on real metrics: created with a baseline computed from the data (30 days before),
validated (measurable: a known metric; attainable: a warning beyond the team's best 10 %;
time-bound: due in 1–180 days), progress computed from the rollups (never typed in), and a
met/missed decision recorded once with its ``coaching.goal_met`` / ``coaching.goal_missed`` event
(recognition awards its badge from ``coaching.goal_met``; the payload carries ``agent_id``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from coachhub.core.notifications import notify
from coachhub.core.outbox import event_record
from coachhub.tenancy.models import Membership, Role
from feedback import metrics
from feedback.models import ROLLUP_COUNTERS, DailyRollup
from feedback.selectors import rollup_totals

from ..models_sessions import CoachingSession, Goal, GoalMetric, GoalStatus

EVENT_GOAL_MET = "coaching.goal_met"
EVENT_GOAL_MISSED = "coaching.goal_missed"
BASELINE_DAYS = 30
MIN_DAYS, MAX_DAYS = 1, 180
MIN_GOAL_N = 5  # a rate/average goal is only "met" on at least this many answers
RANGES = {
    GoalMetric.AVG_STARS: (1.0, 5.0),
    GoalMetric.CSAT: (0.0, 100.0),
    GoalMetric.FCR: (0.0, 100.0),
    GoalMetric.NPS: (-100.0, 100.0),
    GoalMetric.QA_SCORE: (0.0, 100.0),
    GoalMetric.RESPONSES: (1.0, 100000.0),
}


class GoalInvalid(Exception):
    def __init__(self, errors: dict[str, str], warnings: dict[str, str] | None = None):
        super().__init__(errors or warnings)
        self.errors = errors
        self.warnings = warnings or {}


def today_for(organization) -> date:
    return timezone.localdate(timezone.now(), organization.tz)


def metric_value(agent_ids, organization, metric: str, start: date, end: date):
    """(value, n) of ``metric`` over local days [start, end] for the given agents, from the
    rollups (QA score through qa's selector, for one agent)."""
    if end < start:
        return None, 0
    if metric == GoalMetric.QA_SCORE:
        from qa.selectors import qa_score_for

        agent = Membership.objects.select_related("organization").get(
            organization_id=organization.pk, pk=agent_ids[0]
        )
        qa = qa_score_for(agent, start, end)
        return qa.score, qa.reviews
    t = rollup_totals(organization, start=start, end=end, agent_ids=agent_ids)
    return _from_totals(t, metric)


def _from_totals(t, metric: str):
    if metric == GoalMetric.RESPONSES:
        n = int(t.get("responses") or 0)
        return float(n), n
    func = {
        GoalMetric.AVG_STARS: metrics.avg_stars,
        GoalMetric.CSAT: metrics.csat,
        GoalMetric.FCR: metrics.fcr,
        GoalMetric.NPS: metrics.nps,
    }[metric]
    return func(t), metrics.n_of(t, metric)


def team_best_decile(agent: Membership, metric: str, days: int, today: date) -> float | None:
    """The value reached by the best 10 % of the agent's team over the last 30 days (response
    counts scaled to the goal's length), or None without a team / data."""
    if agent.team_id is None:
        return None
    peers = list(
        Membership.objects.filter(
            organization_id=agent.organization_id,
            team_id=agent.team_id,
            role=Role.AGENT,
            is_active=True,
        ).values_list("pk", flat=True)
    )
    start = today - timedelta(days=BASELINE_DAYS)
    end = today - timedelta(days=1)
    values = []
    if metric == GoalMetric.QA_SCORE:
        for pk in peers:
            v, n = metric_value([pk], agent.organization, metric, start, end)
            if v is not None:
                values.append(v)
    else:
        rows = (
            DailyRollup.objects.filter(
                organization_id=agent.organization_id,
                agent_id__in=peers,
                day__gte=start,
                day__lte=end,
            )
            .values("agent_id")
            .annotate(**{c: Sum(c) for c in ROLLUP_COUNTERS})
        )
        for row in rows:
            v, n = _from_totals(row, metric)
            if v is None or (metric != GoalMetric.RESPONSES and n < MIN_GOAL_N):
                continue
            if metric == GoalMetric.RESPONSES:
                v = v * days / BASELINE_DAYS
            values.append(v)
    if not values:
        return None
    values.sort()
    # The 90th percentile (nearest rank): at or above it are the best 10 %.
    return values[max(0, math.ceil(0.9 * len(values)) - 1)]


def goal_check(agent: Membership, metric: str, target_raw, due_raw, today: date):
    """(errors, warnings, cleaned): SMART checks of a goal before it is created."""
    errors: dict[str, str] = {}
    warnings: dict[str, str] = {}
    target = due = None
    if metric not in GoalMetric.values:
        errors["metric"] = "Choose a metric we measure."
    try:
        target = float(str(target_raw).strip())
        if not math.isfinite(target):
            raise ValueError
    except (TypeError, ValueError):
        errors["target"] = "Enter a number."
    if target is not None and "metric" not in errors:
        lo, hi = RANGES[metric]
        if not lo <= target <= hi:
            errors["target"] = f"Between {lo:g} and {hi:g} for this metric."
    if isinstance(due_raw, date):
        due = due_raw
    else:
        try:
            due = date.fromisoformat(str(due_raw or "").strip())
        except ValueError:
            errors["due_date"] = "Enter a date (YYYY-MM-DD)."
    if due is not None and not (
        today + timedelta(days=MIN_DAYS) <= due <= today + timedelta(days=MAX_DAYS)
    ):
        errors["due_date"] = f"Due within {MIN_DAYS}–{MAX_DAYS} days from today."
    if not errors:
        best = team_best_decile(agent, metric, (due - today).days + 1, today)
        if best is not None and target > best:
            warnings["target"] = (
                f"Beyond the best 10 % of the team ({metrics_fmt(metric, best)}): is it attainable?"
            )
    return errors, warnings, (target, due)


def metrics_fmt(metric: str, value) -> str:
    if value is None:
        return "–"
    if metric == GoalMetric.AVG_STARS:
        return f"{value:.2f}"
    if metric == GoalMetric.RESPONSES:
        return f"{value:.0f}"
    if metric == GoalMetric.NPS:
        return f"{value:+.0f}"
    if metric == GoalMetric.QA_SCORE:
        return f"{value:.1f} %"
    return f"{value:.0f} %"


@transaction.atomic
def goal_create(
    *,
    created_by: Membership,
    agent: Membership,
    title: str,
    metric: str,
    target,
    due_date,
    session: CoachingSession | None = None,
    accept_warnings: bool = False,
    now=None,
) -> Goal:
    now = now or timezone.now()
    organization = agent.organization
    today = timezone.localdate(now, organization.tz)
    title = (title or "").strip()
    errors, warnings, (target_v, due) = goal_check(agent, metric, target, due_date, today)
    if not title:
        errors["title"] = "Say specifically what the goal is."
    elif len(title) > 200:
        errors["title"] = "At most 200 characters."
    if errors or (warnings and not accept_warnings):
        raise GoalInvalid(errors, warnings)
    baseline, baseline_n = metric_value(
        [agent.pk],
        organization,
        metric,
        today - timedelta(days=BASELINE_DAYS),
        today - timedelta(days=1),
    )
    if metric == GoalMetric.RESPONSES and baseline is not None:
        # Baseline on the goal's own length, so it compares with the target.
        baseline = baseline * ((due - today).days + 1) / BASELINE_DAYS
    goal = Goal.objects.create(
        organization_id=agent.organization_id,
        agent=agent,
        created_by=created_by,
        session=session,
        title=title,
        metric=metric,
        baseline=baseline,
        baseline_n=baseline_n,
        target=target_v,
        start_day=today,
        due_date=due,
        created_at=now,
        updated_at=now,
    )
    notify(
        agent,
        "coaching_goal",
        f"New goal: {title}",
        body=(
            f"{GoalMetric(metric).label}: target {metrics_fmt(metric, target_v)} by {due:%d %b %Y}"
        ),
        url=goal_path(goal),
    )
    return goal


def goal_path(goal: Goal) -> str:
    return f"/o/{goal.organization.slug}/coaching/goals/{goal.public_id}/"


@dataclass
class Progress:
    current: float | None
    n: int
    status: str  # on_track / at_risk / met / missed
    label: str
    fraction_time: float
    reached: bool
    series: list = field(default_factory=list)  # [(day, value)] cumulative

    @property
    def current_display(self):
        return self.current


STATUS_LABELS = {
    "on_track": "On track",
    "at_risk": "At risk",
    "met": "Met",
    "missed": "Missed",
}


def _reached(metric, value, n, target) -> bool:
    if value is None:
        return False
    if metric not in (GoalMetric.RESPONSES,) and n < MIN_GOAL_N:
        return False
    return value >= target


def goal_progress(goal: Goal, today: date | None = None, with_series: bool = True) -> Progress:
    """Computed from the rollups over local days start_day..min(today, due_date)."""
    organization = goal.organization
    today = today or today_for(organization)
    end = min(today, goal.due_date)
    total_days = (goal.due_date - goal.start_day).days + 1
    elapsed = max(0, min(total_days, (end - goal.start_day).days + 1))
    frac = elapsed / total_days if total_days else 1.0
    series = []
    if goal.metric == GoalMetric.QA_SCORE:
        value, n = metric_value([goal.agent_id], organization, goal.metric, goal.start_day, end)
    else:
        rows = list(
            DailyRollup.objects.filter(
                organization_id=goal.organization_id,
                agent_id=goal.agent_id,
                day__gte=goal.start_day,
                day__lte=end,
            )
            .values("day")
            .annotate(**{c: Sum(c) for c in ROLLUP_COUNTERS})
            .order_by("day")
        )
        running: dict = {}
        for row in rows:
            running = metrics.add(running, {c: row[c] for c in ROLLUP_COUNTERS})
            v, _n = _from_totals(running, goal.metric)
            if v is not None:
                series.append((row["day"], v))
        value, n = _from_totals(running, goal.metric) if running else (None, 0)
        if goal.metric == GoalMetric.RESPONSES and not running:
            value, n = 0.0, 0
    reached = _reached(goal.metric, value, n, goal.target)
    if goal.status == GoalStatus.MET or (goal.status == GoalStatus.ACTIVE and reached):
        status = "met"
    elif goal.status == GoalStatus.MISSED or today > goal.due_date:
        status = "missed"
    else:
        if goal.metric == GoalMetric.RESPONSES:
            projected = (value or 0) / frac if frac else 0
            on_track = projected >= goal.target
        elif value is None:
            on_track = False
        elif goal.baseline is not None and goal.baseline < goal.target:
            expected = goal.baseline + (goal.target - goal.baseline) * frac
            on_track = value >= expected
        else:
            on_track = value >= goal.target
        status = "on_track" if on_track else "at_risk"
    if goal.status != GoalStatus.ACTIVE and goal.final_value is not None:
        value, n = goal.final_value, goal.final_n or 0
    return Progress(
        value, n, status, STATUS_LABELS[status], frac, reached, series if with_series else []
    )


def goal_evaluate(goal: Goal, today: date | None = None, now=None) -> str | None:
    """Decide met/missed once: the conditional UPDATE (status still active) lets exactly one
    caller win, and only the winner records the event. Returns the new status or None."""
    now = now or timezone.now()
    today = today or timezone.localdate(now, goal.organization.tz)
    if goal.status != GoalStatus.ACTIVE:
        return None
    p = goal_progress(goal, today, with_series=False)
    if p.reached:
        new = GoalStatus.MET
    elif today > goal.due_date:
        new = GoalStatus.MISSED
    else:
        return None
    with transaction.atomic():
        won = Goal.objects.filter(
            organization_id=goal.organization_id, pk=goal.pk, status=GoalStatus.ACTIVE
        ).update(status=new, final_value=p.current, final_n=p.n, decided_at=now, updated_at=now)
        if not won:
            return None
        event_record(
            goal.organization_id,
            EVENT_GOAL_MET if new == GoalStatus.MET else EVENT_GOAL_MISSED,
            {
                "goal": str(goal.public_id),
                "agent_id": goal.agent_id,
                "created_by_id": goal.created_by_id,
                "metric": goal.metric,
                "target": goal.target,
                "value": p.current,
                "n": p.n,
            },
        )
        notify(
            goal.agent,
            "coaching_goal",
            f"Goal {'met' if new == GoalStatus.MET else 'missed'}: {goal.title}",
            url=goal_path(goal),
        )
    goal.status = new
    return new


def goals_evaluate(organization_id: int, now=None) -> int:
    """Every active goal of the organization (the periodic task calls this)."""
    n = 0
    goals = Goal.objects.filter(
        organization_id=organization_id, status=GoalStatus.ACTIVE
    ).select_related("organization", "agent__user")
    for goal in goals[:2000]:
        if goal_evaluate(goal, now=now):
            n += 1
    return n
