"""The metric definitions (PRODUCT.md "Metrics"), in one place, as pure functions over rollup
sums (a dict of ``ROLLUP_COUNTERS`` → int, e.g. ``feedback.selectors.rollup_totals``).

Every function returns ``None`` when its denominator is zero ("no data", shown as "–"), never
0 and never a division error. Percentages are 0–100 floats (not rounded; round when showing).

* Response rate = answered requests / sent requests (capped at 100 %: a late answer to a request
  sent in an earlier period may land in a day whose sent count is smaller).
* Average stars = stars_sum / stars_count.
* CSAT % = share of 4–5 star ratings among star ratings.
* NPS = % promoters (9–10) − % detractors (0–6) over NPS answers (−100 … 100).
* FCR % (customer) = resolved "yes" / ("yes" + "no") answers.
* FCR % (repeat contact) = interactions whose customer did not come back within N days /
  interactions (``repeat_contacts`` of them were followed by another contact of the same
  customer within N days; the last N days are provisional: a repeat may still come).
"""

from __future__ import annotations

from collections.abc import Mapping

METRICS = ("volume", "response_rate", "avg_stars", "csat", "nps", "fcr", "fcr_repeat")

# Which count is "n" for each average: shown beside it.
METRIC_N = {
    "volume": "interactions",
    "response_rate": "requests_sent",
    "avg_stars": "stars_count",
    "csat": "stars_count",
    "nps": "nps_count",
    "fcr": "fcr_count",
    "fcr_repeat": "interactions",
}

METRIC_LABELS = {
    "volume": "Volume",
    "response_rate": "Response rate",
    "avg_stars": "Average stars",
    "csat": "CSAT",
    "nps": "NPS",
    "fcr": "FCR (customer)",
    "fcr_repeat": "FCR (repeat contact)",
}


def _get(t: Mapping, key: str) -> int:
    return int(t.get(key) or 0)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den > 0 else None


def _pct(num: int, den: int) -> float | None:
    r = _ratio(num, den)
    return None if r is None else 100.0 * r


def response_rate(t: Mapping) -> float | None:
    sent = _get(t, "requests_sent")
    if sent <= 0:
        return None
    return min(100.0, 100.0 * _get(t, "responses") / sent)


def avg_stars(t: Mapping) -> float | None:
    return _ratio(_get(t, "stars_sum"), _get(t, "stars_count"))


def csat(t: Mapping) -> float | None:
    return _pct(_get(t, "csat_count"), _get(t, "stars_count"))


def nps_count(t: Mapping) -> int:
    return _get(t, "nps_promoters") + _get(t, "nps_passives") + _get(t, "nps_detractors")


def nps(t: Mapping) -> float | None:
    n = nps_count(t)
    if n <= 0:
        return None
    return 100.0 * (_get(t, "nps_promoters") - _get(t, "nps_detractors")) / n


def fcr_count(t: Mapping) -> int:
    return _get(t, "fcr_yes") + _get(t, "fcr_no")


def fcr(t: Mapping) -> float | None:
    return _pct(_get(t, "fcr_yes"), fcr_count(t))


def fcr_repeat(t: Mapping) -> float | None:
    checked = _get(t, "interactions")
    if checked <= 0:
        return None
    return 100.0 * (checked - min(checked, _get(t, "repeat_contacts"))) / checked


def volume(t: Mapping) -> int:
    return _get(t, "interactions")


METRIC_FUNCS = _FUNCS = {
    "volume": volume,
    "response_rate": response_rate,
    "avg_stars": avg_stars,
    "csat": csat,
    "nps": nps,
    "fcr": fcr,
    "fcr_repeat": fcr_repeat,
}


def sql_expression(metric: str, total):
    """``metric`` as a SQL expression over summed counters, for ordering a table in the
    database: ``total(counter)`` is the expression of one counter's sum (e.g. ``Sum``).

    The same definitions as the functions above, in the same float8 arithmetic and order of
    operations (so the database orders rows exactly as ``METRIC_FUNCS`` would), NULL where they
    give None.
    """
    from django.db.models import Case, FloatField, Value, When
    from django.db.models.functions import Cast, Least
    from django.db.models.lookups import GreaterThan

    def f(counter: str):
        return Cast(total(counter), FloatField())

    def when_positive(den, then):
        return Case(When(GreaterThan(den, 0), then=then), default=None, output_field=FloatField())

    hundred = Value(100.0, output_field=FloatField())
    if metric == "volume":
        return total("interactions")
    if metric == "response_rate":
        rate = hundred * f("responses") / f("requests_sent")
        return when_positive(total("requests_sent"), Least(hundred, rate))
    if metric == "avg_stars":
        return when_positive(total("stars_count"), f("stars_sum") / f("stars_count"))
    if metric == "csat":
        return when_positive(total("stars_count"), hundred * (f("csat_count") / f("stars_count")))
    if metric == "nps":
        n = f("nps_promoters") + f("nps_passives") + f("nps_detractors")
        score = hundred * (f("nps_promoters") - f("nps_detractors")) / n
        return when_positive(n, score)
    if metric == "fcr":
        n = f("fcr_yes") + f("fcr_no")
        return when_positive(n, hundred * (f("fcr_yes") / n))
    if metric == "fcr_repeat":
        checked, repeats = f("interactions"), f("repeat_contacts")
        return when_positive(checked, hundred * (checked - Least(checked, repeats)) / checked)
    raise ValueError(f"unknown metric {metric!r}")


def n_of(t: Mapping, metric: str) -> int:
    key = METRIC_N[metric]
    if key == "nps_count":
        return nps_count(t)
    if key == "fcr_count":
        return fcr_count(t)
    return _get(t, key)


def compute(t: Mapping) -> dict:
    """Every metric of ``t`` and its n: ``{"avg_stars": 4.2, "avg_stars_n": 57, ...}``."""
    out: dict = {}
    for m in METRICS:
        out[m] = _FUNCS[m](t)
        out[f"{m}_n"] = n_of(t, m)
    out["responses"] = _get(t, "responses")
    return out


def change(current: float | None, previous: float | None) -> float | None:
    """current − previous (points for percentages, stars for the average); None if either is."""
    if current is None or previous is None:
        return None
    return current - previous


def add(a: Mapping, b: Mapping) -> dict:
    """Sum of two counter dicts (missing keys count 0)."""
    return {k: _get(a, k) + _get(b, k) for k in set(a) | set(b)}


def star_distribution(t: Mapping) -> list[int]:
    return [_get(t, f"stars_{i}") for i in range(1, 6)]


def fmt(metric: str, value: float | None) -> str:
    """How a metric is shown: '–' for no data."""
    if value is None:
        return "–"
    if metric == "volume":
        return f"{int(value):,}"
    if metric == "avg_stars":
        return f"{value:.2f}"
    if metric == "nps":
        return f"{value:+.0f}"
    return f"{value:.0f} %"


def fmt_change(metric: str, delta: float | None) -> str:
    if delta is None:
        return ""
    places = 2 if metric == "avg_stars" else 0
    delta = round(delta, places) + 0.0  # no "-0": a change that rounds away is +0
    if delta == 0:
        delta = 0.0
    if metric == "avg_stars":
        return f"{delta:+.2f}"
    if metric == "volume":
        return f"{int(delta):+,}"
    if metric == "nps":
        return f"{delta:+.0f}"
    return f"{delta:+.0f} pts"
