"""Recognition's organization settings and their defaults, in one place (stored in
``Organization.settings``; the core does not learn about recognition)."""

from __future__ import annotations

RECOGNITION_DEFAULTS: dict = {
    # Customer votes an agent needs for a reward of each tier (the tier's count then restarts).
    "reward_votes_small": 1,
    "reward_votes_medium": 5,
    "reward_votes_large": 10,
    # Leaderboards: agents with fewer responses (ratings, FCR answers or QA reviews) in the
    # period are listed apart as "not enough data".
    "leaderboard_min_n": 20,
    # Bayesian prior weight: each agent's average is shrunk toward their team's mean as if they
    # had this many extra responses at the team mean.
    "leaderboard_prior_weight": 20,
    # Agents see leaderboards at all only when this is on.
    "leaderboard_agents_enabled": False,
    # When > 0, agents see only the top N and their own rank.
    "leaderboard_agents_top_n": 0,
}

# The behaviours a kudos can name, as a new organization starts (``KudosBehaviour`` rows the
# admins then edit on the "Kudos behaviours" page).
DEFAULT_KUDOS_BEHAVIOURS = (
    "Empathy",
    "Ownership",
    "Product knowledge",
    "Clear communication",
    "Teamwork",
    "Went the extra mile",
    "Solved it first time",
)


def recognition_setting(organization, key: str):
    stored = organization.settings or {}
    if key in stored:
        return stored[key]
    return RECOGNITION_DEFAULTS[key]


TIERS = ("small", "medium", "large")


def tier_threshold(organization, tier: str) -> int:
    return max(1, int(recognition_setting(organization, f"reward_votes_{tier}")))
