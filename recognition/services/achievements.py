"""Achievements: badges for activity and growth (never for a raw score alone), each awarded
exactly once per agent (unique constraint) by outbox consumers, announced in-app."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from coachhub.core.notifications import notify
from coachhub.tenancy.models import Membership
from feedback.models import DailyRollup

from ..models import Achievement, Badge

RATING_BADGES = ((10, Badge.RATINGS_10), (100, Badge.RATINGS_100), (1000, Badge.RATINGS_1000))
IMPROVED_BY = 0.3
IMPROVED_MIN_N = 10  # ratings in each 30-day window before "improved" means anything
STREAK_DAYS = 5


def award(member: Membership, badge: str, now=None, *, announce: bool = True) -> bool:
    """Award ``badge`` once; True when it is new (then the member is notified unless
    ``announce`` is off: seeded history notifies nobody)."""
    try:
        with transaction.atomic():
            Achievement.objects.create(
                organization_id=member.organization_id,
                member=member,
                badge=badge,
                earned_at=now or timezone.now(),
            )
    except IntegrityError:
        return False
    if not announce:
        return True
    notify(
        member,
        "achievement",
        f"New badge: {Badge(badge).label}",
        url=reverse("recognition:mine", kwargs={"org": member.organization.slug}),
    )
    return True


def _days(agent: Membership, first, last) -> dict:
    rows = (
        DailyRollup.objects.filter(
            organization_id=agent.organization_id, agent=agent, day__gte=first, day__lte=last
        )
        .values("day")
        .annotate(
            n=Sum("stars_count"),
            total=Sum("stars_sum"),
            low=Sum("stars_1") + Sum("stars_2") + Sum("stars_3"),
        )
    )
    return {r["day"]: r for r in rows}


def has_streak(days: dict, first, last, length: int = STREAK_DAYS) -> bool:
    """``length`` consecutive days, each with a rating and none below 4 stars."""
    run = 0
    day = first
    while day <= last:
        r = days.get(day)
        run = run + 1 if r and r["n"] and not r["low"] else 0
        if run >= length:
            return True
        day += timedelta(days=1)
    return False


def improved(days: dict, today) -> bool:
    def window(lo, hi):
        n = sum(r["n"] or 0 for d, r in days.items() if lo <= d <= hi)
        total = sum(r["total"] or 0 for d, r in days.items() if lo <= d <= hi)
        return n, (total / n if n else None)

    n_new, new = window(today - timedelta(days=29), today)
    n_old, old = window(today - timedelta(days=59), today - timedelta(days=30))
    return n_new >= IMPROVED_MIN_N and n_old >= IMPROVED_MIN_N and new - old >= IMPROVED_BY - 1e-9


def rating_badges(
    agent: Membership, stars: int | None, now=None, *, announce: bool = True
) -> list[str]:
    """After a finished rating: first five-star, 10/100/1,000 ratings, a 5-day streak with no
    rating below 4, the 30-day average up by 0.3 stars. Reads DailyRollup only."""
    now = now or timezone.now()
    earned = []
    if stars == 5 and award(agent, Badge.FIRST_FIVE_STAR, now, announce=announce):
        earned.append(Badge.FIRST_FIVE_STAR)
    total = (
        DailyRollup.objects.filter(organization_id=agent.organization_id, agent=agent).aggregate(
            n=Sum("stars_count")
        )["n"]
        or 0
    )
    for threshold, badge in RATING_BADGES:
        if total >= threshold and award(agent, badge, now, announce=announce):
            earned.append(badge)
    today = now.astimezone(agent.organization.tz).date()
    days = _days(agent, today - timedelta(days=59), today)
    if has_streak(days, today - timedelta(days=59), today) and award(
        agent, Badge.STREAK_5, now, announce=announce
    ):
        earned.append(Badge.STREAK_5)
    if improved(days, today) and award(agent, Badge.IMPROVED, now, announce=announce):
        earned.append(Badge.IMPROVED)
    return earned
