"""Demo surveys for ``seed_demo``: four weeks of sent feedback requests and answers (stars,
comments, qualities, FCR, rewards), so the demo shows real customer feedback.

Consistent with the lifecycle: each interaction is ingested (as history, so nothing is
e-mailed), then its request is marked sent at the time it would have been, and about 40 % of
them are answered and finished (or still open, if answered within the finish window), the rest
expired or still waiting. Rollups move through the same functions the live paths use. No
events are recorded: seeded history must not trigger alerts or webhooks.

Idempotent: external ids are deterministic; a re-run finds them as duplicates and changes nothing.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from coachhub.core.seed import DemoOrg, seed_step
from coachhub.tenancy.models import sha256_hex

from .models import FeedbackRequest, RequestStatus, Response, SurveyState
from .services import rollups
from .services.ingest import interactions_ingest
from .settings import org_setting

CUSTOMERS = [
    ("Lee Park", "en"),
    ("Maria García", "es"),
    ("Sam O'Neill", "en"),
    ("Aisha Khan", "en"),
    ("Jorge Ruiz", "es"),
    ("Emma Wilson", "en"),
    ("Tomás Silva", "es"),
    ("Noah Brown", "en"),
    ("Chloé Martin", "en"),
    ("Yuki Tanaka", "en"),
]
CHANNELS = ["email", "chat", "phone", "chat", "email"]
POSITIVE = [
    "Solved it in one go, thank you!",
    "Really patient with me, explained every step.",
    "Fast and friendly. Best support I've had this year.",
    "Went above and beyond to get my refund sorted.",
    "Clear answer, no runaround.",
    "Muy amable y resolvió todo en una llamada.",
    "",
    "",
]
NEGATIVE = [
    "I had to explain my problem three times.",
    "Still waiting for the refund I was promised.",
    "The answer didn't match my question.",
    "Took over an hour to get a reply.",
    "Me pasaron de un agente a otro sin solución.",
    "",
]
STARS = [5] * 45 + [4] * 25 + [3] * 12 + [2] * 10 + [1] * 8
PER_AGENT = 14
ANSWER_RATE = 0.4


@seed_step("feedback surveys", order=30)
def feedback_surveys(demo: DemoOrg) -> None:
    org = demo.organization
    rng = demo.rng
    now = demo.now
    items = []
    for agent in demo.agents:
        for i in range(PER_AGENT):
            name, language = CUSTOMERS[rng.randrange(len(CUSTOMERS))]
            occurred = now - timedelta(days=rng.uniform(0.05, 27.5))
            first = name.split()[0].lower().replace("é", "e").replace("á", "a")
            items.append(
                {
                    # The random end of the agent's id (a v7 id begins with its creation time).
                    "external_id": f"DEMO-S-{agent.public_id.hex[-12:]}-{i}",
                    "channel": CHANNELS[rng.randrange(len(CHANNELS))],
                    "agent": {"email": agent.user.email},
                    "customer": {
                        "name": name,
                        "email": f"{first}.{rng.randrange(1000)}@customer.example",
                        "language": language,
                    },
                    "occurred_at": occurred.isoformat(),
                }
            )
    result = interactions_ingest(org, items, source="demo", history=True)
    new_ids = [pk for pk, created in zip(result.pks, result.created_flags, strict=True) if created]
    if not new_ids:
        return  # seeded before
    requests = list(
        FeedbackRequest.objects.filter(organization_id=org.pk, interaction_id__in=new_ids)
        .select_related("interaction")
        .order_by("interaction__occurred_at")
    )
    window = timedelta(minutes=int(org_setting(org, "finish_window_minutes")))
    expiry = timedelta(days=int(org_setting(org, "survey_expiry_days")))
    positive = [str(q) for q in org_setting(org, "qualities_positive")]
    improvement = [str(q) for q in org_setting(org, "qualities_improvement")]
    threshold = int(org_setting(org, "reward_threshold"))
    answered = 0
    for fr in requests:
        interaction = fr.interaction
        sent_at = interaction.occurred_at + timedelta(minutes=rng.randint(1, 20))
        if sent_at > now:
            sent_at = now
        fr.status = RequestStatus.SENT
        fr.sent_at = sent_at
        fr.send_after = sent_at
        fr.expires_at = sent_at + expiry
        fr.attempts = 1
        fr.token_hash = sha256_hex(secrets.token_urlsafe(32))  # its e-mail is long gone
        fr.updated_at = sent_at
        rollups.request_sent_rollup(fr, interaction=interaction)
        if rng.random() >= ANSWER_RATE:
            fr.survey_state = SurveyState.EXPIRED if fr.expires_at <= now else SurveyState.SENT
            fr.save()
            continue
        answered += 1
        stars = STARS[rng.randrange(len(STARS))]
        at = min(now, sent_at + timedelta(minutes=rng.randint(2, 600)))
        finished = at + window <= now
        chips = positive if stars >= 4 else improvement
        response = Response(
            organization_id=org.pk,
            request=fr,
            interaction=interaction,
            agent_id=interaction.agent_id,
            team_id=interaction.team_id,
            stars=stars,
            comment=rng.choice(POSITIVE if stars >= 4 else NEGATIVE),
            resolved=(rng.random() < (0.9 if stars >= 4 else 0.35))
            if rng.random() < 0.85
            else None,
            qualities=sorted(
                rng.sample(chips, k=rng.randint(0, min(2, len(chips)))), key=chips.index
            ),
            reward_tier=rng.choice(["small", "medium", "large", ""]) if stars >= threshold else "",
            submitted_at=at,
            updated_at=at + window if finished else at,
            confirmed=True,
            finished=finished,
            finished_at=at + window if finished else None,
        )
        response.save()
        fr.survey_state = SurveyState.FINISHED if finished else SurveyState.ANSWERED
        fr.save()
        rollups.response_rollup_change(
            org.pk,
            None,
            rollups.answer_state_of(response, interaction=interaction, request_kind=fr.kind),
        )
    demo.log(f"  {org.slug}: {len(requests)} surveys sent, {answered} answered")
