"""Demo history for ``seed_demo``: four weeks of interactions at a contact center's pace.

About 2,500 interactions per organization (weekdays busier than weekends, office hours in
the organization's time zone, each agent with their own volume and typical rating), ingested
through ``interactions_ingest`` as history (nothing is e-mailed). Most requests are then
marked sent and about a third of those answered (stars, comments, FCR, NPS, qualities), and
the rollups move through ``feedback.services.rollups`` exactly as live answers would, in one
upsert per organization. Negative comments about "password reset" spike in the last days so the
trending-topics view has something to find.

The survey step (``seed_surveys.py``) adds a smaller set with the full lifecycle (tokens,
finish window). Idempotent: once an organization has demo history, the step does nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta

from django.db import connection

from coachhub.core.seed import DemoOrg, seed_step

from .models import FeedbackRequest, Interaction, RequestKind, Response
from .services.ingest import interactions_ingest
from .services.rollups import AnswerState, rollup_apply
from .settings import org_setting

SOURCE = "demo-history"
DAYS = 28
PER_AGENT_PER_WEEKDAY = (9, 16)  # each agent's daily volume is drawn from this range
SENT_RATE = 0.85
ANSWER_RATE = 0.33
CHANNELS = ["email", "email", "chat", "chat", "phone", "sms", "social"]
FIRST = [
    "Lee",
    "Maria",
    "Sam",
    "Aisha",
    "Jorge",
    "Emma",
    "Tomás",
    "Noah",
    "Chloé",
    "Yuki",
    "Omar",
    "Sofia",
    "Liam",
    "Ines",
    "Ravi",
]
LAST = [
    "Park",
    "García",
    "O'Neill",
    "Khan",
    "Ruiz",
    "Wilson",
    "Silva",
    "Brown",
    "Martin",
    "Tanaka",
    "Haddad",
    "Rossi",
    "Patel",
]
TAGS = ["billing", "refund", "login", "password", "shipping", "upgrade", "bug", "cancel"]
PRAISE = [
    "Solved it on the first try, thank you!",
    "Very patient and explained every step.",
    "Quick, friendly and clear.",
    "Went above and beyond to sort out my refund.",
    "Knew exactly what to do. Great service.",
    "Muy amable, resolvió todo en una llamada.",
    "Fixed my login in two minutes.",
]
CRITICISM = [
    "I had to explain my problem three times.",
    "Still waiting for the refund I was promised.",
    "The answer did not match my question.",
    "Took far too long to get a reply.",
    "Me pasaron de un agente a otro sin solución.",
    "Transferred twice and nobody called back.",
]
TRENDING = [
    "The password reset link never arrived.",
    "Password reset still broken after two tries.",
    "Could not finish the password reset, the code expired.",
]


def _occurrences(demo: DemoOrg):
    """(agent, occurred_at) over the last DAYS days, in office hours of the org's time zone."""
    rng, tz = demo.rng, demo.organization.tz
    today = demo.now.astimezone(tz).date()
    for agent in demo.agents:
        low, high = PER_AGENT_PER_WEEKDAY
        volume = rng.randint(low, high)
        for back in range(DAYS, -1, -1):
            day = today - timedelta(days=back)
            n = volume if day.weekday() < 5 else volume // 3
            n = max(0, n + rng.randint(-3, 3))
            for _ in range(n):
                minutes = rng.randint(8 * 60, 19 * 60)
                local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=tz)
                if local < demo.now:
                    yield agent, local


@seed_step("feedback history", order=20)
def feedback_history(demo: DemoOrg) -> None:
    org, rng = demo.organization, demo.rng
    if Interaction.objects.filter(organization=org, source=SOURCE).exists():
        return  # seeded before (a later run would draw other days: never add to it)
    items = []
    for n, (agent, occurred) in enumerate(_occurrences(demo)):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        ascii_first = first.lower().replace("é", "e").replace("á", "a")
        external_id = f"DEMO-H-{org.slug}-{n}"
        items.append(
            {
                "external_id": external_id,
                "channel": rng.choice(CHANNELS),
                "agent": {"email": agent.user.email},
                "customer": {
                    "name": f"{first} {last}",
                    "email": f"{ascii_first}.{rng.randrange(100000)}@customer.example",
                    "language": org.language if rng.random() < 0.8 else "en",
                },
                "occurred_at": occurred.isoformat(),
                "tags": rng.sample(TAGS, k=rng.randint(0, 2)),
                "properties": {"priority": rng.choice(["low", "normal", "normal", "high"])},
                "ticket_url": f"https://helpdesk.example/{org.slug}/tickets/{40000 + n}",
            }
        )
    result = interactions_ingest(org, items, source=SOURCE, history=True)
    created = [pk for pk, new in zip(result.pks, result.created_flags, strict=True) if new]
    if not created:
        return  # seeded before
    _surveys(demo, created)


def _surveys(demo: DemoOrg, interaction_ids: list[int]) -> None:
    """Mark most requests sent, answer about a third, and move the rollups once."""
    org, rng, now = demo.organization, demo.rng, demo.now
    requests = list(
        FeedbackRequest.objects.filter(
            organization_id=org.pk, interaction_id__in=interaction_ids, kind=RequestKind.INITIAL
        ).select_related("interaction")
    )
    expiry = timedelta(days=int(org_setting(org, "survey_expiry_days")))
    window = timedelta(minutes=int(org_setting(org, "finish_window_minutes")))
    positive = [str(q) for q in org_setting(org, "qualities_positive")]
    improvement = [str(q) for q in org_setting(org, "qualities_improvement")]
    threshold = int(org_setting(org, "reward_threshold"))
    # Each agent has a typical rating: dashboards and leaderboards show real differences.
    skill = {a.pk: rng.uniform(-1.2, 0.6) for a in demo.agents}
    deltas: dict = defaultdict(lambda: defaultdict(int))
    sent, answered, responses = [], [], []
    for fr in requests:
        i = fr.interaction
        if rng.random() >= SENT_RATE:
            continue
        sent_at = min(now, i.occurred_at + timedelta(minutes=rng.randint(2, 30)))
        key = (i.local_day, i.agent_id, i.team_id)
        deltas[key]["requests_sent"] += 1
        state = "expired" if sent_at + expiry <= now else "sent"
        if rng.random() < ANSWER_RATE:
            stars = max(1, min(5, round(rng.gauss(4.3 + skill[i.agent_id], 1.0))))
            at = min(now, sent_at + timedelta(minutes=rng.randint(3, 900)))
            finished = at + window <= now
            state = "finished" if finished else "answered"
            recent = (now - i.occurred_at).days < 4
            if stars >= 4:
                comment = rng.choice(PRAISE + [""] * 3)
            elif recent and rng.random() < 0.6:
                comment = rng.choice(TRENDING)
            else:
                comment = rng.choice(CRITICISM + [""])
            resolved = (
                (rng.random() < (0.88 if stars >= 4 else 0.3)) if rng.random() < 0.85 else None
            )
            nps = (
                max(0, min(10, round(rng.gauss(stars * 2 - 0.5, 1.5))))
                if rng.random() < 0.6
                else None
            )
            chips = positive if stars >= 4 else improvement
            responses.append(
                Response(
                    organization_id=org.pk,
                    request_id=fr.pk,
                    interaction_id=i.pk,
                    agent_id=i.agent_id,
                    team_id=i.team_id,
                    stars=stars,
                    comment=comment,
                    resolved=resolved,
                    nps=nps,
                    qualities=sorted(
                        rng.sample(chips, k=rng.randint(0, min(2, len(chips)))), key=chips.index
                    ),
                    reward_tier=rng.choice(["small", "medium", ""]) if stars >= threshold else "",
                    submitted_at=at,
                    updated_at=at + window if finished else at,
                    confirmed=True,
                    finished=finished,
                    finished_at=at + window if finished else None,
                )
            )
            answer = AnswerState(i.local_day, i.agent_id, i.team_id, stars, resolved, nps)
            for col, n in answer.contribution().items():
                deltas[key][col] += n
            answered.append(fr.pk)
        sent.append((fr.pk, sent_at, state))
    Response.objects.bulk_create(responses, batch_size=1000)
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE feedback_feedbackrequest r SET status = 'sent', survey_state = v.state,"
            " sent_at = v.sent_at, send_after = v.sent_at, expires_at = v.sent_at + %s,"
            " attempts = 1, updated_at = v.sent_at,"
            " token_hash = md5(random()::text) || md5(random()::text)"
            " FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[]) AS v(id, sent_at, state)"
            " WHERE r.organization_id = %s AND r.id = v.id",
            [expiry, [s[0] for s in sent], [s[1] for s in sent], [s[2] for s in sent], org.pk],
        )
    rollup_apply(org.pk, {k: dict(v) for k, v in deltas.items()})
    demo.log(
        f"  {org.slug}: {len(requests)} interactions of history, {len(sent)} surveys sent,"
        f" {len(answered)} answered"
    )
