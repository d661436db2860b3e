"""QA's organization settings and their defaults, in one place (stored in
``Organization.settings``; the core does not learn about QA)."""

from __future__ import annotations

QA_DEFAULTS: dict = {
    # Customer-judged QA: share (0–100 %) of the customer's star rating in the final QA score;
    # 0 turns the blend off.
    "qa_blend_weight": 0,
    # Days after a review is submitted during which its agent may dispute it.
    "qa_dispute_window_days": 7,
    # A team lead approves a dispute before it reaches the reviewer.
    "qa_dispute_lead_approval": False,
    # A review passes at or above this QA % (reports show pass rate against it).
    "qa_pass_baseline": 80,
    # The correlation report says "not enough data" below this many paired reviews.
    "qa_correlation_min_n": 10,
}


def qa_setting(organization, key: str):
    stored = organization.settings or {}
    if key in stored:
        return stored[key]
    return QA_DEFAULTS[key]
