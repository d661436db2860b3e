"""Reviews: start, autosave, submit, the contract on the page, options, the score selector and
the role matrix."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from coachhub.core.models import Notification
from coachhub.tenancy.context import tenant_context
from qa import scoring, selectors
from qa.models import Review, ReviewSource, ReviewStatus
from qa.services.settings import qa_settings_update

from .factories import make_member
from .qa_factories import (
    GOOD,
    criteria_by_title,
    make_interaction,
    make_review,
    make_scorecard,
    rate,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def qa(cast):
    cast.card = make_scorecard(cast.org_a, cast.alice)
    with tenant_context(cast.org_a):
        cast.version = cast.card.versions.get(status="published")
    cast.ann_call = make_interaction(cast.org_a, cast.ann)
    cast.zoe_call = make_interaction(cast.org_a, cast.zoe)
    return cast


def qa_score_for(agent, start, end):
    with tenant_context(agent.organization_id):
        return selectors.qa_score_for(agent, start, end)


def url(org, name, **kw):
    from django.urls import reverse

    return reverse(f"qa:{name}", kwargs={"org": org.slug, **kw})


def test_supervisor_starts_fills_and_submits_a_review_and_the_agent_is_notified(qa, client_for):
    c = client_for(qa.sam)
    page = c.get(url(qa.org_a, "interaction", interaction_id=qa.ann_call.public_id))
    assert page.status_code == 200
    assert b"Chat quality" in page.content
    r = c.post(
        url(qa.org_a, "review_start", interaction_id=qa.ann_call.public_id),
        {"version": str(qa.version.public_id), "source": "response"},
    )
    assert r.status_code == 302
    with tenant_context(qa.org_a):
        review = Review.objects.get()
    assert review.source == ReviewSource.RESPONSE and review.is_draft
    form = c.get(url(qa.org_a, "review_detail", review_id=review.public_id))
    assert b"Submit review" in form.content and b"How this score is calculated" in form.content

    by = criteria_by_title(qa.version)
    answers = {f"c-{by[t].public_id}": str(v) for t, v in GOOD.items()}
    # autosave (htmx) keeps a partial draft and answers the live score panel
    saved = c.post(
        url(qa.org_a, "review_autosave", review_id=review.public_id),
        {f"c-{by['Tone'].public_id}": "3", "overall_comment": "Half done"},
        HTTP_HX_REQUEST="true",
    )
    assert saved.status_code == 200 and b"Draft saved" in saved.content
    with tenant_context(qa.org_a):
        review.refresh_from_db()
        assert review.overall_comment == "Half done" and review.is_draft

    done = c.post(
        url(qa.org_a, "review_submit", review_id=review.public_id),
        {**answers, f"comment-{by['Tone'].public_id}": "Warm", "overall_comment": "Nice work"},
    )
    assert done.status_code == 302
    with tenant_context(qa.org_a):
        review.refresh_from_db()
        # (Greeting 100×10 + Tone 75×20 + Solved 100×50) / 80 = 93.75
        assert review.status == ReviewStatus.SUBMITTED and float(review.score) == 93.75
        note = Notification.objects.get(recipient=qa.ann)
    assert "93.8 %" in note.title and note.url.endswith(f"/reviews/{review.public_id}/")


def test_submit_without_every_answer_names_the_missing_criterion(qa, client_for):
    review = make_review(qa.sam, qa.ann_call, qa.card, submit=False, answers={"Tone": 3})
    c = client_for(qa.sam)
    r = c.post(url(qa.org_a, "review_submit", review_id=review.public_id), {})
    assert r.status_code == 400
    assert b"Answer this criterion (or N/A)." in r.content
    with tenant_context(qa.org_a):
        assert Review.objects.get().is_draft


def test_na_where_not_allowed_is_refused_with_the_field(qa):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        make_review(qa.sam, qa.ann_call, qa.card, answers={**GOOD, "Privacy": "na"})
    by = criteria_by_title(qa.version)
    assert f"c-{by['Privacy'].public_id}" in exc.value.message_dict


def test_review_page_prints_the_contract_and_why_a_critical_failed(qa, client_for):
    review = make_review(qa.sam, qa.ann_call, qa.card, answers={**GOOD, "Privacy": 0})
    assert review.failed and float(review.score) == 0
    page = client_for(qa.ann).get(url(qa.org_a, "review_detail", review_id=review.public_id))
    assert page.status_code == 200
    text = page.content.decode()
    for rule in scoring.CONTRACT:
        assert rule.replace("“", "&ldquo;")[:30] in text or rule[:30] in text
    assert "critical criterion “Privacy” zeroes the whole review" in text


def test_section_failure_is_shown_on_its_section(qa, client_for):
    review = make_review(qa.sam, qa.ann_call, qa.card, answers={**GOOD, "Greeting": 0})
    # Opening zeroed (weight 30 stays in the denominator): 100×50 / 80
    assert float(review.score) == 62.5
    page = client_for(qa.sam).get(url(qa.org_a, "review_detail", review_id=review.public_id))
    assert "0 % — failed by “Greeting”" in page.content.decode()


def test_all_na_review_is_not_scorable_never_zero(qa, client_for):
    review = make_review(
        qa.sam,
        qa.ann_call,
        qa.card,
        answers={"Greeting": "na", "Tone": "na", "Solved it": "na", "Privacy": 1},
    )
    assert review.score is None and not review.scorable
    # Solved it does not allow N/A? It does (default) — the review is simply not scorable.
    page = client_for(qa.ann).get(url(qa.org_a, "review_detail", review_id=review.public_id))
    assert b"Not scorable" in page.content
    assert qa_score_for(qa.ann, timezone.localdate(), timezone.localdate()).reviews == 0


def test_hidden_reviewer_name_never_reaches_the_agent(qa, client_for):
    review = make_review(qa.sam, qa.ann_call, qa.card, hide_reviewer=True)
    for path in (
        url(qa.org_a, "review_detail", review_id=review.public_id),
        url(qa.org_a, "home"),
    ):
        body = client_for(qa.ann).get(path).content.decode()
        assert "Sam" not in body.replace("Sample", "")
    with tenant_context(qa.org_a):
        note = Notification.objects.get(recipient=qa.ann)
    assert "Sam" not in note.body and "A reviewer" in note.body
    # the supervisor still sees who reviewed
    assert (
        "Sam"
        in client_for(qa.alice)
        .get(url(qa.org_a, "review_detail", review_id=review.public_id))
        .content.decode()
    )


def test_agent_sees_only_own_submitted_reviews(qa, client_for):
    mine = make_review(qa.sam, qa.ann_call, qa.card)
    andy_call = make_interaction(qa.org_a, qa.andy)
    theirs = make_review(qa.sam, andy_call, qa.card)
    draft = make_review(qa.sam, make_interaction(qa.org_a, qa.ann), qa.card, submit=False)
    c = client_for(qa.ann)
    assert c.get(url(qa.org_a, "review_detail", review_id=mine.public_id)).status_code == 200
    assert c.get(url(qa.org_a, "review_detail", review_id=theirs.public_id)).status_code == 404
    assert c.get(url(qa.org_a, "review_detail", review_id=draft.public_id)).status_code == 404
    listing = c.get(url(qa.org_a, "home")).content.decode()
    assert qa.ann_call.external_id in listing
    assert andy_call.external_id not in listing


def test_agent_cannot_review(qa, client_for):
    c = client_for(qa.andy)
    assert (
        c.get(url(qa.org_a, "interaction", interaction_id=qa.ann_call.public_id)).status_code == 403
    )
    r = c.post(
        url(qa.org_a, "review_start", interaction_id=qa.ann_call.public_id),
        {"version": str(qa.version.public_id)},
    )
    assert r.status_code == 403
    assert (
        c.post(url(qa.org_a, "review_random"), {"agent": str(qa.ann.public_id)}).status_code == 403
    )


def test_supervisor_reviews_only_their_teams(qa, client_for):
    c = client_for(qa.sam)
    assert (
        c.get(url(qa.org_a, "interaction", interaction_id=qa.zoe_call.public_id)).status_code == 404
    )
    review = make_review(qa.alice, qa.zoe_call, qa.card)
    assert c.get(url(qa.org_a, "review_detail", review_id=review.public_id)).status_code == 404


def test_reviewer_capability_reviews_any_agent_without_leading_a_team(qa, client_for):
    rita = make_member(qa.org_a, "agent", team=qa.team_a2, is_reviewer=True)
    review = make_review(rita, qa.ann_call, qa.card)
    assert review.reviewer_id == rita.pk
    assert (
        client_for(rita).get(url(qa.org_a, "review_detail", review_id=review.public_id)).status_code
        == 200
    )
    # but never themselves
    own = make_interaction(qa.org_a, rita)
    assert (
        client_for(rita).get(url(qa.org_a, "interaction", interaction_id=own.public_id)).status_code
        == 404
    )


def test_random_interaction_comes_from_the_agents_last_seven_days(qa, client_for):
    old = make_interaction(qa.org_a, qa.andy, days_ago=9)
    recent = make_interaction(qa.org_a, qa.andy, days_ago=2)
    c = client_for(qa.sam)
    for _ in range(5):
        r = c.post(url(qa.org_a, "review_random"), {"agent": str(qa.andy.public_id)})
        assert r.status_code == 302
        assert str(recent.public_id) in r["Location"] and "source=random" in r["Location"]
    assert str(old.public_id) not in r["Location"]
    # an agent the supervisor does not lead
    r = c.post(url(qa.org_a, "review_random"), {"agent": str(qa.zoe.public_id)}, follow=True)
    assert b"Choose an agent you may review" in r.content


def test_submitted_review_cannot_be_edited(qa, client_for):
    review = make_review(qa.sam, qa.ann_call, qa.card)
    c = client_for(qa.sam)
    r = c.post(
        url(qa.org_a, "review_autosave", review_id=review.public_id), {"overall_comment": "x"}
    )
    assert r.status_code == 403
    r = c.post(url(qa.org_a, "review_submit", review_id=review.public_id), {})
    assert r.status_code == 403


def test_other_reviewer_cannot_touch_a_draft(qa, client_for):
    draft = make_review(qa.alice, qa.ann_call, qa.card, submit=False)
    c = client_for(qa.sam)
    assert c.get(url(qa.org_a, "review_detail", review_id=draft.public_id)).status_code == 404
    assert c.post(url(qa.org_a, "review_submit", review_id=draft.public_id)).status_code == 404


def test_qa_score_excludes_drafts_and_coaching_only_and_blends_when_enabled(qa):
    today = timezone.localdate()
    week = (today - timedelta(days=7), today)
    counted = make_review(qa.sam, qa.ann_call, qa.card)  # 93.75
    make_review(
        qa.sam,
        make_interaction(qa.org_a, qa.ann),
        qa.card,
        answers={**GOOD, "Solved it": 1},
        coaching_only=True,
    )
    make_review(qa.sam, make_interaction(qa.org_a, qa.ann), qa.card, submit=False)
    assert counted.scorable
    result = qa_score_for(qa.ann, *week)
    assert result.reviews == 1 and result.score == 93.8 and not result.blended

    rate(qa.ann_call, 2)  # customer part (2 − 1)/4 = 25 %
    with tenant_context(qa.org_a):
        qa_settings_update(qa.org_a, qa_blend_weight=30)
    qa.ann.organization.refresh_from_db()
    blended = qa_score_for(qa.ann, *week)
    # 0.7 × 93.75 + 0.3 × 25 = 73.125
    assert blended.blended and blended.score == 73.1


def test_review_page_shows_both_parts_and_the_blend_formula(qa, client_for):
    with tenant_context(qa.org_a):
        qa_settings_update(qa.org_a, qa_blend_weight=30)
    rate(qa.ann_call, 5)
    review = make_review(qa.sam, qa.ann_call, qa.card)
    body = (
        client_for(qa.ann)
        .get(url(qa.org_a, "review_detail", review_id=review.public_id))
        .content.decode()
    )
    assert "93.8 %" in body  # QA part
    assert "(1 − 30 %) × 93.8 % + 30 % × 100.0 % (5★)" in body
    assert "95.6 %" in body  # 0.7 × 93.75 + 30 = 95.625


def test_other_organization_gets_404_on_every_review_page(qa, client_for):
    review = make_review(qa.sam, qa.ann_call, qa.card)
    c = client_for(qa.bob)
    for name in ("review_detail", "dispute_new"):
        assert c.get(url(qa.org_a, name, review_id=review.public_id)).status_code == 404
    assert c.get(url(qa.org_b, "review_detail", review_id=review.public_id)).status_code == 404


def test_alert_and_response_links_record_where_a_review_came_from(qa, client_for):
    c = client_for(qa.sam)
    page = c.get(
        url(qa.org_a, "interaction", interaction_id=qa.ann_call.public_id) + "?source=alert"
    )
    assert b'name="source" value="alert"' in page.content
    c.post(
        url(qa.org_a, "review_start", interaction_id=qa.ann_call.public_id),
        {"version": str(qa.version.public_id), "source": "alert"},
    )
    with tenant_context(qa.org_a):
        assert Review.objects.get().source == ReviewSource.ALERT
    # starting twice reopens the same draft
    c.post(
        url(qa.org_a, "review_start", interaction_id=qa.ann_call.public_id),
        {"version": str(qa.version.public_id)},
    )
    with tenant_context(qa.org_a):
        assert Review.objects.count() == 1
    # a scorecard id of another card, or garbage, is refused without a 500
    r = c.post(
        url(qa.org_a, "review_start", interaction_id=qa.ann_call.public_id),
        {"version": "not-a-uuid"},
        follow=True,
    )
    assert r.status_code == 200 and b"Choose a published scorecard" in r.content


def test_review_page_query_count_does_not_grow_with_history(qa, client_for):
    from .conftest import assert_num_queries_at_most

    review = make_review(qa.sam, qa.ann_call, qa.card)
    c = client_for(qa.ann)
    detail = url(qa.org_a, "review_detail", review_id=review.public_id)
    c.get(detail)
    with assert_num_queries_at_most(40) as first:
        assert c.get(detail).status_code == 200
    from qa.services.disputes import dispute_open

    with tenant_context(qa.org_a):
        fresh = Review.objects.get(pk=review.pk)
        dispute_open(fresh, agent=qa.ann, reason="x", whole_review=True, criteria=[])
    with assert_num_queries_at_most(len(first.captured_queries) + 3):
        assert c.get(detail).status_code == 200


def test_agent_home_shows_their_qa_score_for_30_days(qa, client_for):
    make_review(qa.sam, qa.ann_call, qa.card)  # 93.75
    make_review(
        qa.sam,
        make_interaction(qa.org_a, qa.ann),
        qa.card,
        {**GOOD, "Solved it": 1},
        coaching_only=True,
    )
    body = client_for(qa.ann).get(url(qa.org_a, "home")).content.decode()
    assert 'data-testid="my-qa-score">93.8 %' in body and "1 counted review" in body
