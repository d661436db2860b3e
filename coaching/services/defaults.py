"""What a new organization starts with (``ORGANIZATION_DEFAULTS`` hook, and seed_demo for the
demo organizations): alert rules to the inbox, the focus-behaviour catalogue and the 1:1 coaching
categories with their template prompts (admins edit them). Idempotent."""

from __future__ import annotations

from decimal import Decimal

from ..models import AlertRule, FocusBehaviour, RuleKind
from ..models_sessions import SessionCategory

DEFAULT_BEHAVIOURS = (
    "Empathy",
    "Product knowledge",
    "Ownership",
    "Clarity",
    "Efficiency",
    "Tone",
    "Process adherence",
)

# 1:1 coaching categories and their template prompts (one per line).
DEFAULT_CATEGORIES = {
    "Performance": "What went well since our last 1:1?\nWhich customer moment are you proud of?\n"
    "What is one thing to do differently next week?",
    "Development": "Where do you want to be in six months?\nWhat skill would help most?\n"
    "What support do you need from me?",
    "Quality": "Let's listen to one saved interaction together.\nWhat did the customer need?\n"
    "What would a five-star answer have looked like?",
}

DEFAULT_RULES = (
    {"name": "Low rating (2 stars or fewer)", "kind": RuleKind.STARS_AT_MOST, "threshold": 2},
    {"name": "Not resolved", "kind": RuleKind.NOT_RESOLVED},
)


def coaching_defaults(organization) -> None:
    for i, name in enumerate(DEFAULT_BEHAVIOURS):
        FocusBehaviour.objects.get_or_create(
            organization=organization, name=name, defaults={"position": i}
        )
    if not SessionCategory.objects.filter(organization=organization).exists():
        for name, prompts in DEFAULT_CATEGORIES.items():
            SessionCategory.objects.create(organization=organization, name=name, prompts=prompts)
    if not AlertRule.objects.filter(organization=organization, is_default=True).exists():
        for spec in DEFAULT_RULES:
            AlertRule.objects.create(
                organization=organization,
                name=spec["name"],
                kind=spec["kind"],
                threshold=Decimal(spec["threshold"]) if "threshold" in spec else None,
                channels=[],
                is_default=True,
            )
