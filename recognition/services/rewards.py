"""Customer-voted rewards: votes counted once per finished response, per-agent per-tier
counters, rewards earned at the tier's threshold, then picked, approved and fulfilled by an
admin."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from coachhub.core.notifications import notify
from coachhub.tenancy.models import Membership, TeamLead
from feedback.models import Mode, RequestKind, Response
from feedback.settings import org_setting

from ..models import EarnedReward, RewardCounter, RewardItem, RewardStatus, RewardVote, Tier
from ..settings import TIERS, tier_threshold


class RewardInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def vote_counts(response: Response) -> bool:
    """Whether a finished response's reward recommendation counts (read from the row, the
    truth): finished, live, the initial survey, not excluded, stars still at or above the
    survey's reward threshold, and a known tier."""
    return bool(
        response.finished
        and not response.excluded
        and response.reward_tier in TIERS
        and response.stars is not None
        and response.stars >= int(org_setting(response.organization, "reward_threshold"))
        and response.interaction.mode == Mode.LIVE
        and response.request.kind == RequestKind.INITIAL
    )


@transaction.atomic
def vote_count(response: Response, now=None, *, announce: bool = True) -> EarnedReward | None:
    """Count the response's vote exactly once (RewardVote is unique per response); when the
    agent's count for the tier reaches the threshold, earn a reward and restart the count."""
    if not vote_counts(response):
        return None
    now = now or timezone.now()
    org_id = response.organization_id
    tier = response.reward_tier
    try:
        with transaction.atomic():
            RewardVote.objects.create(
                organization_id=org_id,
                response=response,
                agent_id=response.agent_id,
                tier=tier,
                counted_at=now,
            )
    except IntegrityError:
        return None  # counted before (a redelivered event)
    RewardCounter.objects.get_or_create(
        organization_id=org_id, agent_id=response.agent_id, tier=tier
    )
    counter = RewardCounter.objects.select_for_update().get(
        organization_id=org_id, agent_id=response.agent_id, tier=tier
    )
    threshold = tier_threshold(response.organization, tier)
    counter.votes += 1
    earned = None
    if counter.votes >= threshold:
        counter.votes = 0
        earned = EarnedReward.objects.create(
            organization_id=org_id,
            agent_id=response.agent_id,
            tier=tier,
            votes=threshold,
            earned_at=now,
        )
    counter.save(update_fields=["votes"])
    if earned is not None and announce:
        _announce(earned)
    return earned


def supervisors_of(agent: Membership) -> list[Membership]:
    if agent.team_id is None:
        return []
    return [
        lead.membership
        for lead in TeamLead.objects.filter(
            organization_id=agent.organization_id, team_id=agent.team_id, membership__is_active=True
        ).select_related("membership__user")
    ]


def _announce(earned: EarnedReward) -> None:
    agent = earned.agent
    slug = agent.organization.slug
    label = Tier(earned.tier).label.lower()
    notify(
        agent,
        "reward_earned",
        f"Customers voted you a {label} reward",
        body=f"{earned.votes} customer vote(s). An admin will pick it from the catalogue.",
        url=reverse("recognition:mine", kwargs={"org": slug}),
    )
    for sup in supervisors_of(agent):
        notify(
            sup,
            "reward_earned",
            f"{agent.display_name} earned a {label} reward",
            body=f"{earned.votes} customer vote(s).",
            url=reverse("recognition:rewards", kwargs={"org": slug}),
        )


@transaction.atomic
def reward_approve(
    admin: Membership, earned: EarnedReward, item: RewardItem | None, note: str = ""
) -> None:
    if earned.status != RewardStatus.EARNED:
        raise RewardInvalid({"status": "Only a reward waiting for an admin can be approved."})
    if item is None or item.tier != earned.tier or not item.is_active:
        tier = earned.get_tier_display().lower()
        raise RewardInvalid({"item": f"Choose an active {tier} reward from the catalogue."})
    earned.item = item
    earned.status = RewardStatus.APPROVED
    earned.approved_by = admin
    earned.approved_at = timezone.now()
    earned.note = (note or "").strip()[:500] or earned.note
    earned.save()
    notify(
        earned.agent,
        "reward_approved",
        f"Your {earned.get_tier_display().lower()} reward: {item.name}",
        body=earned.note,
        url=reverse("recognition:mine", kwargs={"org": admin.organization.slug}),
    )


@transaction.atomic
def reward_fulfil(admin: Membership, earned: EarnedReward, note: str) -> None:
    if earned.status != RewardStatus.APPROVED:
        raise RewardInvalid({"status": "Approve the reward before marking it fulfilled."})
    note = (note or "").strip()
    if not note:
        raise RewardInvalid({"note": "Say how it was fulfilled."})
    earned.status = RewardStatus.FULFILLED
    earned.fulfilled_by = admin
    earned.fulfilled_at = timezone.now()
    earned.note = note[:500]
    earned.save()


@transaction.atomic
def item_add(organization, *, tier: str, name: str, description: str = "") -> RewardItem:
    errors = {}
    name = (name or "").strip()
    if tier not in TIERS:
        errors["tier"] = "Choose small, medium or large."
    if not name:
        errors["name"] = "Name the reward."
    elif RewardItem.objects.filter(organization_id=organization.pk, tier=tier, name=name).exists():
        errors["name"] = "That reward is already in the catalogue."
    if errors:
        raise RewardInvalid(errors)
    return RewardItem.objects.create(
        organization_id=organization.pk,
        tier=tier,
        name=name[:120],
        description=(description or "")[:300],
    )


def item_toggle(item: RewardItem) -> None:
    RewardItem.objects.filter(organization_id=item.organization_id, pk=item.pk).update(
        is_active=not item.is_active
    )
