"""The scoring contract (qa/scoring.py): unit examples and hypothesis properties."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa import scoring
from qa.scoring import NOT_APPLICABLE, REVIEW, SECTION, CriterionSpec, blend, score

YES_NO = {"minimum": 0, "maximum": 1}
ONE_FIVE = {"minimum": 1, "maximum": 5}


def spec(key, section="s", weight=10, scale=ONE_FIVE, **kw):
    return CriterionSpec(key=key, section=section, weight=weight, **scale, **kw)


# --- unit examples --------------------------------------------------------------------------


def test_each_answer_maps_linearly_to_percent():
    assert scoring.criterion_percent(1, 1, 5) == 0
    assert scoring.criterion_percent(3, 1, 5) == 50
    assert scoring.criterion_percent(2, 1, 3) == 50
    assert scoring.criterion_percent(1, 0, 1) == 100
    with pytest.raises(ValueError):
        scoring.criterion_percent(6, 1, 5)


def test_review_percent_is_the_weighted_mean_of_answered_criteria():
    specs = [spec("a", weight=30), spec("b", weight=10, scale=YES_NO), spec("c", weight=60)]
    result = score(specs, {"a": 5, "b": 0, "c": NOT_APPLICABLE})
    # (100×30 + 0×10) / (30 + 10): c's N/A leaves numerator and denominator
    assert result.percent == 75
    assert result.scorable and not result.failed


def test_all_na_is_not_scorable_never_zero():
    specs = [spec("a"), spec("b")]
    result = score(specs, {"a": NOT_APPLICABLE, "b": NOT_APPLICABLE})
    assert result.percent is None and not result.scorable


def test_only_zero_weight_answered_is_not_scorable():
    result = score([spec("a", weight=0), spec("b")], {"a": 5, "b": NOT_APPLICABLE})
    assert result.percent is None


def test_failed_critical_zeroes_its_section_and_says_why():
    specs = [
        spec(
            "greet",
            section="open",
            weight=10,
            scale=YES_NO,
            critical=True,
            effect=SECTION,
            fail_at_or_below=0,
        ),
        spec("tone", section="open", weight=10),
        spec("fix", section="solve", weight=20),
    ]
    result = score(specs, {"greet": 0, "tone": 5, "fix": 5})
    assert result.sections["open"].percent == 0
    assert result.sections["open"].failed_by == ["greet"]
    assert result.sections["solve"].percent == 100
    # the zeroed section keeps its weight (20) in the denominator: 100×20 / 40
    assert result.percent == 50
    assert not result.failed


def test_failed_critical_with_review_effect_zeroes_the_whole_review():
    specs = [
        spec("privacy", weight=0, scale=YES_NO, critical=True, effect=REVIEW, fail_at_or_below=0),
        spec("tone", weight=10),
    ]
    result = score(specs, {"privacy": 0, "tone": 5})
    assert result.percent == 0 and result.failed and result.failed_by == ["privacy"]
    # it wins over "not scorable" too
    assert score(specs, {"privacy": 0, "tone": NOT_APPLICABLE}).percent == 0


def test_critical_fails_at_or_below_its_failing_value_only():
    specs = [spec("k", critical=True, effect=REVIEW, fail_at_or_below=2)]
    assert score(specs, {"k": 2}).failed
    assert not score(specs, {"k": 3}).failed
    assert not score(specs, {"k": NOT_APPLICABLE}).failed


def test_unanswered_criteria_are_listed_as_missing():
    result = score([spec("a"), spec("b")], {"a": 4})
    assert result.missing == ["b"]
    assert result.percent == 75


def test_critical_needs_a_failing_value():
    with pytest.raises(ValueError):
        spec("k", critical=True)


def test_blend_shows_both_parts_formula():
    # 30 %: 0.7 × 80 + 0.3 × (4 − 1)/4 × 100 = 56 + 22.5
    assert blend(Fraction(80), 4, 30) == Fraction(785, 10)
    assert blend(Fraction(80), None, 30) == 80  # no rating: QA only
    assert blend(Fraction(80), 1, 0) == 80  # blend off
    assert blend(None, 5, 30) is None  # not scorable stays not scorable
    assert blend(Fraction(0), 5, 30, failed=True) == 0  # a failed review stays 0


# --- properties ---------------------------------------------------------------------------------

SCALES = st.sampled_from([(0, 1), (1, 3), (1, 5), (-2, 2), (0, 10)])


@st.composite
def scorecards(draw, min_size=1):
    n = draw(st.integers(min_size, 8))
    specs, answers = [], {}
    for i in range(n):
        lo, hi = draw(SCALES)
        critical = draw(st.booleans())
        spec_ = CriterionSpec(
            key=i,
            section=draw(st.integers(0, 2)),
            weight=draw(st.integers(0, 100)),
            minimum=lo,
            maximum=hi,
            critical=critical,
            effect=draw(st.sampled_from([SECTION, REVIEW])),
            fail_at_or_below=draw(st.integers(lo, hi - 1)) if critical else None,
        )
        specs.append(spec_)
        answers[i] = draw(st.one_of(st.just(NOT_APPLICABLE), st.integers(lo, hi)))
    return specs, answers


@settings(max_examples=300, deadline=None)
@given(scorecards())
def test_property_percentages_stay_within_0_and_100(card):
    specs, answers = card
    result = score(specs, answers)
    assert result.percent is None or 0 <= result.percent <= 100
    for section in result.sections.values():
        assert section.percent is None or 0 <= section.percent <= 100
    for criterion in result.criteria.values():
        assert criterion.percent is None or 0 <= criterion.percent <= 100


@settings(max_examples=300, deadline=None)
@given(scorecards(), st.integers(0, 100), st.sampled_from([(0, 1), (1, 5)]), st.booleans())
def test_property_an_na_criterion_changes_nothing(card, weight, scale, critical):
    specs, answers = card
    before = score(specs, answers)
    extra = CriterionSpec(
        key="extra",
        section=0,
        weight=weight,
        minimum=scale[0],
        maximum=scale[1],
        critical=critical,
        effect=REVIEW,
        fail_at_or_below=scale[0] if critical else None,
    )
    after = score([*specs, extra], {**answers, "extra": NOT_APPLICABLE})
    assert after.percent == before.percent
    assert after.failed_by == before.failed_by
    for key, section in before.sections.items():
        assert after.sections[key].percent == section.percent


@settings(max_examples=300, deadline=None)
@given(scorecards(), st.integers(1, 50))
def test_property_scaling_every_weight_changes_nothing(card, factor):
    specs, answers = card
    scaled = [CriterionSpec(**{**s.__dict__, "weight": s.weight * factor}) for s in specs]
    assert score(scaled, answers).percent == score(specs, answers).percent


@settings(max_examples=300, deadline=None)
@given(scorecards())
def test_property_critical_failures_take_precedence(card):
    specs, answers = card
    result = score(specs, answers)
    failing = [s for s in specs if scoring.is_failing(s, answers[s.key])]
    if any(s.effect == REVIEW for s in failing):
        assert result.percent == 0 and result.failed
        return
    assert not result.failed
    for s in failing:  # every section with a failed critical is 0 %
        assert result.sections[s.section].percent == 0
    # and failing can only lower the score: the same answers without the critical flags
    relaxed = [CriterionSpec(**{**s.__dict__, "critical": False}) for s in specs]
    unfailed = score(relaxed, answers).percent
    if result.percent is not None:
        assert unfailed is not None and result.percent <= unfailed


@settings(max_examples=200, deadline=None)
@given(scorecards(), st.integers(0, 100), st.one_of(st.none(), st.integers(1, 5)))
def test_property_blend_stays_between_its_parts(card, weight, stars):
    specs, answers = card
    result = score(specs, answers)
    final = blend(result.percent, stars, weight, failed=result.failed)
    if result.percent is None:
        assert final is None
        return
    assert 0 <= final <= 100
    if stars is not None and not result.failed:
        parts = [result.percent, scoring.customer_percent(stars)]
        assert min(parts) <= final <= max(parts)
