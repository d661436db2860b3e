"""seed_demo's recognition step: kudos, earned rewards, populated leaderboards, achievements;
idempotent."""

import io

import pytest
from django.core.management import call_command

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Organization
from recognition import selectors
from recognition.models import (
    Achievement,
    EarnedReward,
    Kudos,
    KudosBehaviour,
    RewardVote,
    TVLink,
)


def counts():
    out = {}
    for org in Organization.objects.filter(slug__in=["northwind", "tailspin"]):
        with tenant_context(org):
            out[org.slug] = (
                Kudos.objects.filter(organization=org).count(),
                RewardVote.objects.filter(organization=org).count(),
                EarnedReward.objects.filter(organization=org).count(),
                Achievement.objects.filter(organization=org).count(),
                TVLink.objects.filter(organization=org).count(),
                KudosBehaviour.objects.filter(organization=org).count(),
            )
    return out


@pytest.mark.django_db
def test_seed_demo_has_kudos_rewards_leaderboards_and_achievements(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "recognition" in out.getvalue()
    first = counts()
    for slug, (kudos, votes, earned, badges, links, _behaviours) in first.items():
        assert kudos >= 5 and votes >= 3 and earned >= 2 and badges >= 5 and links == 1, slug
        org = Organization.objects.get(slug=slug)
        with tenant_context(org):
            # The behaviour list an admin keeps: defaults, one of their own, one retired.
            offered = selectors.behaviours(org)
            assert "Empathy" in offered and "Calm under pressure" in offered, slug
            assert "Upsold a plan" not in offered
            assert [b.name for b in selectors.kudos_behaviours(org) if not b.is_active] == [
                "Upsold a plan"
            ]
            assert set(
                Kudos.objects.filter(organization=org).values_list("behaviour", flat=True)
            ) <= set(offered)
            lb = selectors.leaderboard(org, metric="stars", period="month")
            assert len(lb.board.ranked) >= 3, slug
            assert EarnedReward.objects.filter(organization=org, status="fulfilled").count() == 1
            from coachhub.core.models import Notification

            assert not Notification.objects.filter(
                organization=org, kind__in=["achievement", "reward_earned", "kudos"]
            ).exists()
    call_command("seed_demo", stdout=io.StringIO())
    assert counts() == first
