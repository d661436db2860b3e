"""Scorecard builder: pages, inline validation, reorder, lifecycle and versioning."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Membership
from qa.models import Criterion, Review, Scorecard, ScorecardVersion, Section, VersionStatus
from qa.services import scorecards as svc

from .qa_factories import GOOD, criteria_by_title, make_interaction, make_review, make_scorecard

pytestmark = pytest.mark.django_db


def url(org, name, **kw):
    return reverse(f"qa:{name}", kwargs={"org": org.slug, **kw})


def criterion_post(**overrides):
    data = {
        "title": "Empathy",
        "description": "Acknowledges how the customer feels.",
        "scale": "1_5",
        "weight": "20",
        "na_allowed": "on",
        "critical_effect": "section",
        "agent_controllable": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_admin_creates_a_scorecard_adds_sections_and_criteria_and_publishes(cast, client_for):
    c = client_for(cast.alice)
    assert c.get(url(cast.org_a, "scorecard_list")).status_code == 200
    r = c.post(url(cast.org_a, "scorecard_list"), {"name": "Phone QA"})
    assert r.status_code == 302
    with tenant_context(cast.org_a):
        card = Scorecard.objects.get(name="Phone QA")
        section = Section.objects.get(version__scorecard=card)
    detail = url(cast.org_a, "scorecard_detail", scorecard_id=card.public_id)
    page = c.get(detail)
    assert page.status_code == 200
    assert b"Not ready to publish" in page.content

    r = c.post(url(cast.org_a, "criterion_add", section_id=section.public_id), criterion_post())
    assert r.status_code == 302
    r = c.post(
        url(cast.org_a, "criterion_add", section_id=section.public_id),
        criterion_post(
            title="Verifies identity",
            scale="yes_no",
            weight="0",
            critical="on",
            critical_effect="review",
            fail_at_or_below="0",
            na_allowed=None,
        ),
    )
    assert r.status_code == 302
    r = c.post(url(cast.org_a, "section_add", scorecard_id=card.public_id), {"title": "Wrap-up"})
    assert r.status_code == 302
    r = c.post(
        url(cast.org_a, "criterion_add", section_id=_section(cast, card, "Wrap-up").public_id),
        criterion_post(
            title="Next steps",
            scale="custom",
            custom_points="2 = Exceeds\n1 = Meets\n0 = Below",
            weight="10",
        ),
    )
    assert r.status_code == 302
    assert b"Ready to publish" in c.get(detail).content
    r = c.post(url(cast.org_a, "scorecard_publish", scorecard_id=card.public_id))
    assert r.status_code == 302
    with tenant_context(cast.org_a):
        version = ScorecardVersion.objects.get(scorecard=card)
        assert version.status == VersionStatus.PUBLISHED and version.published_by == cast.alice
        custom = Criterion.objects.get(version=version, title="Next steps")
        assert custom.values == [2, 1, 0] and custom.label_for(1) == "Meets"
        critical = Criterion.objects.get(version=version, title="Verifies identity")
        assert critical.critical and critical.fail_at_or_below == 0 and not critical.na_allowed


def _section(cast, card, title):
    with tenant_context(cast.org_a):
        return Section.objects.get(version__scorecard=card, title=title)


def test_critical_criterion_without_failing_value_names_the_field(cast, client_for):
    card = make_scorecard(cast.org_a, cast.alice, publish=False)
    section = _section(cast, card, "Opening")
    r = client_for(cast.alice).post(
        url(cast.org_a, "criterion_add", section_id=section.public_id),
        criterion_post(critical="on", fail_at_or_below=""),
    )
    assert r.status_code == 400
    assert b"A critical criterion needs a failing value." in r.content
    assert b'id="id_fail_at_or_below_error"' in r.content


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"weight": "101"}, "weight", b"less than or equal to 100"),
        ({"weight": "-1"}, "weight", b"greater than or equal to 0"),
        ({"title": ""}, "title", b"This field is required."),
        ({"scale": "custom", "custom_points": "1 = Only"}, "custom_points", b"at least two"),
        ({"scale": "custom", "custom_points": "x = Bad"}, "custom_points", b"value = label"),
        (
            {"critical": "on", "fail_at_or_below": "5"},
            "fail_at_or_below",
            b"The best answer cannot fail",
        ),
        ({"critical": "on", "fail_at_or_below": "9"}, "fail_at_or_below", b"must be on the scale"),
    ],
)
def test_bad_criterion_input_names_the_field(cast, client_for, overrides, field, message):
    card = make_scorecard(cast.org_a, cast.alice, publish=False)
    section = _section(cast, card, "Opening")
    r = client_for(cast.alice).post(
        url(cast.org_a, "criterion_add", section_id=section.public_id), criterion_post(**overrides)
    )
    assert r.status_code == 400
    assert f'id="id_{field}_error"'.encode() in r.content
    assert message in r.content


def test_publishing_needs_a_weighted_criterion(cast, client_for):
    with tenant_context(cast.org_a):
        card = svc.scorecard_create(organization=cast.org_a, name="Empty")
        section = svc.draft_of(card).sections.get()
        svc.criterion_add(section, title="Gate", scale="yes_no", weight=0)
    r = client_for(cast.alice).post(
        url(cast.org_a, "scorecard_publish", scorecard_id=card.public_id)
    )
    assert r.status_code == 400
    assert b"at least one criterion with a weight above 0" in r.content
    with tenant_context(cast.org_a):
        assert svc.draft_of(card) is not None


def test_reorder_buttons_answer_the_builder_partial_to_htmx(cast, client_for):
    card = make_scorecard(cast.org_a, cast.alice, publish=False)
    with tenant_context(cast.org_a):
        tone = Criterion.objects.get(title="Tone")
        resolution = Section.objects.get(title="Resolution")
    c = client_for(cast.alice)
    r = c.post(
        url(cast.org_a, "criterion_move", criterion_id=tone.public_id),
        {"direction": "up"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200 and b'id="builder"' in r.content and b"<html" not in r.content
    with tenant_context(cast.org_a):
        order = list(
            Criterion.objects.filter(section__title="Opening").values_list("title", flat=True)
        )
    assert order == ["Tone", "Greeting"]
    # moving the first section up does nothing; moving it down swaps
    r = c.post(
        url(cast.org_a, "section_move", section_id=resolution.public_id), {"direction": "up"}
    )
    assert r.status_code == 302
    with tenant_context(cast.org_a):
        titles = list(
            Section.objects.filter(version__scorecard=card).values_list("title", flat=True)
        )
    assert titles == ["Resolution", "Opening"]
    # past the end of its section, a criterion moves to the neighbouring section
    c.post(url(cast.org_a, "criterion_move", criterion_id=tone.public_id), {"direction": "up"})
    with tenant_context(cast.org_a):
        tone.refresh_from_db()
        assert tone.section.title == "Resolution"


def test_editing_a_published_card_makes_a_new_draft_and_old_reviews_keep_their_version(
    cast, client_for
):
    card = make_scorecard(cast.org_a, cast.alice)
    interaction = make_interaction(cast.org_a, cast.ann)
    review = make_review(cast.sam, interaction, card)
    assert float(review.score) == 93.75
    with tenant_context(cast.org_a):
        v1 = ScorecardVersion.objects.get(scorecard=card)
        tone_v1 = Criterion.objects.get(version=v1, title="Tone")
    c = client_for(cast.alice)
    # a published version refuses edits, through the page and the service
    r = c.post(url(cast.org_a, "criterion_edit", criterion_id=tone_v1.public_id), criterion_post())
    assert r.status_code == 302
    with tenant_context(cast.org_a), pytest.raises(svc.NotEditable):
        svc.criterion_update(tone_v1, **criterion_post(weight=5))
    assert c.post(url(cast.org_a, "scorecard_edit", scorecard_id=card.public_id)).status_code == 302
    with tenant_context(cast.org_a):
        v2 = ScorecardVersion.objects.get(scorecard=card, status=VersionStatus.DRAFT)
        tone_v2 = Criterion.objects.get(version=v2, title="Tone")
    assert v2.number == 2 and tone_v2.lineage == tone_v1.lineage and tone_v2.pk != tone_v1.pk
    r = c.post(
        url(cast.org_a, "criterion_edit", criterion_id=tone_v2.public_id),
        criterion_post(title="Tone", weight="80"),
    )
    assert r.status_code == 302
    assert (
        c.post(url(cast.org_a, "scorecard_publish", scorecard_id=card.public_id)).status_code == 302
    )
    with tenant_context(cast.org_a):
        v1.refresh_from_db()
        tone_v1.refresh_from_db()
        review.refresh_from_db()
        assert v1.status == VersionStatus.SUPERSEDED and tone_v1.weight == 20
        assert review.version_id == v1.pk and float(review.score) == 93.75
        assert ScorecardVersion.objects.get(scorecard=card, status="published").number == 2
    # a new review uses version 2 and its weights
    second = make_review(cast.sam, make_interaction(cast.org_a, cast.ann), card)
    assert second.version_id != v1.pk
    # the old review still shows its own version's criteria
    page = client_for(cast.ann).get(
        reverse("qa:review_detail", kwargs={"org": "acme", "review_id": review.public_id})
    )
    assert b"Chat quality v1" in page.content


def test_archiving_hides_the_card_from_new_reviews_and_keeps_scores(cast, client_for):
    card = make_scorecard(cast.org_a, cast.alice)
    interaction = make_interaction(cast.org_a, cast.ann)
    review = make_review(cast.sam, interaction, card, GOOD)
    c = client_for(cast.alice)
    assert (
        c.post(url(cast.org_a, "scorecard_archive", scorecard_id=card.public_id)).status_code == 302
    )
    page = client_for(cast.sam).get(
        url(cast.org_a, "interaction", interaction_id=interaction.public_id)
    )
    assert b"No published scorecard applies" in page.content
    with tenant_context(cast.org_a):
        assert float(Review.objects.get(pk=review.pk).score) == 93.75


def test_scorecard_limited_to_a_team_and_channel_applies_only_there(cast, client_for):
    card = make_scorecard(cast.org_a, cast.alice)
    c = client_for(cast.alice)
    r = c.post(
        url(cast.org_a, "scorecard_settings", scorecard_id=card.public_id),
        {"name": "Chat quality", "teams": [cast.team_a2.pk], "channels": ["chat"]},
    )
    assert r.status_code == 302
    ann_chat = make_interaction(cast.org_a, cast.ann, channel="chat")
    zoe_chat = make_interaction(cast.org_a, cast.zoe, channel="chat")
    zoe_mail = make_interaction(cast.org_a, cast.zoe, channel="email")
    admin = client_for(cast.alice)

    def offered(interaction):
        page = admin.get(url(cast.org_a, "interaction", interaction_id=interaction.public_id))
        return b"Chat quality (v1)" in page.content

    assert offered(zoe_chat) and not offered(zoe_mail) and not offered(ann_chat)
    r = c.post(
        url(cast.org_a, "scorecard_settings", scorecard_id=card.public_id),
        {"name": "Chat quality", "channels": ["fax"]},
    )
    assert r.status_code == 400 and b"id_channels_error" in r.content


def test_only_admins_build_scorecards(cast, client_for):
    card = make_scorecard(cast.org_a, cast.alice, publish=False)
    section = _section(cast, card, "Opening")
    by = criteria_by_title(svc_draft(cast, card))
    reviewer = cast.sam
    with tenant_context(cast.org_a):
        Membership.objects.filter(pk=reviewer.pk).update(is_reviewer=True)
    for member in (cast.sam, cast.ann):
        c = client_for(member)
        assert c.get(url(cast.org_a, "scorecard_list")).status_code == 403
        assert (
            c.get(url(cast.org_a, "scorecard_detail", scorecard_id=card.public_id)).status_code
            == 403
        )
        assert (
            c.post(url(cast.org_a, "scorecard_publish", scorecard_id=card.public_id)).status_code
            == 403
        )
        r = c.post(url(cast.org_a, "criterion_add", section_id=section.public_id), criterion_post())
        assert r.status_code == 403
        r = c.post(url(cast.org_a, "criterion_delete", criterion_id=by["Tone"].public_id))
        assert r.status_code == 403
        assert c.get(url(cast.org_a, "settings")).status_code == 403
    with tenant_context(cast.org_a):
        assert Criterion.objects.filter(title="Tone").exists()


def svc_draft(cast, card):
    with tenant_context(cast.org_a):
        return svc.draft_of(card)


def test_qa_settings_page_validates_and_saves(cast, client_for):
    c = client_for(cast.alice)
    assert c.get(url(cast.org_a, "settings")).status_code == 200
    base = {
        "qa_blend_weight": "30",
        "qa_dispute_window_days": "5",
        "qa_pass_baseline": "85",
        "qa_correlation_min_n": "12",
        "qa_dispute_lead_approval": "on",
    }
    r = c.post(url(cast.org_a, "settings"), {**base, "qa_blend_weight": "130"})
    assert r.status_code == 400 and b'id="id_qa_blend_weight_error"' in r.content
    assert c.post(url(cast.org_a, "settings"), base).status_code == 302
    cast.org_a.refresh_from_db()
    assert cast.org_a.settings["qa_blend_weight"] == 30
    assert cast.org_a.settings["qa_dispute_lead_approval"] is True
