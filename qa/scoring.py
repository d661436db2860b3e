"""The QA scoring contract, in one pure module (no Django, no database).

Every review page prints :data:`CONTRACT`; services store what :func:`score` computes; reports
aggregate the stored numbers. Arithmetic is exact (``Fraction``) so the invariants below hold
with equality, and rounding happens only when a number is shown or stored.

1. A criterion's answer maps linearly onto 0–100 %: ``(value − min) / (max − min)`` of its scale
   (yes/no is 1/0, 1–3, 1–5 or an admin's labelled points).
2. A section's % and the review's % are weighted means over *answered* criteria. N/A leaves both
   the numerator and the denominator; a criterion of weight 0 counts only as a gate.
3. A critical criterion *fails* when its answer is at or below its failing value. It zeroes its
   section (every answered criterion of the section then counts 0 %) or the whole review, as the
   scorecard says. A whole-review failure wins over everything, including "not scorable".
4. A review whose weighted criteria are all N/A is *not scorable* (no number), never 0 %.
5. Customer-judged QA (when the organization enables it with weight w): final % =
   (1 − w) × QA % + w × customer %, customer % = (stars − 1) / 4 × 100 on the same linear rule.
   Without a customer rating the final % is the QA %; a whole-review failure stays 0 %; a review
   that is not scorable stays not scorable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

SECTION = "section"
REVIEW = "review"

CONTRACT = [
    "Each answer maps to 0–100 %: (value − min) ÷ (max − min) of its scale.",
    "Section % and review % are weighted means over answered criteria; "
    "N/A leaves both the numerator and the denominator.",
    "A critical criterion fails at or below its failing value and zeroes its section "
    "or the whole review, as the scorecard says; a whole-review failure wins over everything.",
    "A review whose weighted criteria are all N/A is “not scorable”, never 0 %.",
    "Customer-judged QA, when enabled with weight w: final % = (1 − w) × QA % + w × customer %, "
    "customer % = (stars − 1) ÷ 4 × 100. No rating: final % = QA %.",
]


class NA:
    """The N/A answer (a singleton; ``None`` means "not answered yet")."""

    def __repr__(self) -> str:
        return "N/A"


NOT_APPLICABLE = NA()


@dataclass(frozen=True)
class CriterionSpec:
    key: object
    section: object
    weight: int
    minimum: int
    maximum: int
    critical: bool = False
    effect: str = SECTION  # SECTION or REVIEW, when critical
    fail_at_or_below: int | None = None

    def __post_init__(self):
        if self.maximum <= self.minimum:
            raise ValueError("a scale needs max > min")
        if self.weight < 0:
            raise ValueError("weights are ≥ 0")
        if self.critical and self.fail_at_or_below is None:
            raise ValueError("a critical criterion needs a failing value")
        if self.effect not in (SECTION, REVIEW):
            raise ValueError("critical effect is 'section' or 'review'")


@dataclass
class CriterionResult:
    key: object
    percent: Fraction | None  # None: N/A or unanswered
    na: bool
    failed: bool


@dataclass
class SectionResult:
    key: object
    percent: Fraction | None  # None: nothing weighted answered
    weight: int  # answered weight (the section's share of the review)
    failed_by: list = field(default_factory=list)  # criterion keys that zeroed it


@dataclass
class ScoreResult:
    percent: Fraction | None  # None: not scorable
    failed_by: list  # criterion keys that zeroed the whole review
    criteria: dict
    sections: dict
    missing: list  # criteria without an answer (a draft)

    @property
    def scorable(self) -> bool:
        return self.percent is not None

    @property
    def failed(self) -> bool:
        return bool(self.failed_by)


def criterion_percent(value: int, minimum: int, maximum: int) -> Fraction:
    if not minimum <= value <= maximum:
        raise ValueError(f"{value} is outside the scale {minimum}–{maximum}")
    return Fraction(value - minimum, maximum - minimum) * 100


def is_failing(spec: CriterionSpec, value) -> bool:
    return (
        spec.critical
        and value is not None
        and value is not NOT_APPLICABLE
        and value <= spec.fail_at_or_below
    )


def score(specs: Iterable[CriterionSpec], answers: Mapping) -> ScoreResult:
    """Score ``answers`` (criterion key → int value, ``NOT_APPLICABLE`` or missing/None)."""
    specs = list(specs)
    criteria: dict = {}
    missing: list = []
    section_order: list = []
    for spec in specs:
        if spec.section not in section_order:
            section_order.append(spec.section)
        value = answers.get(spec.key)
        if value is None:
            missing.append(spec.key)
            criteria[spec.key] = CriterionResult(spec.key, None, False, False)
        elif value is NOT_APPLICABLE:
            criteria[spec.key] = CriterionResult(spec.key, None, True, False)
        else:
            criteria[spec.key] = CriterionResult(
                spec.key,
                criterion_percent(value, spec.minimum, spec.maximum),
                False,
                is_failing(spec, value),
            )

    review_failed_by = [s.key for s in specs if criteria[s.key].failed and s.effect == REVIEW]
    sections: dict = {}
    total_num = Fraction(0)
    total_den = 0
    for section in section_order:
        members = [s for s in specs if s.section == section]
        failed_by = [s.key for s in members if criteria[s.key].failed and s.effect == SECTION]
        num, den = Fraction(0), 0
        for s in members:
            result = criteria[s.key]
            if result.percent is None or s.weight == 0:
                continue
            den += s.weight
            if not failed_by:
                num += result.percent * s.weight
        percent = Fraction(0) if failed_by else (num / den if den else None)
        sections[section] = SectionResult(section, percent, den, failed_by)
        total_num += num
        total_den += den

    if review_failed_by:
        percent = Fraction(0)
    elif total_den:
        percent = total_num / total_den
    else:
        percent = None
    return ScoreResult(percent, review_failed_by, criteria, sections, missing)


def customer_percent(stars: int) -> Fraction:
    return criterion_percent(stars, 1, 5)


def blend(
    qa_percent: Fraction | None, stars: int | None, weight_pct: int, *, failed: bool = False
) -> Fraction | None:
    """The final % with customer-judged QA (rule 5 of the contract)."""
    if qa_percent is None:
        return None
    if failed:
        return Fraction(0)
    if not weight_pct or stars is None:
        return Fraction(qa_percent)
    w = Fraction(weight_pct, 100)
    return (1 - w) * qa_percent + w * customer_percent(stars)


def rounded(percent: Fraction | None, places: int = 1) -> float | None:
    return None if percent is None else round(float(percent), places)
