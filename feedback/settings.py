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
}


def org_setting(organization, key: str):
    """``organization.settings[key]`` or feedback's default for it."""
    stored = organization.settings or {}
    if key in stored:
        return stored[key]
    return FEEDBACK_DEFAULTS[key]
