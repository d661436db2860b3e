"""Preparing a 1:1: QA reviews saved for it (by the reviewed agent from the review page, by their
coach), shown in the preparation list and in the session as qa lets each viewer see them; the
admins' coaching categories with their template prompts (list, create, edit, deactivate; field
errors; copied into the session when prepared); cross-tenant and cross-role access."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from coachhub.tenancy.context import tenant_context
from coaching.models import SavedItem
from coaching.models_sessions import CoachingSession, SessionCategory, SessionItem, SessionState
from coaching.selectors_sessions import session_items
from coaching.services import sessions as svc
from coaching.services.defaults import DEFAULT_CATEGORIES, coaching_defaults
from qa.hooks import review_actions

from .factories import make_member
from .qa_factories import make_interaction, make_review, make_scorecard

pytestmark = pytest.mark.django_db
S = SessionState


def signed_in(member) -> Client:
    c = Client()
    c.force_login(member.user)
    return c


def save_url(review, org=None) -> str:
    """The save button's URL, on ``org``'s pages (default: the review's organization)."""
    slug = (org or review.organization).slug
    return reverse("coaching:save_review", kwargs={"org": slug, "review_id": review.public_id})


def review_url(review) -> str:
    return reverse(
        "qa:review_detail",
        kwargs={"org": review.organization.slug, "review_id": review.public_id},
    )


def page(org, path) -> str:
    return f"/o/{org.slug}/coaching/{path}"


def saved(member) -> list:
    with tenant_context(member.organization_id):
        return list(
            SavedItem.objects.filter(organization_id=member.organization_id, member=member)
            .order_by("id")
            .values_list("review_id", flat=True)
        )


@pytest.fixture
def qa(cast):
    cast.card = make_scorecard(cast.org_a, cast.alice)
    cast.ann_review = make_review(
        cast.sam,
        make_interaction(cast.org_a, cast.ann, external_id="ANN-CALL-1"),
        cast.card,
        overall_comment="Calm and clear; recap the refund date.",
    )
    cast.andy_review = make_review(
        cast.sam, make_interaction(cast.org_a, cast.andy, external_id="ANDY-CALL-1"), cast.card
    )
    cast.zoe_review = make_review(
        cast.alice, make_interaction(cast.org_a, cast.zoe, external_id="ZOE-CALL-1"), cast.card
    )
    card_b = make_scorecard(cast.org_b, cast.bob)
    cast.bea_review = make_review(
        cast.bob, make_interaction(cast.org_b, cast.bea, external_id="BEA-CALL-1"), card_b
    )
    return cast


# --- QA reviews saved for a 1:1 -------------------------------------------------------------------


def test_agent_saves_own_review_from_its_page_and_it_reaches_the_prepared_session(qa):
    ann, sam = signed_in(qa.ann), signed_in(qa.sam)
    review_page = ann.get(review_url(qa.ann_review)).content.decode()
    assert f'action="{save_url(qa.ann_review)}"' in review_page and "Save for 1:1" in review_page

    r = ann.post(save_url(qa.ann_review), {"next": review_url(qa.ann_review)})
    assert r.status_code == 302 and r["Location"] == review_url(qa.ann_review)
    assert saved(qa.ann) == [qa.ann_review.pk]
    assert "Saved for 1:1" in ann.get(review_url(qa.ann_review)).content.decode()
    mine = ann.get(page(qa.org_a, "saved/")).content.decode()
    assert "ANN-CALL-1" in mine and "Calm and clear" in mine

    # The supervisor's preparation list for Ann shows it; Andy's does not.
    prep = sam.get(page(qa.org_a, f"sessions/new/?agent={qa.ann.public_id}")).content.decode()
    assert "Brought to the 1:1 with Ann Agent" in prep and review_url(qa.ann_review) in prep
    prep_andy = sam.get(page(qa.org_a, f"sessions/new/?agent={qa.andy.public_id}")).content
    assert review_url(qa.ann_review) not in prep_andy.decode()

    r = sam.post(page(qa.org_a, "sessions/new/"), {"agent": str(qa.ann.public_id)})
    assert r.status_code == 302
    with tenant_context(qa.org_a):
        session = CoachingSession.objects.get()
        assert [i.review_id for i in SessionItem.objects.filter(session=session)] == [
            qa.ann_review.pk
        ]
    detail = sam.get(r["Location"]).content.decode()
    assert review_url(qa.ann_review) in detail and "saved by" in detail.lower()
    with tenant_context(qa.org_a):
        svc.transition(session, S.SHARED, qa.sam)
    agent_view = ann.get(r["Location"]).content.decode()
    assert review_url(qa.ann_review) in agent_view and "ANN-CALL-1" in agent_view

    # Saving again un-saves (a toggle); the session keeps what it brought.
    ann.post(save_url(qa.ann_review))
    assert saved(qa.ann) == []
    with tenant_context(qa.org_a):
        assert SessionItem.objects.filter(session=session, review=qa.ann_review).exists()


def test_supervisor_saves_a_review_of_an_agent_they_coach(qa):
    with tenant_context(qa.org_a):
        labels = [a["label"] for a in review_actions(qa.ann_review, qa.sam)]
        assert "Save for 1:1" in labels and "Coach on this" in labels
    sam = signed_in(qa.sam)
    r = sam.post(save_url(qa.ann_review))
    assert r.status_code == 302 and r["Location"] == review_url(qa.ann_review)
    assert saved(qa.sam) == [qa.ann_review.pk]
    follow = sam.get(review_url(qa.ann_review)).content.decode()
    assert "Saved for your next 1:1 with Ann Agent." in follow and "Saved for 1:1" in follow
    with tenant_context(qa.org_a):
        s_ann = svc.session_prepare(supervisor=qa.sam, agent=qa.ann)
        s_andy = svc.session_prepare(supervisor=qa.sam, agent=qa.andy)
        assert [i.review_id for i in s_ann.items.all()] == [qa.ann_review.pk]
        assert not s_andy.items.exists()  # the supervisor's saved review is about Ann only
    # The admin coaches everyone and may save too.
    assert signed_in(qa.alice).post(save_url(qa.zoe_review)).status_code == 302
    assert saved(qa.alice) == [qa.zoe_review.pk]


def test_who_may_not_save_a_review(qa):
    # Another agent's review: qa does not show it to Andy, so it does not exist for him.
    andy = signed_in(qa.andy)
    assert andy.get(review_url(qa.ann_review)).status_code == 404
    assert andy.post(save_url(qa.ann_review)).status_code == 404
    # A supervisor who does not lead Zoe's team: 404 (qa's rule), no button either.
    assert signed_in(qa.sam).post(save_url(qa.zoe_review)).status_code == 404
    # Another organization's review: 404 for everyone of this one, admin included.
    for member in (qa.alice, qa.sam, qa.ann):
        assert signed_in(member).post(save_url(qa.bea_review, qa.org_a)).status_code == 404
    # A reviewer (capability) sees every review but coaches nobody: 403, no button.
    rita = make_member(qa.org_a, "agent", team=qa.team_a2, is_reviewer=True)
    rita_client = signed_in(rita)
    assert rita_client.get(review_url(qa.ann_review)).status_code == 200
    with tenant_context(qa.org_a):
        assert not [a for a in review_actions(qa.ann_review, rita) if a.get("method") == "post"]
        assert not [a for a in review_actions(qa.ann_review, qa.andy) if a.get("method") == "post"]
    assert rita_client.post(save_url(qa.ann_review)).status_code == 403
    # A draft (only its reviewer sees it) cannot be saved: 400 naming the field.
    draft = make_review(qa.sam, make_interaction(qa.org_a, qa.ann), qa.card, submit=False)
    r = signed_in(qa.sam).post(save_url(draft))
    assert r.status_code == 400 and r.content.decode().startswith("review: ")
    # Only GET a page, never save by GET.
    assert signed_in(qa.ann).get(save_url(qa.ann_review)).status_code == 405
    for member in (qa.andy, qa.sam, rita, qa.ann):
        assert saved(member) == []


def test_session_items_follow_qas_visibility_and_hidden_reviewers(qa):
    hidden = make_review(
        qa.alice,
        make_interaction(qa.org_a, qa.ann, external_id="ANN-HIDDEN"),
        qa.card,
        hide_reviewer=True,
    )
    with tenant_context(qa.org_a):
        svc.review_save_toggle(qa.sam, hidden)
        session = svc.session_prepare(supervisor=qa.sam, agent=qa.ann)
        svc.transition(session, S.SHARED, qa.sam)
        # An item whose review the viewer may not see (here: another agent's) is left out.
        SessionItem.objects.create(
            organization=qa.org_a, session=session, saved_by=qa.sam, review=qa.andy_review
        )
        session = CoachingSession.objects.select_related("organization").get(pk=session.pk)
        as_ann = session_items(session, qa.ann)
        as_sam = session_items(session, qa.sam)
        assert [i.review_id for i in as_ann] == [hidden.pk]
        assert {i.review_id for i in as_sam} == {hidden.pk, qa.andy_review.pk}
        assert as_ann[0].reviewer_name is None
        assert as_sam[0].reviewer_name == "Alice Admin"
    url = page(qa.org_a, f"sessions/{session.public_id}/")
    agent_view = signed_in(qa.ann).get(url).content.decode()
    assert "ANN-HIDDEN" in agent_view and "Reviewer hidden" in agent_view
    assert "Reviewed by Alice Admin" not in agent_view
    assert review_url(qa.andy_review) not in agent_view
    coach_view = signed_in(qa.sam).get(url).content.decode()
    assert "Reviewed by Alice Admin" in coach_view and review_url(qa.andy_review) in coach_view


# --- coaching categories and their templates ------------------------------------------------------


def errors_of(html: str) -> dict:
    return dict(re.findall(r'id="c-(\w+)-error">([^<]*)<', html))


def fresh(obj):
    with tenant_context(obj.organization_id):
        obj.refresh_from_db()
    return obj


def category(org, name) -> SessionCategory:
    with tenant_context(org):
        return SessionCategory.objects.get(organization=org, name=name)


def test_admin_lists_creates_edits_and_deactivates_categories(cast):
    alice = signed_in(cast.alice)
    listing = alice.get(page(cast.org_a, "session-categories/")).content.decode()
    for name in DEFAULT_CATEGORIES:  # every new organization starts with these
        assert name in listing
    r = alice.post(
        page(cast.org_a, "session-categories/"),
        {
            "name": "  Escalations  ",
            "prompts": "  What triggered it?  \n\n\nWho did you loop in?\n",
        },
    )
    assert r.status_code == 302
    esc = category(cast.org_a, "Escalations")
    assert esc.prompts == "What triggered it?\nWho did you loop in?" and esc.is_active

    edit = page(cast.org_a, f"session-categories/{esc.public_id}/")
    form = alice.get(edit).content.decode()
    assert 'value="Escalations"' in form and "Who did you loop in?" in form
    r = alice.post(
        edit, {"name": "Escalations & refunds", "prompts": "What happened?", "is_active": "on"}
    )
    assert r.status_code == 302
    esc = fresh(esc)
    assert (esc.name, esc.prompts, esc.is_active) == (
        "Escalations & refunds",
        "What happened?",
        True,
    )

    r = alice.post(page(cast.org_a, f"session-categories/{esc.public_id}/toggle/"))
    assert r.status_code == 302
    esc = fresh(esc)
    assert not esc.is_active
    prep = signed_in(cast.sam).get(page(cast.org_a, "sessions/new/")).content.decode()
    assert "Escalations" not in prep and "Performance" in prep
    alice.post(page(cast.org_a, f"session-categories/{esc.public_id}/toggle/"))
    esc = fresh(esc)
    assert esc.is_active


@pytest.mark.parametrize(
    "values,field,reason",
    [
        ({"name": ""}, "name", "Name the category."),
        ({"name": "   "}, "name", "Name the category."),
        ({"name": "x" * 61}, "name", "At most 60 characters."),
        ({"name": "performance"}, "name", "A category with this name exists."),
        (
            {"name": "Long", "prompts": "ok\n" + "y" * 301},
            "prompts",
            "Prompt 2 is longer than 300 characters.",
        ),
        (
            {"name": "Many", "prompts": "\n".join(f"p{i}" for i in range(21))},
            "prompts",
            "At most 20 prompts (one per line).",
        ),
        ({"name": "Huge", "prompts": "z" * 5001}, "prompts", "At most 5000 characters."),
    ],
)
def test_category_form_refuses_bad_input_naming_the_field(cast, values, field, reason):
    alice = signed_in(cast.alice)
    with tenant_context(cast.org_a):
        before = list(SessionCategory.objects.values_list("name", "prompts", "is_active"))
    r = alice.post(page(cast.org_a, "session-categories/"), values)
    assert r.status_code == 400
    assert errors_of(r.content.decode()) == {field: reason}
    dev = category(cast.org_a, "Development")
    r = alice.post(page(cast.org_a, f"session-categories/{dev.public_id}/"), values)
    assert r.status_code == 400 and errors_of(r.content.decode()) == {field: reason}
    with tenant_context(cast.org_a):
        after = list(SessionCategory.objects.values_list("name", "prompts", "is_active"))
    assert after == before  # nothing written


def test_template_prompts_are_copied_into_the_session_when_prepared(cast):
    alice, sam = signed_in(cast.alice), signed_in(cast.sam)
    perf = category(cast.org_a, "Performance")
    prep = sam.get(page(cast.org_a, f"sessions/new/?category={perf.public_id}")).content.decode()
    assert "Which customer moment are you proud of?" in prep
    r = sam.post(
        page(cast.org_a, "sessions/new/"),
        {"agent": str(cast.ann.public_id), "category": str(perf.public_id)},
    )
    assert r.status_code == 302
    with tenant_context(cast.org_a):
        session = CoachingSession.objects.get()
    assert session.prompts == DEFAULT_CATEGORIES["Performance"]
    alice.post(
        page(cast.org_a, f"session-categories/{perf.public_id}/"),
        {"name": "Performance", "prompts": "A brand-new prompt", "is_active": "on"},
    )
    detail = sam.get(r["Location"]).content.decode()
    assert "Which customer moment are you proud of?" in detail  # the session keeps its copy
    assert "A brand-new prompt" not in detail
    # Deactivated later: the session keeps its category when its preparation is edited...
    alice.post(page(cast.org_a, f"session-categories/{perf.public_id}/toggle/"))
    r = sam.post(
        page(cast.org_a, f"sessions/{session.public_id}/prep/"),
        {"category": str(perf.public_id), "purpose": "Openings"},
    )
    with tenant_context(cast.org_a):
        session.refresh_from_db()
    assert session.category_id == perf.pk and session.purpose == "Openings"
    assert session.prompts == DEFAULT_CATEGORIES["Performance"]
    # ...but a new session cannot choose it.
    r = sam.post(
        page(cast.org_a, "sessions/new/"),
        {"agent": str(cast.andy.public_id), "category": str(perf.public_id)},
    )
    assert r.status_code == 400 and "Choose an active category." in r.content.decode()
    # Changing the category copies the new one's prompts.
    dev = category(cast.org_a, "Development")
    sam.post(
        page(cast.org_a, f"sessions/{session.public_id}/prep/"), {"category": str(dev.public_id)}
    )
    with tenant_context(cast.org_a):
        session.refresh_from_db()
    assert session.prompts == DEFAULT_CATEGORIES["Development"]


def test_category_pages_are_for_admins_of_the_organization(cast):
    perf = category(cast.org_a, "Performance")
    b_perf = category(cast.org_b, "Performance")
    edit, toggle = (
        page(cast.org_a, f"session-categories/{perf.public_id}/"),
        page(cast.org_a, f"session-categories/{perf.public_id}/toggle/"),
    )
    for member in (cast.sam, cast.ann):
        c = signed_in(member)
        assert c.get(page(cast.org_a, "session-categories/")).status_code == 403
        assert c.post(page(cast.org_a, "session-categories/"), {"name": "X"}).status_code == 403
        assert c.get(edit).status_code == 403
        assert c.post(edit, {"name": "Hijacked"}).status_code == 403
        assert c.post(toggle).status_code == 403
    # Another organization's category is not found, for their admin's URL or ours.
    alice = signed_in(cast.alice)
    for path in (f"session-categories/{b_perf.public_id}/", "session-categories/x/"):
        assert alice.get(page(cast.org_a, path)).status_code == 404
    r = alice.post(page(cast.org_a, f"session-categories/{b_perf.public_id}/toggle/"))
    assert r.status_code == 404
    # A member of org B on org A's page: 404 (not their organization).
    assert signed_in(cast.bob).get(page(cast.org_a, "session-categories/")).status_code == 404
    assert category(cast.org_a, "Performance").is_active
    assert category(cast.org_b, "Performance").is_active
    with tenant_context(cast.org_a):
        assert not SessionCategory.objects.filter(name__in=["X", "Hijacked"]).exists()


def test_defaults_are_idempotent(cast):
    with tenant_context(cast.org_a):
        coaching_defaults(cast.org_a)
        assert sorted(SessionCategory.objects.values_list("name", flat=True)) == sorted(
            DEFAULT_CATEGORIES
        )
