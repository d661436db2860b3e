"""coaching's ``seed_demo`` step: default rules and behaviours for the demo organizations, open
(and some handled) alerts on the last days' low ratings, and coaching notes from each
supervisor (praise and developmental, some read and answered, follow-ups due).

Seeded history records no events and sends nothing. Idempotent: alerts are unique per (rule,
response); notes are only written when the organization has none yet.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction

from coachhub.core.seed import DemoOrg, seed_step
from feedback.models import Mode, Response

from .models import Alert, AlertRule, AlertState, CoachingNote, FocusBehaviour, FollowUp, NoteKind
from .services import rules as rule_logic
from .services.defaults import coaching_defaults
from .services.notes import follow_up_due

PRAISE = [
    "The customer called out how patient you were. That calm recap at the end made the fix stick.",
    "Great ownership: you followed up before they had to chase us.",
    "Clear, friendly and fast. This is the tone we want on every ticket.",
    "You turned an angry customer around by acknowledging the wait first. Keep doing that.",
]
DEVELOPMENTAL = [
    "They had to repeat the problem twice. Try summarising it back in your first reply.",
    "Promise a time for the refund, then set yourself a reminder to confirm it went through.",
    "The answer was right but long. Lead with the fix, then the background.",
    "Offer the callback before the customer has to ask for it.",
]
REPLIES = [
    "Thanks, that helps!",
    "Good point, I'll try the summary first next time.",
    "Will do. Can we look at the refund macro in our 1:1?",
]


@seed_step("coaching alerts and notes", order=70)
def coaching_demo(demo: DemoOrg) -> None:
    org = demo.organization
    coaching_defaults(org)
    now = demo.now
    recent = list(
        Response.objects.filter(
            organization=org,
            confirmed=True,
            interaction__mode=Mode.LIVE,
            submitted_at__gte=now - timedelta(days=6),
        )
        .select_related("interaction", "agent__user")
        .order_by("submitted_at")
    )
    rules = [
        r
        for r in AlertRule.objects.filter(organization=org, is_active=True)
        if r.kind != "rolling_average"
    ]
    alerts = 0
    for response in recent:
        answer = rule_logic.Answer(
            response.stars, response.resolved, response.nps, response.comment
        )
        for rule in rules:
            if rule.team_id and rule.team_id != response.team_id:
                continue
            reason = rule_logic.matches(rule, answer)
            if not reason:
                continue
            age = now - response.submitted_at
            state = AlertState.OPEN
            if age > timedelta(days=3):
                state = AlertState.RESOLVED if demo.rng.random() < 0.6 else AlertState.ACKNOWLEDGED
            try:
                with transaction.atomic():
                    Alert.objects.create(
                        organization=org,
                        rule=rule,
                        response=response,
                        interaction_id=response.interaction_id,
                        agent_id=response.agent_id,
                        team_id=response.team_id,
                        reason=reason,
                        state=state,
                        created_at=response.submitted_at + timedelta(seconds=2),
                        updated_at=response.submitted_at + timedelta(minutes=30),
                        acknowledged_at=response.submitted_at + timedelta(hours=2)
                        if state != AlertState.OPEN
                        else None,
                        resolved_at=response.submitted_at + timedelta(hours=20)
                        if state == AlertState.RESOLVED
                        else None,
                    )
                alerts += 1
            except IntegrityError:
                pass  # already seeded
    if CoachingNote.objects.filter(organization=org).exists():
        return
    behaviours = list(FocusBehaviour.objects.filter(organization=org, is_active=True))
    by_agent: dict[int, list[Response]] = {}
    for response in recent:
        by_agent.setdefault(response.agent_id, []).append(response)
    for supervisor in demo.supervisors:
        led = supervisor.led_team_ids
        agents = [a for a in demo.agents if a.team_id in led]
        for i, agent in enumerate(agents):
            if i == len(agents) - 1 and len(agents) > 1:
                continue  # one agent per supervisor shows up as "no coaching in 7 days"
            for response in by_agent.get(agent.pk, [])[-2:]:
                praise = (response.stars or 0) >= 4
                kind = NoteKind.PRAISE if praise else NoteKind.DEVELOPMENTAL
                created = response.submitted_at + timedelta(hours=1)
                note = CoachingNote.objects.create(
                    organization=org,
                    author=supervisor,
                    agent=agent,
                    kind=kind,
                    behaviour=demo.rng.choice(behaviours),
                    body=demo.rng.choice(PRAISE if praise else DEVELOPMENTAL),
                    interaction_id=response.interaction_id,
                    response=response,
                    created_at=created,
                )
                if now - created > timedelta(days=1) and demo.rng.random() < 0.7:
                    note.acknowledged_at = created + timedelta(hours=3)
                    note.reply = demo.rng.choice(REPLIES) if demo.rng.random() < 0.5 else ""
                    note.save(update_fields=["acknowledged_at", "reply"])
                if kind == NoteKind.DEVELOPMENTAL:
                    due = follow_up_due(created)
                    FollowUp.objects.create(
                        organization=org,
                        note=note,
                        supervisor=supervisor,
                        due_at=due,
                        done_at=due + timedelta(hours=2) if due < now - timedelta(days=1) else None,
                    )
