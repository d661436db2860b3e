"""seed_demo step for formal coaching: session categories with prompts (the defaults and one the
admin wrote, used by the draft sessions), 1:1 sessions in every state (GROW notes, action items,
a private note, self-assessments, ratings), QA reviews saved for a 1:1 (the supervisor's in the
prepared draft, the agent's own in a shared session) and SMART goals set some days ago whose
progress comes from the seeded rollups. Written directly (seeded history sends nothing and
records no events). Idempotent: sessions are written when the organization has none; the custom
category and the saved reviews when missing."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from coachhub.core.seed import DemoOrg, seed_step
from qa.models import Review, ReviewStatus

from .models import FocusBehaviour, SavedItem
from .models_sessions import (
    ActionItem,
    CoachingSession,
    Goal,
    GoalMetric,
    SessionCategory,
    SessionItem,
    SessionPrivateNote,
    SessionState,
)
from .services.defaults import DEFAULT_CATEGORIES
from .services.goals import BASELINE_DAYS, metric_value
from .services.notes import follow_up_due
from .services.sessions import category_save, metric_snapshot

# Written by the demo organization's admin on the category page (not one of the defaults).
CUSTOM_CATEGORY = {
    "name": "QA review walk-through",
    "prompts": "Open the saved QA review: which criterion surprised you?\n"
    "Play the call from the moment the score dropped.\n"
    "What would you say differently at that moment?\n"
    "Which behaviour do we practise until the next review?",
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
    now = demo.now
    rng = demo.rng
    today = timezone.localdate(now, org.tz)
    categories = [
        SessionCategory.objects.get_or_create(organization=org, name=n, defaults={"prompts": p})[0]
        for n, p in DEFAULT_CATEGORIES.items()
    ]
    custom = SessionCategory.objects.filter(organization=org, name=CUSTOM_CATEGORY["name"]).first()
    if custom is None:
        custom = category_save(org, CUSTOM_CATEGORY)
    if CoachingSession.objects.filter(organization=org).exists():
        _saved_reviews(demo)
        return
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
                category=custom if state == SessionState.DRAFT else categories[i % len(categories)],
                behaviour=behaviours[i % len(behaviours)] if behaviours else None,
                state=state,
                purpose="Review last month's answers and agree one thing to practise.",
                metric_snapshot=metric_snapshot(agent, timezone.localdate(created, org.tz)),
                created_at=created,
                updated_at=created,
            )
            s.prompts = s.category.prompts
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
    _saved_reviews(demo)


def _latest_review(agent, **filters):
    return (
        Review.objects.filter(
            organization_id=agent.organization_id,
            agent=agent,
            status=ReviewStatus.SUBMITTED,
            **filters,
        )
        .order_by("-submitted_at")
        .first()
    )


def _saved_reviews(demo: DemoOrg) -> None:
    """Each supervisor's draft 1:1 brings a QA review they saved (the agent's lowest-scored one,
    still on their list for the next 1:1); their latest shared session brings a review the agent
    saved themselves."""
    org = demo.organization
    if SavedItem.objects.filter(organization=org, review__isnull=False).exists():
        return
    n = 0
    for supervisor in demo.supervisors:
        sessions = CoachingSession.objects.filter(
            organization=org, supervisor=supervisor
        ).select_related("agent")
        draft = sessions.filter(state=SessionState.DRAFT).order_by("-created_at").first()
        if draft is not None:
            review = (
                Review.objects.filter(
                    organization=org, agent=draft.agent, status=ReviewStatus.SUBMITTED
                )
                .order_by("score", "-submitted_at")
                .first()
            )
            if review is not None:
                SavedItem.objects.get_or_create(
                    organization=org,
                    member=supervisor,
                    review=review,
                    defaults={"created_at": draft.created_at - timedelta(hours=2)},
                )
                SessionItem.objects.create(
                    organization=org, session=draft, saved_by=supervisor, review=review
                )
                n += 1
        shared = sessions.filter(state=SessionState.SHARED).order_by("-created_at").first()
        if shared is not None:
            review = _latest_review(shared.agent, hide_reviewer=False)
            if review is not None:
                SavedItem.objects.get_or_create(  # two leads of one team: one agent, saved once
                    organization=org,
                    member=shared.agent,
                    review=review,
                    defaults={"created_at": shared.created_at - timedelta(hours=5)},
                )
                SessionItem.objects.create(
                    organization=org, session=shared, saved_by=shared.agent, review=review
                )
                n += 1
    if n:
        demo.log(f"    {n} QA reviews saved for a 1:1")
