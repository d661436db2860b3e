"""Recognition's ``seed_demo`` step: the kudos behaviour list (with one of the organization's own
and one retired), a reward catalogue, kudos from supervisors and peers (one
agent prefers private recognition), customer votes counted from the seeded finished surveys
(so a few rewards are earned, one approved, one fulfilled), achievements from the seeded
history, leaderboards turned on for agents, and one TV link.

Nobody is notified (seeded history must not e-mail anyone). Idempotent: catalogue items by
name, votes by their unique response, badges by their unique (agent, badge), kudos and the TV
link only when the organization has none.
"""

from __future__ import annotations

from datetime import timedelta

from coachhub.core.seed import DemoOrg, seed_step
from coachhub.tenancy.models import AgentProfile, RecognitionPreference
from feedback.models import Response

from .models import EarnedReward, Kudos, KudosBehaviour, RewardItem, RewardStatus, TVLink
from .services import achievements, rewards
from .services.behaviours import recognition_defaults
from .services.tv import tv_link_create
from .settings import recognition_setting

CATALOGUE = {
    "small": ["Coffee voucher", "Choose the team playlist"],
    "medium": ["Lunch with your manager", "Cinema tickets for two"],
    "large": ["An extra day off", "Conference ticket"],
}
SEED_BEHAVIOURS = [
    ("Calm under pressure", "Kept a heated conversation steady and kind.", True),
    ("Upsold a plan", "Retired: we recognise service, not sales.", False),
]
KUDOS = [
    ("Empathy", "You stayed calm and kind with a customer who was shouting, and turned it around."),
    ("Ownership", "You followed that refund through three teams until it landed. Thank you."),
    ("Product knowledge", "Your explanation of the new plan was clearer than our help article."),
    ("Teamwork", "Thanks for covering the queue while I was in training."),
    ("Solved it first time", "One call, fully fixed, and the customer said so in the survey."),
    (
        "Went the extra mile",
        "You called the customer back to check it worked. That is the standard.",
    ),
]


@seed_step("recognition", order=60)
def recognition_demo(demo: DemoOrg) -> None:
    org = demo.organization
    rng = demo.rng
    now = demo.now
    # The demo has ~6 ratings per agent a month: a small minimum keeps the board meaningful.
    defaults = {
        "leaderboard_min_n": 3,
        "leaderboard_prior_weight": 10,
        "leaderboard_agents_enabled": True,
        "leaderboard_agents_top_n": 3 if org.slug != "northwind" else 0,
    }
    missing = {k: v for k, v in defaults.items() if k not in (org.settings or {})}
    if missing:
        org.settings = {**(org.settings or {}), **missing}
        org.save(update_fields=["settings"])

    # The kudos behaviour list as an admin keeps it: the defaults, one of the organization's own
    # with a description, and one retired (listed, no longer offered).
    recognition_defaults(org)
    for name, description, active in SEED_BEHAVIOURS:
        KudosBehaviour.objects.get_or_create(
            organization=org,
            name=name,
            defaults={"description": description, "is_active": active, "position": 50},
        )

    for tier, names in CATALOGUE.items():
        for name in names:
            RewardItem.objects.get_or_create(organization=org, tier=tier, name=name)

    # One agent prefers private recognition: their kudos stay off the wall and the TV.
    if demo.agents:
        private = demo.agents[-1]
        AgentProfile.objects.filter(organization=org, membership=private).update(
            recognition_preference=RecognitionPreference.PRIVATE,
            motivators="A quiet thank-you means more to me than a shout-out.",
        )

    if not Kudos.objects.filter(organization=org).exists():
        for i, agent in enumerate(demo.agents):
            leads = [s for s in demo.supervisors if agent.team_id in s.led_team_ids] or [demo.admin]
            peers = [a for a in demo.agents if a.pk != agent.pk]
            for j in range(1 + (i % 3)):
                giver = leads[0] if j % 2 == 0 or not peers else rng.choice(peers)
                behaviour, message = KUDOS[(i + j) % len(KUDOS)]
                Kudos.objects.create(
                    organization=org,
                    giver=giver,
                    recipient=agent,
                    from_supervisor=not giver.is_agent,
                    behaviour=behaviour,
                    message=message,
                    created_at=now - timedelta(days=rng.uniform(0.1, 20)),
                )

    # Customer votes from the seeded finished surveys (each counts once: unique per response).
    finished = (
        Response.objects.filter(organization=org, finished=True)
        .exclude(reward_tier="")
        .select_related("organization", "interaction", "request", "agent__organization")
        .order_by("finished_at")
    )
    for response in finished:
        rewards.vote_count(response, now=response.finished_at, announce=False)
    earned = list(EarnedReward.objects.filter(organization=org).order_by("earned_at"))
    waiting = [e for e in earned if e.status == RewardStatus.EARNED]
    if len(waiting) == len(earned) and len(earned) >= 3 and demo.admin:
        for e, status in zip(
            earned[:2], (RewardStatus.FULFILLED, RewardStatus.APPROVED), strict=False
        ):
            item = RewardItem.objects.filter(organization=org, tier=e.tier).first()
            e.item = item
            e.status = status
            e.approved_by = demo.admin
            e.approved_at = e.earned_at + timedelta(hours=20)
            if status == RewardStatus.FULFILLED:
                e.fulfilled_by = demo.admin
                e.fulfilled_at = e.earned_at + timedelta(days=2)
                e.note = "Handed over at the team huddle."
            e.save()

    # Achievements from the seeded history (no announcements).
    for agent in demo.agents:
        has_five = Response.objects.filter(
            organization=org, agent=agent, finished=True, stars=5
        ).exists()
        achievements.rating_badges(agent, 5 if has_five else None, now=now, announce=False)
        if Kudos.objects.filter(organization=org, recipient=agent).exists():
            achievements.award(agent, "first_kudos", now=now, announce=False)

    if demo.admin and not TVLink.objects.filter(organization=org).exists():
        team = next(iter(demo.teams.values()), None)
        _link, secret = tv_link_create(
            demo.admin, name=f"{team.name} floor" if team else "Floor", team=team, period="month"
        )
        demo.log(
            f"  TV screen: /tv/{secret}/  (min n {recognition_setting(org, 'leaderboard_min_n')})"
        )
