"""Kudos (preference honoured on the wall, the agent page, the API and the TV), customer-voted
rewards (tier thresholds, exactly-once votes), achievements, TV links, cross-role."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coachhub.accounts.services import api_key_create
from coachhub.core.models import Notification
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AgentProfile, RecognitionPreference
from recognition import selectors
from recognition.models import Achievement, Badge, EarnedReward, Kudos, RewardCounter, RewardVote
from recognition.services import rewards as reward_svc
from recognition.services.kudos import KudosInvalid, kudos_give
from recognition.services.tv import tv_link_create, tv_link_revoke

from .recognition_helpers import answered, change, run_outbox

pytestmark = pytest.mark.django_db


def url(org, name, **kw):
    return reverse(f"recognition:{name}", kwargs={"org": org.slug, **kw})


def set_private(member):
    with tenant_context(member.organization):
        AgentProfile.objects.update_or_create(
            organization=member.organization,
            membership=member,
            defaults={"recognition_preference": RecognitionPreference.PRIVATE},
        )
    member.__dict__.pop("profile", None)


def give(giver, recipient, message="Calm with an angry caller", behaviour="Empathy"):
    with tenant_context(giver.organization):
        return kudos_give(giver, recipient, behaviour=behaviour, message=message)


# --- kudos -------------------------------------------------------------------------------------


def test_supervisor_gives_kudos_agent_is_notified_and_it_counts_as_praise(cast):
    k = give(cast.sam, cast.ann)
    assert k.from_supervisor
    with tenant_context(cast.org_a):
        assert Notification.objects.filter(recipient=cast.ann, kind="kudos").exists()
        from datetime import timedelta

        from django.utils import timezone

        now = timezone.now()
        assert (
            selectors.kudos_given_count(
                cast.sam, now - timedelta(days=1), now + timedelta(seconds=1)
            )
            == 1
        )
        assert selectors.kudos_given_count(cast.ann, now - timedelta(days=1), now) == 0


def test_peer_kudos_do_not_count_as_praise_and_rules_name_the_field(cast):
    k = give(cast.andy, cast.ann)
    assert not k.from_supervisor
    with tenant_context(cast.org_a), pytest.raises(KudosInvalid) as exc:
        kudos_give(cast.ann, cast.ann, behaviour="Nope", message="")
    assert set(exc.value.errors) == {"recipient", "behaviour", "message"}
    # a supervisor cannot give to an agent outside the teams they lead
    with tenant_context(cast.org_a), pytest.raises(KudosInvalid) as exc:
        kudos_give(cast.sam, cast.zoe, behaviour="Empathy", message="x")
    assert set(exc.value.errors) == {"recipient"}


def test_give_kudos_page_posts_and_bad_input_names_the_field(cast, client_for):
    c = client_for(cast.sam)
    assert c.get(url(cast.org_a, "kudos_new")).status_code == 200
    r = c.post(
        url(cast.org_a, "kudos_new"),
        {"recipient": str(cast.ann.public_id), "behaviour": "Empathy", "message": ""},
    )
    assert (
        r.status_code == 400
        and "Say what they did" in r.content.decode()
        or "required" in r.content.decode()
    )
    r = c.post(
        url(cast.org_a, "kudos_new"),
        {
            "recipient": str(cast.ann.public_id),
            "behaviour": "Empathy",
            "message": "Great <b>save</b>",
        },
    )
    assert r.status_code == 302
    with tenant_context(cast.org_a):
        assert Kudos.objects.get().message == "Great <b>save</b>"
    page = c.get(url(cast.org_a, "wall")).content.decode()
    assert "Great &lt;b&gt;save&lt;/b&gt;" in page  # customer/user text is escaped


def test_private_preference_hides_kudos_from_wall_api_and_peers_but_not_agent_or_supervisor(
    cast, client_for
):
    give(cast.sam, cast.ann, message="Public praise for Ann")
    set_private(cast.ann)
    wall = client_for(cast.andy).get(url(cast.org_a, "wall")).content.decode()
    assert "Public praise for Ann" not in wall
    htmx = (
        client_for(cast.sam).get(url(cast.org_a, "wall"), HTTP_HX_REQUEST="true").content.decode()
    )
    assert "Public praise for Ann" not in htmx
    assert (
        "Public praise for Ann"
        in client_for(cast.ann).get(url(cast.org_a, "mine")).content.decode()
    )
    assert (
        "Public praise for Ann"
        in client_for(cast.sam)
        .get(url(cast.org_a, "agent", agent_id=cast.ann.public_id))
        .content.decode()
    )
    with tenant_context(cast.org_a):
        _key, secret = api_key_create(organization=cast.org_a, name="k")
    r = client_for(cast.alice).get("/api/v1/kudos/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert r.status_code == 200 and r.json()["results"] == []
    # back to public: shown again everywhere (the preference is read at request time)
    with tenant_context(cast.org_a):
        AgentProfile.objects.filter(membership=cast.ann).update(recognition_preference="public")
    r = client_for(cast.alice).get("/api/v1/kudos/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert [k["message"] for k in r.json()["results"]] == ["Public praise for Ann"]
    assert (
        "Public praise for Ann"
        in client_for(cast.andy).get(url(cast.org_a, "wall")).content.decode()
    )


def test_agent_sets_preference_and_motivators_on_own_page(cast, client_for):
    c = client_for(cast.ann)
    r = c.post(
        url(cast.org_a, "mine"),
        {
            "recognition_preference": "private",
            "choices": ["growth"],
            "motivators": "Learning new products",
        },
    )
    assert r.status_code == 302
    with tenant_context(cast.org_a):
        p = AgentProfile.objects.get(membership=cast.ann)
        assert (p.recognition_preference, p.motivators) == ("private", "Learning new products")
    r = c.post(url(cast.org_a, "mine"), {"recognition_preference": "loud"})
    assert r.status_code == 400 and "recognition_preference" in r.content.decode()
    assert client_for(cast.sam).post(url(cast.org_a, "mine"), {}).status_code == 403


def test_agent_page_cross_role_and_cross_tenant(cast, client_for):
    assert (
        client_for(cast.andy).get(url(cast.org_a, "agent", agent_id=cast.ann.public_id)).status_code
        == 404
    )
    assert (
        client_for(cast.sam).get(url(cast.org_a, "agent", agent_id=cast.zoe.public_id)).status_code
        == 404
    )
    assert (
        client_for(cast.sam).get(url(cast.org_a, "agent", agent_id=cast.bea.public_id)).status_code
        == 404
    )
    assert (
        client_for(cast.alice)
        .get(url(cast.org_a, "agent", agent_id=cast.zoe.public_id))
        .status_code
        == 200
    )


def test_first_kudos_badge_awarded_once_by_the_worker(cast):
    give(cast.sam, cast.ann)
    give(cast.andy, cast.ann)
    run_outbox(cast.org_a)
    with tenant_context(cast.org_a):
        assert list(
            Achievement.objects.filter(member=cast.ann).values_list("badge", flat=True)
        ) == [Badge.FIRST_KUDOS]
        assert Notification.objects.filter(recipient=cast.ann, kind="achievement").count() == 1


# --- customer-voted rewards --------------------------------------------------------------------


def vote(cast, tier="small", stars=5, agent=None):
    r = answered(cast.org_a, agent or cast.ann, stars, answers={"reward_tier": tier}, finish=True)
    run_outbox(cast.org_a)
    return r


def test_tier_thresholds_earn_a_reward_reset_the_count_and_notify_agent_and_supervisor(cast):
    cast.org_a.settings = {**cast.org_a.settings, "reward_votes_medium": 3}
    cast.org_a.save()
    for _ in range(2):
        vote(cast, "medium")
    with tenant_context(cast.org_a):
        assert RewardCounter.objects.get(agent=cast.ann, tier="medium").votes == 2
        assert not EarnedReward.objects.exists()
    vote(cast, "medium")
    with tenant_context(cast.org_a):
        earned = EarnedReward.objects.get()
        assert (earned.tier, earned.votes, earned.status) == ("medium", 3, "earned")
        assert RewardCounter.objects.get(agent=cast.ann, tier="medium").votes == 0
        assert Notification.objects.filter(recipient=cast.ann, kind="reward_earned").count() == 1
        assert Notification.objects.filter(recipient=cast.sam, kind="reward_earned").count() == 1
    vote(cast, "small")  # default small threshold: 1
    with tenant_context(cast.org_a):
        assert EarnedReward.objects.filter(tier="small").count() == 1


def test_votes_count_only_when_the_survey_finishes_and_exactly_once(cast):
    from coachhub.core.models import Delivery

    r = answered(cast.org_a, cast.ann, 5, answers={"reward_tier": "small"})
    run_outbox(cast.org_a)
    with tenant_context(cast.org_a):
        assert not RewardVote.objects.exists()  # answered, not finished
    change(r, answers={"reward_tier": "large"})  # the customer changes the answer
    change(r, finish=True)
    run_outbox(cast.org_a)
    # redeliver the finished event: still one vote
    with tenant_context(cast.org_a):
        Delivery.objects.filter(consumer="recognition.reward_vote").update(status="pending")
    run_outbox(cast.org_a)
    with tenant_context(cast.org_a):
        r.refresh_from_db()
        reward_svc.vote_count(r)  # and a direct second call
        assert list(RewardVote.objects.values_list("tier", flat=True)) == ["large"]
        assert RewardCounter.objects.get(agent=cast.ann, tier="large").votes == 1


def test_a_vote_whose_stars_fell_below_the_threshold_before_finish_does_not_count(cast):
    r = answered(cast.org_a, cast.ann, 5, answers={"reward_tier": "small"})
    change(r, stars=3)
    change(r, finish=True)
    run_outbox(cast.org_a)
    with tenant_context(cast.org_a):
        assert not RewardVote.objects.exists() and not EarnedReward.objects.exists()


def test_admin_picks_approves_and_fulfils_with_a_note(cast, client_for):
    vote(cast, "small")
    with tenant_context(cast.org_a):
        item = reward_svc.item_add(cast.org_a, tier="small", name="Coffee voucher")
        reward_svc.item_add(cast.org_a, tier="large", name="Day off")
        earned = EarnedReward.objects.get()
    c = client_for(cast.alice)
    assert c.get(url(cast.org_a, "rewards")).status_code == 200
    detail = url(cast.org_a, "reward_detail", reward_id=earned.public_id)
    r = c.post(detail, {"action": "fulfil", "note": "x"})
    assert r.status_code == 400 and "Approve the reward" in r.content.decode()
    r = c.post(detail, {"action": "approve", "item": ""})
    assert r.status_code == 400 and 'id="id_item_error"' in r.content.decode()
    assert c.post(detail, {"action": "approve", "item": str(item.public_id)}).status_code == 302
    r = c.post(detail, {"action": "fulfil", "note": ""})
    assert r.status_code == 400 and 'id="id_note_error"' in r.content.decode()
    assert c.post(detail, {"action": "fulfil", "note": "Handed over on Friday"}).status_code == 302
    with tenant_context(cast.org_a):
        earned.refresh_from_db()
        assert (earned.status, earned.item_id, earned.note) == (
            "fulfilled",
            item.pk,
            "Handed over on Friday",
        )
    # cross-role: supervisor and agent see their list, cannot act
    assert client_for(cast.sam).post(detail, {"action": "approve"}).status_code == 403
    assert client_for(cast.ann).get(url(cast.org_a, "rewards")).status_code == 200
    assert (
        client_for(cast.zoe)
        .get(url(cast.org_a, "rewards"))
        .content.decode()
        .count("Coffee voucher")
        == 0
    )


def test_catalogue_admin_only_and_names_the_field(cast, client_for):
    c = client_for(cast.alice)
    r = c.post(url(cast.org_a, "catalogue"), {"tier": "huge", "name": ""})
    assert (
        r.status_code == 400
        and 'id="id_tier_error"' in r.content.decode()
        and 'id="id_name_error"' in r.content.decode()
    )
    assert (
        c.post(url(cast.org_a, "catalogue"), {"tier": "small", "name": "Lunch"}).status_code == 302
    )
    assert client_for(cast.sam).get(url(cast.org_a, "catalogue")).status_code == 403


def test_rewards_api_lists_earned_rewards_of_the_keys_org_only(cast, client):
    vote(cast, "small")
    with tenant_context(cast.org_b):
        _k, secret_b = api_key_create(organization=cast.org_b, name="b")
    with tenant_context(cast.org_a):
        _k, secret_a = api_key_create(organization=cast.org_a, name="a")
    r = client.get("/api/v1/rewards/", HTTP_AUTHORIZATION=f"Bearer {secret_a}")
    assert [x["tier"] for x in r.json()["results"]] == ["small"]
    assert (
        client.get("/api/v1/rewards/", HTTP_AUTHORIZATION=f"Bearer {secret_b}").json()["results"]
        == []
    )
    r = client.get("/api/v1/rewards/?status=lost", HTTP_AUTHORIZATION=f"Bearer {secret_a}")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "status"


# --- achievements ------------------------------------------------------------------------------


def test_rating_badges_from_finished_responses_exactly_once(cast):
    answered(cast.org_a, cast.ann, 5, finish=True)
    answered(cast.org_a, cast.ann, 5, finish=True)
    run_outbox(cast.org_a)
    with tenant_context(cast.org_a):
        assert list(
            Achievement.objects.filter(member=cast.ann).values_list("badge", flat=True)
        ) == [Badge.FIRST_FIVE_STAR]


def test_coaching_events_award_badges_by_name(cast):
    from datetime import timedelta

    from django.utils import timezone

    from coachhub.core.outbox import event_record

    now = timezone.now()
    with tenant_context(cast.org_a):
        event_record(
            cast.org_a.pk,
            "coaching.note_acknowledged",
            {
                "agent_id": cast.ann.pk,
                "created_at": (now - timedelta(hours=3)).isoformat(),
                "acknowledged_at": now.isoformat(),
            },
        )
        event_record(
            cast.org_a.pk,
            "coaching.note_acknowledged",
            {
                "agent_id": cast.andy.pk,
                "created_at": (now - timedelta(days=3)).isoformat(),
                "acknowledged_at": now.isoformat(),
            },
        )
        event_record(cast.org_a.pk, "coaching.item_saved", {"member_id": cast.andy.pk})
        event_record(cast.org_a.pk, "coaching.goal_met", {"agent_id": cast.zoe.pk})
    run_outbox(cast.org_a)
    with tenant_context(cast.org_a):
        got = set(Achievement.objects.values_list("member_id", "badge"))
    assert got == {
        (cast.ann.pk, Badge.QUICK_ACK),
        (cast.andy.pk, Badge.FIRST_SAVED),
        (cast.zoe.pk, Badge.GOAL_MET),
    }


def test_streak_and_improvement_rules():
    from datetime import date, timedelta

    from recognition.services.achievements import has_streak, improved

    d0 = date(2026, 11, 1)
    days = {d0 + timedelta(days=i): {"n": 2, "total": 9, "low": 0} for i in range(5)}
    assert has_streak(days, d0, d0 + timedelta(days=10))
    days[d0 + timedelta(days=2)]["low"] = 1
    assert not has_streak(days, d0, d0 + timedelta(days=10))
    today = date(2026, 11, 30)
    old = {today - timedelta(days=40): {"n": 10, "total": 38, "low": 0}}  # 3.8
    new = {today - timedelta(days=5): {"n": 10, "total": 41, "low": 0}}  # 4.1
    assert improved({**old, **new}, today)
    assert not improved({**old, today: {"n": 10, "total": 40, "low": 0}}, today)  # +0.2


# --- TV ----------------------------------------------------------------------------------------


def test_tv_link_shows_the_board_without_login_honours_preference_and_revoked_is_404(cast, client):
    give(cast.sam, cast.ann, message="private thing", behaviour="Teamwork")
    give(cast.sam, cast.andy, message="public thing", behaviour="Ownership")
    set_private(cast.ann)
    with tenant_context(cast.org_a):
        link, secret = tv_link_create(cast.alice, name="Floor", team=cast.team_a1)
    r = client.get(f"/tv/{secret}/")
    page = r.content.decode()
    assert r.status_code == 200 and 'hx-trigger="every 60s"' in page
    assert "Ownership" in page and "Teamwork" not in page  # only public kudos on the screen
    assert "lee@example.com" not in page
    assert client.get("/tv/not-a-token/").status_code == 404
    with tenant_context(cast.org_a):
        tv_link_revoke(link)
    assert client.get(f"/tv/{secret}/").status_code == 404


def test_tv_links_page_admin_only_create_and_revoke(cast, client_for):
    c = client_for(cast.alice)
    r = c.post(url(cast.org_a, "tv_links"), {"name": "", "metric": "stars", "period": "year"})
    assert (
        r.status_code == 400
        and 'id="id_name_error"' in r.content.decode()
        and 'id="id_period_error"' in r.content.decode()
    )
    r = c.post(
        url(cast.org_a, "tv_links"),
        {"name": "Floor", "metric": "stars", "period": "week", "team": ""},
    )
    assert r.status_code == 200 and "/tv/" in r.content.decode()
    assert client_for(cast.sam).get(url(cast.org_a, "tv_links")).status_code == 403
    with tenant_context(cast.org_a):
        from recognition.models import TVLink

        link = TVLink.objects.get()
    c = client_for(cast.alice)
    assert c.post(url(cast.org_a, "tv_link_revoke", link_id=link.public_id)).status_code == 302
    with tenant_context(cast.org_a):
        link.refresh_from_db()
        assert link.revoked_at is not None


def test_settings_admin_only_and_names_the_field(cast, client_for):
    c = client_for(cast.alice)
    data = {
        "reward_votes_small": 0,
        "reward_votes_medium": 5,
        "reward_votes_large": 10,
        "leaderboard_min_n": 20,
        "leaderboard_prior_weight": 20,
        "leaderboard_agents_top_n": 0,
    }
    r = c.post(url(cast.org_a, "settings"), data)
    assert r.status_code == 400 and 'id="id_reward_votes_small_error"' in r.content.decode()
    data["reward_votes_small"] = 2
    assert c.post(url(cast.org_a, "settings"), data).status_code == 302
    cast.org_a.refresh_from_db()
    assert cast.org_a.settings["reward_votes_small"] == 2
    assert client_for(cast.sam).get(url(cast.org_a, "settings")).status_code == 403


def test_kudos_tied_to_a_customer_response(cast, client_for):
    mine = answered(cast.org_a, cast.ann, 5)
    other_team = answered(cast.org_a, cast.zoe, 5)
    andys = answered(cast.org_a, cast.andy, 4)
    c = client_for(cast.sam)
    base = url(cast.org_a, "kudos_new")
    assert c.get(f"{base}?response={other_team.public_id}").status_code == 404
    data = {"recipient": str(cast.ann.public_id), "behaviour": "Empathy", "message": "Lovely call"}
    r = c.post(f"{base}?response={andys.public_id}", data)
    assert r.status_code == 400 and "not about this agent" in r.content.decode()
    assert c.post(f"{base}?response={mine.public_id}", data).status_code == 302
    with tenant_context(cast.org_a):
        assert Kudos.objects.get().response_id == mine.pk


def test_digest_kudos_line_honours_the_preference(cast):
    from django.utils import timezone

    give(cast.sam, cast.ann, message="for ann")
    give(cast.sam, cast.andy, message="for andy")
    set_private(cast.andy)
    today = timezone.now().astimezone(cast.org_a.tz).date()
    with tenant_context(cast.org_a):
        line = selectors.digest_kudos(
            cast.org_a, start=today, end=today, team_ids=[cast.team_a1.pk]
        )
        assert line["count"] == 1 and [k.message for k in line["latest"]] == ["for ann"]
        own = selectors.digest_kudos(cast.org_a, start=today, end=today, agent=cast.andy)
        assert own["count"] == 1  # the agent's own digest still tells them


def test_daily_digest_carries_the_kudos_line_public_only(cast):
    from django.utils import timezone

    from coaching.services.digest import digest_content, digest_message

    give(cast.sam, cast.ann, behaviour="Ownership", message="for ann")
    give(cast.sam, cast.andy, behaviour="Teamwork", message="for andy")
    set_private(cast.andy)
    today = timezone.now().astimezone(cast.org_a.tz).date()
    with tenant_context(cast.org_a):
        content = digest_content(cast.sam, today, "daily")
        message = digest_message(content)
    assert content.kudos["count"] == 1
    assert "Ann Agent — Ownership" in message.body and "Teamwork" not in message.body
    html = message.alternatives[0][0]
    assert "Ownership" in html and "Teamwork" not in html


def test_coaching_services_feed_the_badges_by_event(cast):
    from coaching.models import FocusBehaviour
    from coaching.services.notes import note_acknowledge, note_create, saved_toggle

    with tenant_context(cast.org_a):
        behaviour, _ = FocusBehaviour.objects.get_or_create(organization=cast.org_a, name="Empathy")
        note = note_create(
            author=cast.sam, agent=cast.ann, kind="praise", behaviour=behaviour, body="Nice"
        )
        assert note_acknowledge(note, cast.ann)
        response = answered(cast.org_a, cast.andy, 5)
    with tenant_context(cast.org_a):
        assert saved_toggle(cast.andy, response=response)
    run_outbox(cast.org_a)
    with tenant_context(cast.org_a):
        got = set(Achievement.objects.values_list("member_id", "badge"))
    assert (cast.ann.pk, Badge.QUICK_ACK) in got and (cast.andy.pk, Badge.FIRST_SAVED) in got
