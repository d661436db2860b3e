"""Reads of coaching, narrowed by role. Missing and not-yours are the same 404."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from coachhub.tenancy.models import Membership, Role

from .models import (
    Alert,
    AlertRule,
    ChannelDelivery,
    CoachingNote,
    FocusBehaviour,
    FollowUp,
    NoteKind,
    SavedItem,
)

PRAISE_TARGET = 5  # praise : developmental, 5:1


def _get(qs: QuerySet, public_id):
    try:
        return qs.get(public_id=public_id)
    except (qs.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404("No such page") from exc


# --- alerts ------------------------------------------------------------------------------------


def alerts_visible_to(member: Membership) -> QuerySet[Alert]:
    qs = Alert.objects.filter(organization_id=member.organization_id)
    if member.is_admin:
        return qs
    if member.is_supervisor:
        return qs.filter(team_id__in=member.led_team_ids)
    return qs.none()


def alert_inbox(member: Membership, state: str, limit: int = 100) -> list[Alert]:
    return list(
        alerts_visible_to(member)
        .filter(state=state)
        .select_related("rule", "agent__user", "interaction", "response", "team")
        .order_by("-created_at")[:limit]
    )


def alert_counts(member: Membership) -> dict[str, int]:
    rows = alerts_visible_to(member).values("state").annotate(n=Count("id"))
    return {r["state"]: r["n"] for r in rows}


def get_alert_for(member: Membership, public_id) -> Alert:
    return _get(
        alerts_visible_to(member).select_related(
            "rule",
            "agent__user",
            "interaction",
            "response",
            "team",
            "acknowledged_by__user",
            "resolved_by__user",
        ),
        public_id,
    )


def rules_of(organization) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(organization_id=organization.pk).select_related("team")


def deliveries_log(organization, limit: int = 50) -> list[ChannelDelivery]:
    return list(
        ChannelDelivery.objects.filter(organization_id=organization.pk)
        .prefetch_related("attempt_log")
        .order_by("-created_at")[:limit]
    )


# --- notes -------------------------------------------------------------------------------------


def notes_visible_to(member: Membership) -> QuerySet[CoachingNote]:
    qs = CoachingNote.objects.filter(organization_id=member.organization_id)
    if member.is_admin:
        return qs
    if member.is_supervisor:
        return qs.filter(Q(author=member) | Q(agent__team_id__in=member.led_team_ids))
    return qs.filter(agent=member)


def get_note_for(member: Membership, public_id) -> CoachingNote:
    return _get(
        notes_visible_to(member).select_related(
            "author__user", "agent__user", "behaviour", "interaction", "response", "alert"
        ),
        public_id,
    )


def notes_list(member: Membership, limit: int = 100) -> list[CoachingNote]:
    return list(
        notes_visible_to(member)
        .select_related("author__user", "agent__user", "behaviour", "interaction")
        .order_by("-created_at")[:limit]
    )


def behaviours_of(organization, active_only: bool = True) -> QuerySet[FocusBehaviour]:
    qs = FocusBehaviour.objects.filter(organization_id=organization.pk)
    return qs.filter(is_active=True) if active_only else qs


def follow_ups_for(member: Membership, now=None) -> list[FollowUp]:
    """Open follow-ups of the supervisor that are due (the reminder inbox)."""
    now = now or timezone.now()
    return list(
        FollowUp.objects.filter(
            organization_id=member.organization_id,
            supervisor=member,
            done_at__isnull=True,
            due_at__lte=now,
        )
        .select_related("note__agent__user", "note__behaviour")
        .order_by("due_at")
    )


def get_follow_up_for(member: Membership, public_id) -> FollowUp:
    qs = FollowUp.objects.filter(organization_id=member.organization_id)
    if not member.is_admin:
        qs = qs.filter(supervisor=member)
    return _get(qs, public_id)


def praise_ratio(member: Membership, now=None) -> dict:
    """The supervisor's praise : developmental over 30 days against the 5:1 target. Praise is
    praise notes plus kudos given (read through recognition's selectors)."""
    now = now or timezone.now()
    counts = (
        CoachingNote.objects.filter(
            organization_id=member.organization_id,
            author=member,
            created_at__gte=now - timedelta(days=30),
        )
        .values("kind")
        .annotate(n=Count("id"))
    )
    by_kind = {r["kind"]: r["n"] for r in counts}
    from recognition.selectors import kudos_given_count

    kudos = kudos_given_count(member, now - timedelta(days=30), now)
    praise = by_kind.get(NoteKind.PRAISE, 0) + kudos
    dev = by_kind.get(NoteKind.DEVELOPMENTAL, 0)
    ratio = praise / dev if dev else None
    return {
        "praise": praise,
        "kudos": kudos,
        "developmental": dev,
        "ratio": ratio,
        "target": PRAISE_TARGET,
        "on_target": (dev == 0 and praise > 0) or (ratio is not None and ratio >= PRAISE_TARGET),
    }


def uncoached_agents(member: Membership, now=None, days: int = 7) -> list[Membership]:
    """Active agents of the teams the member leads (admins: all) with no note in ``days``."""
    now = now or timezone.now()
    agents = Membership.objects.filter(
        organization_id=member.organization_id, role=Role.AGENT, is_active=True
    )
    if not member.is_admin:
        agents = agents.filter(team_id__in=member.led_team_ids)
    recent = CoachingNote.objects.filter(
        organization_id=member.organization_id,
        agent_id=OuterRef("pk"),
        created_at__gte=now - timedelta(days=days),
    )
    return list(
        agents.annotate(coached=Exists(recent))
        .filter(coached=False)
        .select_related("user")
        .order_by("user__first_name")
    )


# --- saved for 1:1 -------------------------------------------------------------------------------


SAVED_RELATED = (
    "response__interaction",
    "note__behaviour",
    "note__author__user",
    "review__version__scorecard",
    "review__interaction",
)


def saved_for(member: Membership) -> list[SavedItem]:
    return list(
        SavedItem.objects.filter(organization_id=member.organization_id, member=member)
        .select_related(*SAVED_RELATED)
        .order_by("-created_at")
    )


def with_visible_reviews(items: list, viewer: Membership, organization) -> list:
    """Saved or session items as ``viewer`` may see them: an item holding a QA review stays only
    when qa's rules let the viewer see that (submitted) review; its ``review`` is then qa's row
    with the final score annotated, and ``reviewer_name`` is None when qa hides the reviewer
    from this viewer. Items without a review pass through."""
    from qa import selectors as qa_sel
    from qa.models import ReviewStatus

    ids = {i.review_id for i in items if i.review_id}
    visible = {}
    if ids:
        qs = (
            qa_sel.reviews_visible_to(viewer)
            .filter(pk__in=ids, status=ReviewStatus.SUBMITTED)
            .select_related("version__scorecard", "interaction", "reviewer__user")
        )
        visible = {r.pk: r for r in qa_sel.with_final_score(qs, organization)}
    out = []
    for item in items:
        if item.review_id:
            review = visible.get(item.review_id)
            if review is None:
                continue
            item.review = review
            item.reviewer_name = (
                review.reviewer.display_name if qa_sel.reviewer_visible(review, viewer) else None
            )
        out.append(item)
    return out


def saved_review_ids(member: Membership, review_ids) -> set[int]:
    return set(
        SavedItem.objects.filter(
            organization_id=member.organization_id, member=member, review_id__in=review_ids
        ).values_list("review_id", flat=True)
    )


def saved_response_ids(member: Membership, response_ids) -> set[int]:
    return set(
        SavedItem.objects.filter(
            organization_id=member.organization_id, member=member, response_id__in=response_ids
        ).values_list("response_id", flat=True)
    )
