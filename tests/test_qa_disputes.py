"""Disputes: the state machine, the window, the optional team-lead step, decisions that change
scores, and the history (who, when, old → new)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from coachhub.core.models import Notification
from coachhub.tenancy.context import tenant_context
from qa.models import Dispute, DisputeStatus, Review, ReviewEvent
from qa.services import disputes as svc
from qa.services.settings import qa_settings_update

from .qa_factories import criteria_by_title, make_interaction, make_review, make_scorecard

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(cast):
    cast.card = make_scorecard(cast.org_a, cast.alice)
    cast.review = make_review(
        cast.sam,
        make_interaction(cast.org_a, cast.ann),
        cast.card,
        {"Greeting": 1, "Tone": 2, "Solved it": 3, "Privacy": 1},
    )
    with tenant_context(cast.org_a):
        cast.by = criteria_by_title(cast.review.version)
    return cast


def url(name, **kw):
    return reverse(f"qa:{name}", kwargs={"org": "acme", **kw})


def open_dispute(cast, **kw):
    with tenant_context(cast.org_a):
        review = Review.objects.get(pk=cast.review.pk)
        defaults = {"reason": "The customer hung up", "whole_review": False, "criteria": []}
        defaults.update(kw)
        return svc.dispute_open(review, agent=cast.ann, **defaults)


def test_agent_disputes_one_criterion_and_the_reviewer_is_notified(reviewed, client_for):
    c = client_for(reviewed.ann)
    detail = url("review_detail", review_id=reviewed.review.public_id)
    assert b">Dispute<" in c.get(detail).content
    form = c.get(url("dispute_new", review_id=reviewed.review.public_id))
    assert form.status_code == 200
    r = c.post(
        url("dispute_new", review_id=reviewed.review.public_id),
        {
            "scope": "criteria",
            "criteria": [str(reviewed.by["Tone"].public_id)],
            "reason": "I was calm all along",
        },
    )
    assert r.status_code == 302
    with tenant_context(reviewed.org_a):
        dispute = Dispute.objects.get()
        assert dispute.status == DisputeStatus.OPEN and not dispute.whole_review
        assert [i.criterion.title for i in dispute.items.all()] == ["Tone"]
        assert Notification.objects.filter(
            recipient=reviewed.sam, kind="qa.dispute_opened"
        ).exists()
    page = c.get(detail).content.decode()
    assert "Open: with the reviewer" in page and "I was calm all along" in page


def test_dispute_needs_a_reason_and_something_to_dispute(reviewed, client_for):
    c = client_for(reviewed.ann)
    target = url("dispute_new", review_id=reviewed.review.public_id)
    r = c.post(target, {"scope": "criteria", "reason": "   "})
    assert r.status_code == 400 and b"Say why you dispute this review." in r.content
    r = c.post(target, {"scope": "criteria", "reason": "Because"})
    assert r.status_code == 400 and b"Choose the criteria you dispute" in r.content
    with tenant_context(reviewed.org_a):
        assert not Dispute.objects.exists()


def test_only_the_reviewed_agent_disputes_within_the_window_once(reviewed, client_for):
    assert (
        client_for(reviewed.andy)
        .get(url("dispute_new", review_id=reviewed.review.public_id))
        .status_code
        == 404
    )  # not even visible to another agent
    assert (
        client_for(reviewed.sam)
        .get(url("dispute_new", review_id=reviewed.review.public_id))
        .status_code
        == 403
    )
    with tenant_context(reviewed.org_a):
        review = Review.objects.get(pk=reviewed.review.pk)
        with pytest.raises(ValidationError, match="window closed"):
            svc.dispute_open(
                review,
                agent=reviewed.ann,
                reason="late",
                whole_review=True,
                criteria=[],
                now=timezone.now() + timedelta(days=8),
            )
        with pytest.raises(PermissionDenied):
            svc.dispute_open(
                review, agent=reviewed.andy, reason="x", whole_review=True, criteria=[]
            )
    open_dispute(reviewed, whole_review=True)
    with pytest.raises(ValidationError, match="already been disputed"):
        open_dispute(reviewed, whole_review=True)
    assert (
        client_for(reviewed.ann)
        .get(url("dispute_new", review_id=reviewed.review.public_id))
        .status_code
        == 403
    )


def test_window_follows_the_organization_setting(reviewed):
    with tenant_context(reviewed.org_a):
        qa_settings_update(reviewed.org_a, qa_dispute_window_days=2)
        review = Review.objects.select_related("organization").get(pk=reviewed.review.pk)
        review.organization.settings = reviewed.org_a.settings
        assert svc.can_dispute(review, reviewed.ann, now=timezone.now() + timedelta(days=1))
        assert not svc.can_dispute(review, reviewed.ann, now=timezone.now() + timedelta(days=3))


def test_partial_acceptance_changes_answers_and_keeps_the_history(reviewed, client_for):
    open_dispute(
        reviewed, criteria=[reviewed.by["Tone"], reviewed.by["Solved it"]], reason="Both wrong"
    )
    with tenant_context(reviewed.org_a):
        dispute = Dispute.objects.get()
    before = float(reviewed.review.score)  # (100×10 + 25×20 + 50×50) / 80 = 50
    assert before == 50.0
    c = client_for(reviewed.sam)
    decide = url("dispute_decide", dispute_id=dispute.public_id)
    assert c.get(decide).status_code == 200
    # changing a criterion that is not disputed is refused, nothing changes
    r = c.post(
        decide,
        {
            "outcome": "partial",
            "reason": "Tone was fine",
            f"c-{reviewed.by['Greeting'].public_id}": "0",
        },
    )
    assert r.status_code == 400 and b"Only disputed criteria can change." in r.content
    # "accept" must change every disputed criterion
    r = c.post(
        decide,
        {"outcome": "accept", "reason": "x", f"c-{reviewed.by['Tone'].public_id}": "4"},
    )
    assert r.status_code == 400 and b"else partially accept" in r.content
    r = c.post(
        decide,
        {
            "outcome": "partial",
            "reason": "Tone was fine; the fix was not complete",
            f"c-{reviewed.by['Tone'].public_id}": "4",
            f"c-{reviewed.by['Solved it'].public_id}": "3",  # unchanged
        },
    )
    assert r.status_code == 302
    with tenant_context(reviewed.org_a):
        review = Review.objects.get(pk=reviewed.review.pk)
        dispute.refresh_from_db()
        events = list(
            ReviewEvent.objects.filter(review=review).values_list(
                "kind", "old_value", "new_value", "actor_id"
            )
        )
    # (100×10 + 75×20 + 50×50) / 80 = 62.5
    assert float(review.score) == 62.5
    assert dispute.status == DisputeStatus.PARTIAL and dispute.decided_by_id == reviewed.sam.pk
    assert ("answer_changed", "2", "4", reviewed.sam.pk) in events
    assert ("score_changed", "50.0 %", "62.5 %", reviewed.sam.pk) in events
    assert [e[0] for e in events] == [
        "submitted",
        "disputed",
        "answer_changed",
        "score_changed",
        "partial",
    ]
    page = client_for(reviewed.ann).get(url("review_detail", review_id=review.public_id))
    text = page.content.decode()
    assert "Partially accepted" in text and "50.0 %" in text and "62.5 %" in text
    with tenant_context(reviewed.org_a):
        assert Notification.objects.filter(
            recipient=reviewed.ann, kind="qa.dispute_decided"
        ).exists()


def test_rejection_needs_a_reason_and_changes_nothing(reviewed, client_for):
    open_dispute(reviewed, whole_review=True)
    with tenant_context(reviewed.org_a):
        dispute = Dispute.objects.get()
    c = client_for(reviewed.sam)
    decide = url("dispute_decide", dispute_id=dispute.public_id)
    r = c.post(decide, {"outcome": "reject", "reason": ""})
    assert r.status_code == 400 and b"Give the reason for your decision." in r.content
    r = c.post(
        decide,
        {"outcome": "reject", "reason": "No", f"c-{reviewed.by['Tone'].public_id}": "5"},
    )
    assert r.status_code == 400 and b"A rejection changes no answer" in r.content
    assert c.post(decide, {"outcome": "reject", "reason": "Scored as heard"}).status_code == 302
    with tenant_context(reviewed.org_a):
        assert float(Review.objects.get(pk=reviewed.review.pk).score) == 50.0
        dispute.refresh_from_db()
        assert dispute.status == DisputeStatus.REJECTED
    # decided is final
    assert c.post(decide, {"outcome": "accept", "reason": "x"}).status_code == 400


def test_only_the_reviewer_or_an_admin_decides(reviewed, client_for):
    open_dispute(reviewed, whole_review=True)
    with tenant_context(reviewed.org_a):
        dispute = Dispute.objects.get()
    decide = url("dispute_decide", dispute_id=dispute.public_id)
    assert client_for(reviewed.ann).get(decide).status_code == 403
    assert client_for(reviewed.andy).get(decide).status_code == 404
    assert client_for(reviewed.alice).get(decide).status_code == 200


def test_team_lead_approval_step_when_the_organization_wants_it(reviewed, client_for):
    from .factories import make_member

    other_reviewer = make_member(reviewed.org_a, "admin")
    with tenant_context(reviewed.org_a):
        qa_settings_update(reviewed.org_a, qa_dispute_lead_approval=True)
    # reviewed by an admin, so the team lead (Sam) is a different person
    review = make_review(
        other_reviewer, make_interaction(reviewed.org_a, reviewed.ann), reviewed.card
    )
    with tenant_context(reviewed.org_a):
        review = Review.objects.get(pk=review.pk)
        dispute = svc.dispute_open(
            review, agent=reviewed.ann, reason="Unfair", whole_review=True, criteria=[]
        )
        assert dispute.status == DisputeStatus.AWAITING_LEAD
        assert Notification.objects.filter(
            recipient=reviewed.sam, kind="qa.dispute_opened"
        ).exists()
        assert not Notification.objects.filter(
            recipient=other_reviewer, kind="qa.dispute_opened"
        ).exists()
    # the reviewer cannot decide yet
    r = client_for(other_reviewer).post(
        url("dispute_decide", dispute_id=dispute.public_id), {"outcome": "reject", "reason": "x"}
    )
    assert r.status_code == 400
    # an agent cannot play team lead
    r = client_for(reviewed.ann).post(
        url("dispute_lead", dispute_id=dispute.public_id), {"approve": "1"}
    )
    with tenant_context(reviewed.org_a):
        dispute.refresh_from_db()
        assert dispute.status == DisputeStatus.AWAITING_LEAD
    # declining needs a note
    c = client_for(reviewed.sam)
    c.post(url("dispute_lead", dispute_id=dispute.public_id), {"approve": "0", "note": ""})
    with tenant_context(reviewed.org_a):
        dispute.refresh_from_db()
        assert dispute.status == DisputeStatus.AWAITING_LEAD
    r = c.post(
        url("dispute_lead", dispute_id=dispute.public_id), {"approve": "1", "note": "Worth a look"}
    )
    assert r.status_code == 302
    with tenant_context(reviewed.org_a):
        dispute.refresh_from_db()
        assert (
            dispute.status == DisputeStatus.OPEN and dispute.lead_decided_by_id == reviewed.sam.pk
        )
        assert Notification.objects.filter(
            recipient=other_reviewer, kind="qa.dispute_opened"
        ).exists()
        kinds = list(ReviewEvent.objects.filter(review=review).values_list("kind", flat=True))
    assert kinds == ["submitted", "disputed", "lead_approved"]


def test_dispute_list_shows_the_queue(reviewed, client_for):
    open_dispute(reviewed, whole_review=True)
    page = client_for(reviewed.sam).get(url("dispute_list"))
    assert page.status_code == 200 and b"your turn" in page.content
    page = client_for(reviewed.ann).get(url("dispute_list"))
    assert page.status_code == 200 and b"whole review" in page.content
    assert b"your turn" not in page.content
    assert b"whole review" not in client_for(reviewed.andy).get(url("dispute_list")).content


def test_a_hidden_reviewer_who_is_also_the_team_lead_stays_hidden(reviewed, client_for):
    with tenant_context(reviewed.org_a):
        qa_settings_update(reviewed.org_a, qa_dispute_lead_approval=True)
    review = make_review(
        reviewed.sam,
        make_interaction(reviewed.org_a, reviewed.ann),
        reviewed.card,
        hide_reviewer=True,
    )
    with tenant_context(reviewed.org_a):
        review = Review.objects.get(pk=review.pk)
        dispute = svc.dispute_open(
            review, agent=reviewed.ann, reason="Unfair", whole_review=True, criteria=[]
        )
        svc.dispute_lead_decide(dispute, lead=reviewed.sam, approve=True, note="Go ahead")
        svc.dispute_decide(
            Dispute.objects.get(pk=dispute.pk),
            decider=reviewed.sam,
            outcome="reject",
            reason="Stands",
            changes={},
        )
    body = client_for(reviewed.ann).get(url("review_detail", review_id=review.public_id))
    main = body.content.decode().split('id="main"', 1)[1]  # the header's bell has older news
    assert "Rejected" in main and "Go ahead" in main
    assert "Sam" not in main
