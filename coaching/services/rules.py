"""What each rule kind means, in one place: validation of a rule's settings and matching a
response against it. Patterns run with RE2 (linear time: a customer comment cannot make a
catastrophic-backtracking pattern such as ``(a+)+$`` hang a worker)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import re2

from ..models import AlertChannel, AlertRule, RuleKind

MAX_KEYWORDS = 50
MAX_WINDOW = 200


class RuleInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


@lru_cache(maxsize=512)
def compiled(pattern: str):
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = 8 << 20  # a huge pattern fails to compile instead of eating memory
    return re2.compile(pattern, options)


def pattern_error(pattern: str) -> str | None:
    if not pattern:
        return "Enter a pattern."
    try:
        compiled(pattern)
    except re2.error as exc:
        return f"Not a valid pattern: {exc}"
    return None


def clean_rule(values: dict) -> dict:
    """Validate a rule's fields (names each bad field). Returns the cleaned values."""
    errors: dict[str, str] = {}
    kind = values.get("kind")
    out: dict = {
        "kind": kind,
        "threshold": None,
        "window": None,
        "keywords": [],
        "pattern": "",
    }
    if kind not in RuleKind.values:
        errors["kind"] = "Choose a rule type."
    threshold = values.get("threshold")
    if kind in (RuleKind.STARS_AT_MOST, RuleKind.ROLLING_AVERAGE):
        try:
            threshold = Decimal(str(threshold).strip())
        except (InvalidOperation, ValueError, TypeError):
            threshold = None
        if kind == RuleKind.STARS_AT_MOST and (
            threshold is None or threshold != threshold.to_integral() or not 1 <= threshold <= 5
        ):
            errors["threshold"] = "Enter a whole number of stars from 1 to 5."
        elif kind == RuleKind.ROLLING_AVERAGE and (threshold is None or not 1 < threshold <= 5):
            errors["threshold"] = "Enter an average above 1 and at most 5 (e.g. 3.5)."
        out["threshold"] = threshold
    if kind == RuleKind.ROLLING_AVERAGE:
        try:
            window = int(values.get("window"))
        except (TypeError, ValueError):
            window = 0
        if not 2 <= window <= MAX_WINDOW:
            errors["window"] = f"Enter how many responses, from 2 to {MAX_WINDOW}."
        out["window"] = window
    if kind == RuleKind.COMMENT_KEYWORDS:
        raw = values.get("keywords") or []
        if isinstance(raw, str):
            raw = raw.replace("\n", ",").split(",")
        keywords = [k.strip()[:100] for k in raw if k and k.strip()]
        if not keywords:
            errors["keywords"] = "Enter at least one keyword."
        elif len(keywords) > MAX_KEYWORDS:
            errors["keywords"] = f"At most {MAX_KEYWORDS} keywords."
        out["keywords"] = keywords
    if kind == RuleKind.COMMENT_REGEX:
        pattern = (values.get("pattern") or "").strip()
        if len(pattern) > 500:
            errors["pattern"] = "At most 500 characters."
        elif msg := pattern_error(pattern):
            errors["pattern"] = msg
        out["pattern"] = pattern
    channels = values.get("channels") or []
    bad = [c for c in channels if c not in AlertChannel.values]
    if bad:
        errors["channels"] = "Choose from e-mail, Slack and the outbound webhook."
    out["channels"] = [c for c in AlertChannel.values if c in channels]
    name = (values.get("name") or "").strip()
    if not name:
        errors["name"] = "Give the rule a name."
    out["name"] = name[:120]
    if errors:
        raise RuleInvalid(errors)
    return out


@dataclass(frozen=True)
class Answer:
    """What a rule looks at: the response as the ``response.answered`` event carries it."""

    stars: int | None
    resolved: bool | None
    nps: int | None
    comment: str


def answer_from(data: dict) -> Answer:
    return Answer(
        stars=data.get("stars"),
        resolved=data.get("resolved"),
        nps=data.get("nps"),
        comment=data.get("comment") or "",
    )


def matches(rule: AlertRule, answer: Answer) -> str | None:
    """The reason the rule fires for this answer, or None. (Rolling averages: see alerts.)"""
    kind = rule.kind
    if kind == RuleKind.STARS_AT_MOST:
        if answer.stars is not None and answer.stars <= int(rule.threshold):
            return f"{answer.stars}-star rating (rule: stars ≤ {int(rule.threshold)})"
    elif kind == RuleKind.NOT_RESOLVED:
        if answer.resolved is False:
            return "The customer says the issue was not resolved"
    elif kind == RuleKind.NPS_DETRACTOR:
        if answer.nps is not None and answer.nps <= 6:
            return f"NPS detractor ({answer.nps}/10)"
    elif kind == RuleKind.COMMENT_KEYWORDS:
        comment = answer.comment.casefold()
        for keyword in rule.keywords:
            if keyword.casefold() in comment:
                return f"Comment mentions “{keyword}”"
    elif (
        kind == RuleKind.COMMENT_REGEX
        and answer.comment
        and rule.pattern
        and compiled(rule.pattern).search(answer.comment)
    ):
        return "Comment matches the rule's pattern"
    return None


def describe(rule: AlertRule) -> str:
    kind = rule.kind
    if kind == RuleKind.STARS_AT_MOST:
        return f"Stars ≤ {int(rule.threshold)}"
    if kind == RuleKind.ROLLING_AVERAGE:
        return f"Average of the last {rule.window} below {rule.threshold.normalize()}"
    if kind == RuleKind.COMMENT_KEYWORDS:
        return "Comment mentions " + ", ".join(f"“{k}”" for k in rule.keywords)
    if kind == RuleKind.COMMENT_REGEX:
        return f"Comment matches /{rule.pattern}/"
    return rule.get_kind_display()
