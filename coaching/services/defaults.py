"""What a new organization starts with (``ORGANIZATION_DEFAULTS`` hook, and seed_demo for the
demo organizations): alert rules to the inbox and the focus-behaviour catalogue. Idempotent."""

from __future__ import annotations

from decimal import Decimal

from ..models import AlertRule, FocusBehaviour, RuleKind

DEFAULT_BEHAVIOURS = (
    "Empathy",
    "Product knowledge",
    "Ownership",
    "Clarity",
    "Efficiency",
    "Tone",
    "Process adherence",
)

DEFAULT_RULES = (
    {"name": "Low rating (2 stars or fewer)", "kind": RuleKind.STARS_AT_MOST, "threshold": 2},
    {"name": "Not resolved", "kind": RuleKind.NOT_RESOLVED},
)


def coaching_defaults(organization) -> None:
    for i, name in enumerate(DEFAULT_BEHAVIOURS):
        FocusBehaviour.objects.get_or_create(
            organization=organization, name=name, defaults={"position": i}
        )
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
