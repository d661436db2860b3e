"""Did coaching work? Pure statistics (no database): the difference of a metric's mean over the
N observations before a coaching moment and the N after, with a 95 % confidence interval.

Method — Welch's two-sample t interval for a difference of means:
    diff = mean(after) − mean(before)
    se   = sqrt(var_a / n_a + var_b / n_b)             (sample variances, ddof = 1)
    df   = Welch–Satterthwaite: se⁴ / ((var_a/n_a)²/(n_a−1) + (var_b/n_b)²/(n_b−1))
    CI   = diff ± t(0.975, df) · se
Why: the two windows have different sizes and variances (an agent's ratings after coaching are
often less spread out), so the pooled-variance t test is wrong; Welch's does not assume equal
variances. Every metric here is a mean of per-response values — stars 1–5, CSAT as 0/1, FCR as
0/1, NPS as +100/0/−100 per answer (whose mean *is* the NPS), QA % per review — so by the
central limit theorem the mean is close to normal once each side has ``MIN_N`` (30)
observations; below that we say "not enough data" rather than print a misleading interval.
Responses are treated as independent draws (customers rate independently); the t quantile comes
from a Cornish–Fisher expansion of the normal quantile (accurate to ~1e-4 for df ≥ 10), so no
SciPy dependency.

Aggregates (per agent, per supervisor, per focus behaviour) pool the before values and the
after values of every coaching moment in the group and apply the same interval; a response that
falls in two overlapping windows counts in both (documented approximation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_N = 30  # per side, below which the interval is "not enough data"
WINDOW_N = 50  # the N responses before / after a coaching moment
Z_975 = 1.959963984540054


def t_quantile_975(df: float) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (Cornish–Fisher)."""
    if df <= 0 or math.isinf(df):
        return Z_975
    z = Z_975
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def _mean_var(xs: Sequence[float]) -> tuple[float, float]:
    n = len(xs)
    mean = sum(xs) / n
    var = sum((x - mean) ** 2 for x in xs) / (n - 1) if n > 1 else 0.0
    return mean, var


@dataclass(frozen=True)
class Effect:
    n_before: int
    n_after: int
    mean_before: float | None
    mean_after: float | None
    diff: float | None
    low: float | None
    high: float | None
    enough: bool

    @property
    def significant(self) -> bool:
        return self.enough and (self.low > 0 or self.high < 0)

    def as_dict(self) -> dict:
        return {
            "n_before": self.n_before,
            "n_after": self.n_after,
            "mean_before": self.mean_before,
            "mean_after": self.mean_after,
            "difference": self.diff,
            "ci_low": self.low,
            "ci_high": self.high,
            "enough_data": self.enough,
        }


def difference_ci(before: Sequence[float], after: Sequence[float], *, min_n: int = MIN_N) -> Effect:
    """Welch's 95 % interval for mean(after) − mean(before); ``enough=False`` below ``min_n``."""
    nb, na = len(before), len(after)
    mb = _mean_var(before)[0] if nb else None
    ma = _mean_var(after)[0] if na else None
    if nb < max(min_n, 2) or na < max(min_n, 2):
        diff = None if mb is None or ma is None else ma - mb
        return Effect(nb, na, mb, ma, diff, None, None, False)
    mb, vb = _mean_var(before)
    ma, va = _mean_var(after)
    diff = ma - mb
    sb, sa = vb / nb, va / na
    se = math.sqrt(sb + sa)
    if se == 0:
        return Effect(nb, na, mb, ma, diff, diff, diff, True)
    df = (sb + sa) ** 2 / (sb**2 / (nb - 1) + sa**2 / (na - 1))
    half = t_quantile_975(df) * se
    return Effect(nb, na, mb, ma, diff, diff - half, diff + half, True)


def nps_value(score: int) -> float:
    """One NPS answer as its contribution to the NPS mean: promoter +100, detractor −100."""
    if score >= 9:
        return 100.0
    if score <= 6:
        return -100.0
    return 0.0
