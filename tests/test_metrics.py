"""The metric definitions (feedback/metrics.py): PRODUCT.md's formulas over rollup sums, and the
edge cases — no answers, all passives, zero denominators — that must give "no data", not 0 or
an exception."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db.models import F, Sum

from coachhub.tenancy.context import tenant_context
from feedback import metrics
from feedback.models import ROLLUP_COUNTERS, DailyRollup


def empty():
    return dict.fromkeys((*ROLLUP_COUNTERS, "repeat_contacts"), 0)


def test_no_answers_gives_no_data_for_every_average_never_zero_or_an_error():
    got = metrics.compute(empty())
    for m in ("response_rate", "avg_stars", "csat", "nps", "fcr", "fcr_repeat"):
        assert got[m] is None, m
        assert got[f"{m}_n"] == 0
    assert got["volume"] == 0
    assert metrics.fmt("avg_stars", None) == "–"


def test_an_empty_dict_is_the_same_as_all_zero_counters():
    assert metrics.compute({}) == metrics.compute(empty())


def test_all_passives_is_an_nps_of_zero_with_its_n():
    t = {**empty(), "nps_passives": 12}
    assert metrics.nps(t) == 0.0
    assert metrics.compute(t)["nps_n"] == 12


def test_nps_is_promoters_minus_detractors_in_percent():
    t = {**empty(), "nps_promoters": 6, "nps_passives": 2, "nps_detractors": 2}
    assert metrics.nps(t) == pytest.approx(40.0)
    assert metrics.nps({"nps_detractors": 3}) == -100.0


def test_average_stars_csat_and_response_rate():
    t = {**empty(), "requests_sent": 10, "responses": 4, "stars_sum": 15, "stars_count": 4,
         "csat_count": 3}  # fmt: skip
    assert metrics.avg_stars(t) == 3.75
    assert metrics.csat(t) == 75.0
    assert metrics.response_rate(t) == 40.0


def test_response_rate_is_capped_when_answers_outnumber_sends_in_a_window():
    assert metrics.response_rate({"requests_sent": 2, "responses": 3}) == 100.0
    assert metrics.response_rate({"requests_sent": 0, "responses": 3}) is None


def test_answers_without_stars_do_not_make_the_average_zero():
    t = {**empty(), "responses": 3, "fcr_yes": 3}
    assert metrics.avg_stars(t) is None and metrics.csat(t) is None
    assert metrics.fcr(t) == 100.0


def test_fcr_counts_only_yes_and_no_answers():
    assert metrics.fcr({"fcr_yes": 3, "fcr_no": 1}) == 75.0
    assert metrics.fcr({"fcr_yes": 0, "fcr_no": 0}) is None


def test_repeat_contact_fcr_is_share_of_interactions_not_followed_by_a_repeat():
    assert metrics.fcr_repeat({"interactions": 10, "repeat_contacts": 3}) == 70.0
    assert metrics.fcr_repeat({"interactions": 0, "repeat_contacts": 0}) is None
    # Never negative, even if a rebuild and a late writer briefly disagree.
    assert metrics.fcr_repeat({"interactions": 1, "repeat_contacts": 2}) == 0.0


def test_change_is_none_when_either_side_has_no_data():
    assert metrics.change(4.0, None) is None and metrics.change(None, 3.0) is None
    assert metrics.change(4.5, 4.0) == 0.5
    assert metrics.fmt_change("csat", 5.0) == "+5 pts"
    assert metrics.fmt_change("avg_stars", -0.25) == "-0.25"


def test_formatting():
    assert metrics.fmt("nps", 12.4) == "+12"
    assert metrics.fmt("csat", 87.6) == "88 %"
    assert metrics.fmt("volume", 12345) == "12,345"
    assert metrics.star_distribution({"stars_1": 1, "stars_5": 4}) == [1, 0, 0, 0, 4]


def test_a_change_that_rounds_to_zero_is_never_shown_as_minus_zero():
    assert metrics.fmt_change("csat", -0.3) == "+0 pts"
    assert metrics.fmt_change("avg_stars", -0.001) == "+0.00"


# Counter sums the SQL forms must agree on with the Python ones: zero denominators, capped
# rates, all passives, more repeats than interactions, fractions that do not end.
SQL_CASES = [
    {},
    {"requests_sent": 10, "responses": 4, "stars_sum": 15, "stars_count": 4, "csat_count": 3},
    {"requests_sent": 2, "responses": 3},
    {"responses": 3, "fcr_yes": 3},
    {"nps_passives": 12},
    {
        "interactions": 7,
        "requests_sent": 7,
        "responses": 3,
        "stars_sum": 13,
        "stars_count": 3,
        "csat_count": 1,
        "nps_promoters": 1,
        "nps_passives": 1,
        "nps_detractors": 1,
        "fcr_yes": 1,
        "fcr_no": 2,
    },  # fmt: skip
    {"interactions": 1, "repeat_contacts": 2},
    {"interactions": 3, "repeat_contacts": 1, "nps_detractors": 3, "fcr_no": 6},
]


@pytest.mark.django_db
def test_sql_forms_give_exactly_the_python_values_so_sql_ordering_matches(cast):
    org = cast.org_a
    counters = (*ROLLUP_COUNTERS, "repeat_contacts")
    with tenant_context(org):
        for i, case in enumerate(SQL_CASES):
            DailyRollup.objects.create(
                organization=org,
                day=date(2026, 1, 1) + timedelta(days=i),
                agent=cast.ann,
                team=cast.team_a1,
                **case,
            )
        rows = list(
            DailyRollup.objects.filter(organization_id=org.pk)
            .values("day")
            .annotate(**{c: Sum(c) for c in counters})
            .annotate(**{f"sql_{m}": metrics.sql_expression(m, F) for m in metrics.METRICS})
            .order_by("day")
        )
    assert len(rows) == len(SQL_CASES)
    for row in rows:
        for m in metrics.METRICS:
            assert row[f"sql_{m}"] == metrics.METRIC_FUNCS[m](row), (m, row)
