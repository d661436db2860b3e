"""QA's ``seed_demo`` step: a published scorecard, four weeks of reviews and one open dispute.

Reviews go through the same services as the pages (so scores follow qa.scoring), then their
submission time is moved back into the history. Answers lean on the customer's stars where the
interaction has a rating, so the correlation report has something to show. Nobody is notified:
seeded history must not e-mail anyone. Idempotent: the scorecard is found by name, agents who
already have reviews get no more, and the dispute is made only when the organization has none.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q

from coachhub.core.seed import DemoOrg, seed_step
from coachhub.tenancy.models import Membership
from feedback.models import Interaction, Mode, Response

from . import scoring
from .models import Dispute, Review, Scale, Scorecard
from .services import disputes as dispute_svc
from .services import reviews as review_svc
from .services import scorecards as card_svc
from .services.settings import qa_settings_update
from .settings import qa_setting

CARD_NAME = "Customer conversation"
REVIEWS_PER_AGENT = 3

SECTIONS = [
    (
        "Opening",
        [
            {
                "title": "Greets and verifies the customer",
                "description": "Uses their name; checks identity before any account details.",
                "scale": Scale.YES_NO,
                "weight": 10,
                "critical": True,
                "critical_effect": scoring.SECTION,
                "fail_at_or_below": 0,
            },
            {
                "title": "Tone and empathy",
                "description": "Warm, patient, acknowledges how the customer feels.",
                "scale": Scale.ONE_FIVE,
                "weight": 20,
            },
        ],
    ),
    (
        "Resolution",
        [
            {
                "title": "Understands the problem",
                "description": "Asks the right questions; restates the issue.",
                "scale": Scale.ONE_THREE,
                "weight": 20,
            },
            {
                "title": "Solves it in one contact",
                "description": "The fix is complete; no reason for the customer to come back.",
                "scale": Scale.ONE_FIVE,
                "weight": 40,
            },
            {
                "title": "Sets next steps",
                "description": "Says what happens next and when.",
                "scale": Scale.CUSTOM,
                "points": [
                    {"value": 2, "label": "Exceeds"},
                    {"value": 1, "label": "Meets"},
                    {"value": 0, "label": "Below"},
                ],
                "weight": 10,
                "agent_controllable": True,
            },
        ],
    ),
    (
        "Compliance",
        [
            {
                "title": "Protects personal data",
                "description": "Never reads out full card numbers or passwords.",
                "scale": Scale.YES_NO,
                "weight": 0,
                "na_allowed": False,
                "critical": True,
                "critical_effect": scoring.REVIEW,
                "fail_at_or_below": 0,
            },
        ],
    ),
]


def _scorecard(demo: DemoOrg) -> Scorecard:
    org = demo.organization
    card = Scorecard.objects.filter(organization=org, name=CARD_NAME).first()
    if card is None:
        card = card_svc.scorecard_create(
            organization=org,
            name=CARD_NAME,
            description="Every channel: how the conversation went, judged by a person.",
            created_by=demo.admin,
        )
        draft = card_svc.draft_of(card)
        for i, (title, criteria) in enumerate(SECTIONS):
            section = draft.sections.first() if i == 0 else card_svc.section_add(draft, title=title)
            if i == 0:
                card_svc.section_update(section, title=title)
            for fields in criteria:
                card_svc.criterion_add(section, **{"na_allowed": True, **fields})
    if card_svc.published_of(card) is None:
        card_svc.version_publish(card_svc.draft_of(card), member=demo.admin)
    return card


def _answers(demo: DemoOrg, criteria, stars: int | None) -> dict:
    rng = demo.rng
    quality = (stars - 1) / 4 if stars else rng.uniform(0.4, 1.0)
    data = {}
    for c in criteria:
        values = sorted(c.values)
        if c.critical_effect == scoring.REVIEW and c.critical:
            value = values[0] if rng.random() < 0.03 else values[-1]
        elif c.critical:
            value = values[0] if rng.random() < 0.06 else values[-1]
        elif c.na_allowed and rng.random() < 0.05:
            data[str(c.public_id)] = ("na", "")
            continue
        else:
            noisy = min(max(quality + rng.uniform(-0.3, 0.3), 0), 0.999)
            value = values[int(noisy * len(values))]
        data[str(c.public_id)] = (str(value), "")
    return data


def _reviewer_for(demo: DemoOrg, agent: Membership) -> Membership:
    leads = [s for s in demo.supervisors if agent.team_id in s.led_team_ids]
    return leads[0] if leads else demo.admin


@seed_step("qa reviews", order=50)
def qa_reviews(demo: DemoOrg) -> None:
    org = demo.organization
    rng = demo.rng
    card = _scorecard(demo)
    version = card_svc.published_of(card)
    criteria = list(version.criteria.all())
    if org.slug == "northwind" and "qa_blend_weight" not in (org.settings or {}):
        qa_settings_update(org, qa_blend_weight=30)  # customer-judged QA, as TechStyle does
    made = 0
    for agent in demo.agents:
        if Review.objects.filter(organization=org, agent=agent).exists():
            continue
        interactions = list(
            Interaction.objects.filter(organization=org, agent=agent, mode=Mode.LIVE)
            .filter(occurred_at__lte=demo.now - timedelta(hours=6))
            .order_by("-occurred_at")[:12]
        )
        rng.shuffle(interactions)
        for n, interaction in enumerate(interactions[:REVIEWS_PER_AGENT]):
            response = (
                Response.objects.filter(
                    organization=org, interaction=interaction, confirmed=True, excluded=False
                )
                .filter(~Q(stars=None))
                .first()
            )
            reviewer = _reviewer_for(demo, agent)
            review = review_svc.review_start(
                reviewer=reviewer,
                interaction=interaction,
                version=version,
                source="response" if response else "random",
            )
            data = {
                "answers": _answers(demo, criteria, response.stars if response else None),
                "overall_comment": rng.choice(
                    [
                        "Good call overall; keep the recap at the end.",
                        "Solid fix. Slow down a little when verifying.",
                        "Great empathy. Confirm next steps before closing.",
                        "",
                    ]
                ),
                "coaching_only": n == 2 and rng.random() < 0.3,
                "hide_reviewer": rng.random() < 0.2,
            }
            review_svc.review_submit(review, data, notify_agent=False)
            # Back into the history: a day or so after the interaction.
            submitted = min(interaction.occurred_at + timedelta(hours=rng.uniform(3, 30)), demo.now)
            Review.objects.filter(organization=org, pk=review.pk).update(
                submitted_at=submitted, created_at=submitted, updated_at=submitted
            )
            review.events.update(created_at=submitted)
            made += 1
    if made:
        demo.log(f"    {made} QA reviews")
    _open_dispute(demo, version)


def _open_dispute(demo: DemoOrg, version) -> None:
    org = demo.organization
    if Dispute.objects.filter(organization=org).exists():
        return
    window = timedelta(days=int(qa_setting(org, "qa_dispute_window_days")))
    review = (
        Review.objects.filter(
            organization=org,
            status="submitted",
            coaching_only=False,
            submitted_at__gte=demo.now - window + timedelta(days=1),
        )
        .select_related("agent", "version")
        .order_by("score", "-submitted_at")
        .first()
    )
    if review is None:
        return
    criterion = (
        review.answers.filter(na=False)
        .select_related("criterion")
        .order_by("percent", "criterion__position")
        .first()
        .criterion
    )
    dispute_svc.dispute_open(
        review,
        agent=review.agent,
        reason="The customer had already tried the fix before calling; I followed the "
        "article we were given. Please listen again from minute 4.",
        whole_review=False,
        criteria=[criterion],
        quiet=True,
    )
    demo.log(f"    1 open QA dispute ({review.agent.display_name})")
