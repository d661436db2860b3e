"""seed_demo step for formal coaching: session categories with prompts, 1:1 sessions in every
state (GROW notes, action items, a private note, self-assessments, ratings) and SMART goals set
some days ago whose progress comes from the seeded rollups. Written directly (seeded history
sends nothing and records no events). Idempotent: nothing is written when the organization has
sessions already."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from coachhub.core.seed import DemoOrg, seed_step

from .models import FocusBehaviour
from .models_sessions import (
    ActionItem,
    CoachingSession,
    Goal,
    GoalMetric,
    SessionCategory,
    SessionPrivateNote,
    SessionState,
)
from .services.goals import BASELINE_DAYS, metric_value
from .services.notes import follow_up_due
from .services.sessions import metric_snapshot

CATEGORIES = {
    "Performance": "What went well since our last 1:1?\nWhich customer moment are you proud of?\n"
    "What is one thing to do differently next week?",
    "Development": "Where do you want to be in six months?\nWhat skill would help most?\n"
    "What support do you need from me?",
    "Quality": "Let's listen to one saved interaction together.\nWhat did the customer need?\n"
    "What would a five-star answer have looked like?",
}
STATES = [
    SessionState.DRAFT,
    SessionState.SHARED,
    SessionState.ACKNOWLEDGED,
    SessionState.FOLLOWED_UP,
    SessionState.CLOSED,
    SessionState.CLOSED,
]


@seed_step("coaching 1:1 sessions and goals", order=80)
def sessions_demo(demo: DemoOrg) -> None:
    org = demo.organization
    if CoachingSession.objects.filter(organization=org).exists():
        return
    now = demo.now
    rng = demo.rng
    today = timezone.localdate(now, org.tz)
    categories = [
        SessionCategory.objects.get_or_create(organization=org, name=n, defaults={"prompts": p})[0]
        for n, p in CATEGORIES.items()
    ]
    behaviours = list(FocusBehaviour.objects.filter(organization=org, is_active=True))
    n_sessions = n_goals = 0
    for supervisor in demo.supervisors:
        led = supervisor.led_team_ids
        agents = [a for a in demo.agents if a.team_id in led][: len(STATES)]
        for i, agent in enumerate(agents):
            state = STATES[i % len(STATES)]
            created = now - timedelta(days=2 + 3 * i, hours=rng.randint(0, 8))
            s = CoachingSession(
                organization=org,
                supervisor=supervisor,
                agent=agent,
                category=categories[i % len(categories)],
                behaviour=behaviours[i % len(behaviours)] if behaviours else None,
                state=state,
                purpose="Review last month's answers and agree one thing to practise.",
                metric_snapshot=metric_snapshot(agent, timezone.localdate(created, org.tz)),
                created_at=created,
                updated_at=created,
            )
            if state != SessionState.DRAFT:
                s.shared_at = created + timedelta(hours=1)
            if state in (SessionState.ACKNOWLEDGED, SessionState.FOLLOWED_UP, SessionState.CLOSED):
                s.self_assessment = "My openings are good; I lose customers at the hand-off."
                s.agent_topics = "Macro for refunds; shift swaps."
                s.acknowledged_at = created + timedelta(hours=20)
                s.kudos_open = "Three customers named you in five-star comments this week."
                s.grow_goal = "Fewer repeat contacts on refund tickets."
                s.grow_reality = "About one in five refund tickets comes back within a week."
                s.grow_options = "Confirm the refund date in writing; set a reminder to check."
                s.grow_will = "Use the confirmation line on every refund from Monday."
                s.kudos_close = "You're one of the people new hires ask for help. Thank you."
                s.developmental = i % 2 == 0
                if s.developmental:
                    s.follow_up_due_at = follow_up_due(s.acknowledged_at)
            if state in (SessionState.FOLLOWED_UP, SessionState.CLOSED) and s.developmental:
                s.followed_up_at = s.acknowledged_at + timedelta(days=1, hours=2)
            if state == SessionState.CLOSED:
                s.closed_at = s.acknowledged_at + timedelta(days=2)
                s.rating = rng.choice([3, 4, 4, 5, 5])
                s.rated_at = s.closed_at + timedelta(hours=3)
            s.save()
            n_sessions += 1
            if state != SessionState.DRAFT:
                SessionPrivateNote.objects.create(
                    organization=org,
                    session=s,
                    author=supervisor,
                    body="Seemed tired; check workload before pushing on targets.",
                )
                ActionItem.objects.create(
                    organization=org,
                    session=s,
                    text="Add the refund-date confirmation line to the macro",
                    owner=agent,
                    due_date=today + timedelta(days=7),
                    done_at=s.closed_at,
                )
            if state in (SessionState.ACKNOWLEDGED, SessionState.CLOSED):
                metric = [GoalMetric.AVG_STARS, GoalMetric.CSAT, GoalMetric.RESPONSES][i % 3]
                start = today - timedelta(days=10)
                baseline, n = metric_value(
                    [agent.pk],
                    org,
                    metric,
                    start - timedelta(days=BASELINE_DAYS),
                    start - timedelta(days=1),
                )
                days = 40
                if metric == GoalMetric.RESPONSES and baseline is not None:
                    baseline = baseline * days / BASELINE_DAYS
                if baseline is None:
                    target = {GoalMetric.AVG_STARS: 4.5, GoalMetric.CSAT: 85.0}.get(metric, 20.0)
                elif metric == GoalMetric.AVG_STARS:
                    target = min(5.0, round(baseline + 0.3, 1))
                elif metric == GoalMetric.CSAT:
                    target = min(100.0, round(baseline + 8))
                else:
                    target = round(baseline * 1.2) or 10
                Goal.objects.create(
                    organization=org,
                    agent=agent,
                    created_by=supervisor,
                    session=s,
                    title={
                        GoalMetric.AVG_STARS: "Raise my average rating",
                        GoalMetric.CSAT: "More customers satisfied (4–5 stars)",
                        GoalMetric.RESPONSES: "Get more customers to answer the survey",
                    }[metric],
                    metric=metric,
                    baseline=baseline,
                    baseline_n=n,
                    target=target,
                    start_day=start,
                    due_date=start + timedelta(days=days - 1),
                    created_at=now - timedelta(days=10),
                    updated_at=now - timedelta(days=10),
                )
                n_goals += 1
    demo.log(f"  {org.slug}: {n_sessions} 1:1 sessions, {n_goals} goals")
