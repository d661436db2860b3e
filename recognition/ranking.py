"""Fair ranking: a Bayesian-smoothed average that shrinks each agent toward their team's mean.

For an agent with ``n`` observations summing to ``total`` (stars, or 1/0 for CSAT and FCR, or
QA %), in a team whose mean is ``m``, with prior weight ``C``::

    smoothed = (C * m + total) / (C + n)

It is the average the agent would have if ``C`` extra responses at the team's mean were added:
five lucky 5-star ratings in a 4.2 team with C = 20 give (20·4.2 + 25) / 25 = 4.36, while five
hundred ratings averaging 4.6 give (84 + 2300) / 520 = 4.58, so the five hundred rank higher.
Agents below the minimum n are not ranked (listed apart as "not enough data").

Pure functions, no database: ``recognition.selectors.leaderboard`` feeds them from DailyRollup.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Entry:
    agent_id: int
    team_id: int | None
    n: int
    total: float  # sum of the observations (stars, successes, QA %)
    name: str = ""
    raw: float | None = None
    smoothed: float | None = None
    prior_mean: float | None = None
    rank: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class Board:
    ranked: list[Entry]
    not_enough: list[Entry]
    prior_weight: int
    min_n: int
    team_means: dict  # team id (or None for the organization) → mean
    org_mean: float | None


def _mean(total: float, n: int) -> float | None:
    return total / n if n else None


def rank(entries: list[Entry], *, prior_weight: int, min_n: int, scale: float = 1.0) -> Board:
    """Smooth, rank (competition ranking: equal scores share a rank, the next is skipped) and
    split off those below ``min_n``. ``scale`` multiplies means for display (100 for %)."""
    team_tot: dict = {}
    org_total = 0.0
    org_n = 0
    for e in entries:
        t = team_tot.setdefault(e.team_id, [0.0, 0])
        t[0] += e.total
        t[1] += e.n
        org_total += e.total
        org_n += e.n
    org_mean = _mean(org_total, org_n)
    team_means = {}
    for team_id, (total, n) in team_tot.items():
        # An agent without a team, or a team without data, shrinks toward the organization.
        team_means[team_id] = _mean(total, n) if team_id is not None and n else org_mean
    ranked, not_enough = [], []
    for e in entries:
        e.raw = None if not e.n else e.total / e.n * scale
        e.prior_mean = None if team_means.get(e.team_id) is None else team_means[e.team_id] * scale
        if e.n >= max(1, min_n) and e.prior_mean is not None:
            e.smoothed = (prior_weight * e.prior_mean + e.total * scale) / (prior_weight + e.n)
            ranked.append(e)
        else:
            e.smoothed = None
            not_enough.append(e)
    ranked.sort(key=lambda e: (-round(e.smoothed, 6), -e.n, e.name.lower(), e.agent_id))
    previous = None
    for i, e in enumerate(ranked, start=1):
        key = round(e.smoothed, 6)
        e.rank = previous[1] if previous and previous[0] == key else i
        previous = (key, e.rank)
    not_enough.sort(key=lambda e: (-e.n, e.name.lower(), e.agent_id))
    return Board(
        ranked=ranked,
        not_enough=not_enough,
        prior_weight=prior_weight,
        min_n=min_n,
        team_means={k: (None if v is None else v * scale) for k, v in team_means.items()},
        org_mean=None if org_mean is None else org_mean * scale,
    )
