"""Feedback's organization settings and their defaults, in one place.

Organizations store overrides in ``Organization.settings`` (a JSON object); feedback keeps its
own defaults here rather than in the core so the core does not learn about surveys.
"""

from __future__ import annotations

FEEDBACK_DEFAULTS: dict = {
    # The same customer e-mail is surveyed at most once per this many days (0 = never suppress).
    "suppression_days": 1,
    # An interaction older than this is stored and counts, but is never surveyed; a sent
    # survey left unanswered this long expires.
    "survey_expiry_days": 14,
    # Delay between ingestion and sending the survey.
    "send_delay_minutes": 0,
    # Channels an organization adds to the built-in ones (lower-case identifiers).
    "custom_channels": [],
    # Minutes after the last answer before a survey is finished and locked.
    "finish_window_minutes": 60,
    # Where surveys of test-mode interactions go (empty: nowhere).
    "test_address": "",
    # The survey's optional questions (feedback/services/survey.py QUESTIONS) that are asked.
    "survey_questions": ["comment", "resolved", "qualities", "reward"],
    # Service-quality chips: positive ones for 4-5 stars, improvement ones for 1-3 stars.
    # The defaults are translated on the page; an organization's own labels are shown as typed.
    "qualities_positive": ["Friendly", "Knowledgeable", "Quick", "Clear", "Went the extra mile"],
    "qualities_improvement": [
        "Friendliness",
        "Knowledge",
        "Speed",
        "Clarity",
        "Follow-up",
    ],
    # Ratings at or above this many stars are asked for a reward recommendation.
    "reward_threshold": 5,
    # The request e-mail's subject and intro; empty uses the translated default. Placeholders:
    # {agent}, {organization}, {customer}.
    "email_subject": "",
    "email_intro": "",
    # Repeat-contact FCR: the same customer back within this many days is a repeat contact.
    "repeat_contact_days": 7,
}


def org_setting(organization, key: str):
    """``organization.settings[key]`` or feedback's default for it."""
    stored = organization.settings or {}
    if key in stored:
        return stored[key]
    return FEEDBACK_DEFAULTS[key]
