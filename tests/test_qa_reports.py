"""QA reports: weekly scores, pass rate, reviewer leniency and the criterion ↔ stars correlation,
all from SQL aggregates (query counts do not grow with the number of reviews)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from coachhub.tenancy.context import tenant_context
from qa import selectors
from qa.services.settings import qa_settings_update

from .conftest import assert_num_queries_at_most
from .factories import make_member
from .qa_factories import GOOD, make_interaction, make_review, make_scorecard, rate

pytestmark = pytest.mark.django_db


def url(name, **params):
    base = reverse(f"qa:{name}", kwargs={"org": "acme"})
    return base + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


@pytest.fixture
def card(cast):
    return make_scorecard(cast.org_a, cast.alice)


def review(cast, reviewer, agent, card, solved, *, stars=None, **kw):
    interaction = make_interaction(cast.org_a, agent)
    if stars:
        rate(interaction, stars)
    return make_review(reviewer, interaction, card, {**GOOD, "Solved it": solved}, **kw)


def period():
    today = timezone.localdate()
    return today - timedelta(days=30), today


def test_weekly_scores_pass_rate_and_leniency(cast, card, client_for):
    # Sam: Ann 100, Andy 100 (Solved 5 → 100 %); Alice: Ann 37.5 (Solved 1 → (10+15+0)/80...)
    review(cast, cast.sam, cast.ann, card, 5)  # (100×10 + 75×20 + 100×50)/80 = 93.75
    review(cast, cast.sam, cast.andy, card, 5)  # 93.75
    review(cast, cast.alice, cast.ann, card, 1)  # (1000 + 1500 + 0)/80 = 31.25
    review(cast, cast.alice, cast.zoe, card, 3)  # (1000 + 1500 + 2500)/80 = 62.5
    review(cast, cast.alice, cast.zoe, card, 1, coaching_only=True)  # never counts
    start, end = period()
    with tenant_context(cast.org_a):
        alice = cast.alice
        rows = {
            r["key"]: r for r in selectors.weekly_scores(alice, by="agent", start=start, end=end)
        }
        assert float(rows[cast.ann.pk]["mean"]) == pytest.approx((93.75 + 31.25) / 2)
        assert rows[cast.zoe.pk]["n"] == 1
        rate_ = selectors.pass_rate(alice, start=start, end=end)
        assert (rate_["n"], rate_["passed"], rate_["baseline"]) == (4, 2, 80)
        lenient = {
            r["reviewer_id"]: r for r in selectors.reviewer_leniency(alice, start=start, end=end)
        }
        # Sam reviewed Ann and Andy; others (Alice) gave Ann 31.25 → Sam +62.5
        assert float(lenient[cast.sam.pk]["leniency"]) == pytest.approx(93.75 - 31.25)
        # Alice reviewed Ann and Zoe; others (Sam) gave Ann 93.75; Alice's mean 46.875
        assert float(lenient[cast.alice.pk]["leniency"]) == pytest.approx(46.875 - 93.75)
        by_criterion = selectors.weekly_scores(alice, by="criterion", start=start, end=end)
        assert {r["n"] for r in by_criterion} == {4}
        # the supervisor's report covers only their teams' agents
        sam_rows = selectors.weekly_scores(cast.sam, by="agent", start=start, end=end)
        assert {r["key"] for r in sam_rows} == {cast.ann.pk, cast.andy.pk}
    c = client_for(cast.alice)
    for by in ("agent", "team", "criterion", "reviewer"):
        page = c.get(url("reports", by=by))
        assert page.status_code == 200
    body = c.get(url("reports")).content.decode()
    assert "50 %" in body and "+62.5" in body


def test_report_queries_do_not_grow_with_reviews(cast, card, client_for):
    c = client_for(cast.alice)
    review(cast, cast.sam, cast.ann, card, 5)
    c.get(url("reports"))
    with assert_num_queries_at_most(40) as few:
        assert c.get(url("reports", by="criterion")).status_code == 200
    for solved in (1, 2, 3, 4, 5, 2, 3):
        review(cast, cast.sam, cast.andy, card, solved)
    with assert_num_queries_at_most(len(few.captured_queries)):
        assert c.get(url("reports", by="criterion")).status_code == 200


def spearman(xs, ys):
    def ranks(values):
        order = sorted(range(len(values)), key=lambda i: values[i])
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2 + 1
            i = j + 1
        return out

    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))


def test_correlation_per_criterion_with_interval_and_minimum_n(cast, card, client_for):
    with tenant_context(cast.org_a):
        qa_settings_update(cast.org_a, qa_correlation_min_n=6)
    pairs = [(5, 5), (4, 5), (3, 3), (2, 2), (1, 1), (3, 4), (2, 3)]
    for solved, stars in pairs:
        review(cast, cast.sam, cast.ann, card, solved, stars=stars)
    review(cast, cast.sam, cast.ann, card, 5)  # no rating: not a pair
    start, end = period()
    with tenant_context(cast.org_a):
        rows = {
            r.title: r for r in selectors.criterion_correlations(cast.alice, start=start, end=end)
        }
    solved = rows["Solved it"]
    assert solved.n == 7 and solved.enough
    expected = spearman([p[0] for p in pairs], [p[1] for p in pairs])
    assert solved.rho == pytest.approx(expected)
    assert -1 <= solved.low < solved.rho < solved.high <= 1
    # every review answered Tone 4 and Greeting yes: no variation, never a fake number
    assert rows["Tone"].rho is None and not rows["Tone"].enough
    body = client_for(cast.alice).get(url("correlation")).content.decode()
    assert f"{expected:.2f}" in body and "No variation" in body


def test_correlation_says_not_enough_data_under_the_minimum(cast, card, client_for):
    for solved, stars in [(5, 5), (1, 1), (3, 3)]:
        review(cast, cast.sam, cast.ann, card, solved, stars=stars)
    start, end = period()
    with tenant_context(cast.org_a):
        rows = {
            r.title: r for r in selectors.criterion_correlations(cast.alice, start=start, end=end)
        }
    assert rows["Solved it"].n == 3 and not rows["Solved it"].enough
    assert "Not enough data" in client_for(cast.alice).get(url("correlation")).content.decode()


def test_fisher_interval_matches_the_formula():
    low, high = selectors.fisher_interval(0.5, 28)
    se = math.sqrt((1 + 0.125) / 25)
    assert low == pytest.approx(math.tanh(math.atanh(0.5) - 1.959964 * se))
    assert high == pytest.approx(math.tanh(math.atanh(0.5) + 1.959964 * se))


def test_agents_have_no_reports_and_reviewers_do(cast, card, client_for):
    assert client_for(cast.ann).get(url("reports")).status_code == 403
    assert client_for(cast.ann).get(url("correlation")).status_code == 403
    rita = make_member(cast.org_a, "agent", team=cast.team_a2, is_reviewer=True)
    assert client_for(rita).get(url("reports")).status_code == 200
