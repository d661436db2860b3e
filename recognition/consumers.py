"""Recognition's outbox consumers (imported in every process by ``load_consumers``).

Recognition never imports coaching: it learns of coaching events by their type names
(see /work/notes/recognition-notes.md for the data each one carries).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from coachhub.core.outbox import consumer
from coachhub.tenancy.models import Membership
from feedback.models import Mode, RequestKind, Response

from .models import Badge
from .services import achievements, rewards
from .services.kudos import EVENT_KUDOS_GIVEN


def _member(event, key: str) -> Membership | None:
    member_id = event.data.get(key)
    if not isinstance(member_id, int) or isinstance(member_id, bool):
        return None
    return (
        Membership.objects.filter(organization_id=event.organization_id, pk=member_id)
        .select_related("organization", "user")
        .first()
    )


def _response(event) -> Response | None:
    return (
        Response.objects.filter(
            organization_id=event.organization_id, public_id=event.data.get("response")
        )
        .select_related(
            "organization", "interaction", "request", "agent__organization", "agent__user"
        )
        .first()
    )


@consumer("response.finished", "recognition.reward_vote")
def reward_vote(event) -> None:
    """A finished survey's reward recommendation counts once (RewardVote unique per response)."""
    if not event.data.get("reward_tier"):
        return
    response = _response(event)
    if response is not None:
        rewards.vote_count(response)


@consumer("response.finished", "recognition.rating_badges")
def rating_badges(event) -> None:
    data = event.data
    if data.get("mode") != Mode.LIVE or data.get("kind") != RequestKind.INITIAL:
        return
    response = _response(event)
    if response is None or response.excluded or response.stars is None:
        return
    achievements.rating_badges(response.agent, response.stars)


@consumer(EVENT_KUDOS_GIVEN, "recognition.first_kudos")
def first_kudos(event) -> None:
    member = _member(event, "recipient_id")
    if member is not None:
        achievements.award(member, Badge.FIRST_KUDOS)


@consumer("coaching.item_saved", "recognition.first_saved")
def first_saved(event) -> None:
    member = _member(event, "member_id")
    if member is not None:
        achievements.award(member, Badge.FIRST_SAVED)


def _parse(value):
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


@consumer("coaching.note_acknowledged", "recognition.quick_ack")
def quick_ack(event) -> None:
    """Acknowledged within a day of the note being written."""
    created = _parse(event.data.get("created_at"))
    acknowledged = _parse(event.data.get("acknowledged_at")) or event.created_at
    if created is None or acknowledged - created > timedelta(days=1):
        return
    member = _member(event, "agent_id")
    if member is not None:
        achievements.award(member, Badge.QUICK_ACK)


@consumer("coaching.goal_met", "recognition.goal_met")
def goal_met(event) -> None:
    member = _member(event, "agent_id")
    if member is not None:
        achievements.award(member, Badge.GOAL_MET)
