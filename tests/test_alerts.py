"""Alert rules: defaults, each rule kind, one alert per (rule, response) ever, marking instead of
deleting, crossings for rolling averages, RE2 for patterns, inbox notifications."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from coachhub.core.models import Notification
from coachhub.tenancy.context import tenant_context
from coaching.models import Alert, AlertRule, FocusBehaviour, RuleKind
from coaching.services import alerts as svc
from coaching.services.rules import RuleInvalid, clean_rule

from .coaching_helpers import answered, change, enable_questions, rerun_outbox, run_outbox

pytestmark = pytest.mark.django_db


def alerts_of(org, **filters):
    with tenant_context(org):
        return list(
            Alert.objects.filter(organization_id=org.pk, **filters)
            .select_related("rule")
            .order_by("id")
        )


def add_rule(org, **values):
    values.setdefault("name", "Rule")
    team = values.pop("team", None)
    with tenant_context(org):
        return svc.rule_save(org, values, team=team)


def test_new_organization_starts_with_default_rules_and_behaviours(cast):
    with tenant_context(cast.org_a):
        rules = list(AlertRule.objects.filter(organization=cast.org_a).order_by("id"))
        behaviours = list(FocusBehaviour.objects.filter(organization=cast.org_a))
    assert [(r.kind, r.threshold, r.channels) for r in rules] == [
        (RuleKind.STARS_AT_MOST, Decimal("2.00"), []),
        (RuleKind.NOT_RESOLVED, None, []),
    ]
    assert {"Empathy", "Product knowledge", "Ownership", "Clarity", "Efficiency"} <= {
        b.name for b in behaviours
    }


def test_one_star_raises_an_alert_in_the_team_leads_inbox_once(cast):
    response = answered(cast.org_a, cast.ann, 1)
    run_outbox(cast.org_a)
    [alert] = alerts_of(cast.org_a)
    assert alert.response_id == response.pk and alert.agent_id == cast.ann.pk
    assert alert.state == "open" and "1-star" in alert.reason
    with tenant_context(cast.org_a):
        inbox = list(Notification.objects.filter(organization=cast.org_a, kind="alert"))
    assert [n.recipient_id for n in inbox] == [cast.sam.pk]  # Sam leads Team A1
    # The same event delivered again: still one alert, one inbox row.
    rerun_outbox(cast.org_a)
    assert len(alerts_of(cast.org_a)) == 1
    with tenant_context(cast.org_a):
        assert Notification.objects.filter(organization=cast.org_a, kind="alert").count() == 1
    with tenant_context(cast.org_b):
        assert not Notification.objects.filter(organization=cast.org_b).exists()


def test_agent_without_a_team_lead_alerts_the_admins(cast):
    answered(cast.org_a, cast.zoe, 2)  # Team A2 has no lead
    run_outbox(cast.org_a)
    with tenant_context(cast.org_a):
        recipients = set(
            Notification.objects.filter(organization=cast.org_a, kind="alert").values_list(
                "recipient_id", flat=True
            )
        )
    assert recipients == {cast.alice.pk}


def test_three_stars_then_not_resolved_a_minute_later_fires_its_own_rule(cast):
    response = answered(cast.org_a, cast.ann, 3)
    run_outbox(cast.org_a)
    assert alerts_of(cast.org_a) == []
    change(response, stars=3, answers={"resolved": False})
    run_outbox(cast.org_a)
    [alert] = alerts_of(cast.org_a)
    assert alert.rule.kind == RuleKind.NOT_RESOLVED


def test_changed_answer_marks_the_alert_instead_of_deleting_it(cast):
    response = answered(cast.org_a, cast.ann, 1)
    run_outbox(cast.org_a)
    change(response, stars=5)
    run_outbox(cast.org_a)
    [alert] = alerts_of(cast.org_a)
    assert alert.no_longer_matches and alert.no_longer_matches_at is not None
    change(response, stars=2)  # matches again: the mark goes, still one alert
    run_outbox(cast.org_a)
    [alert] = alerts_of(cast.org_a)
    assert not alert.no_longer_matches


def test_nps_detractor_rule(cast):
    enable_questions(cast.org_a, "comment", "resolved", "nps")
    add_rule(cast.org_a, kind=RuleKind.NPS_DETRACTOR, name="Detractor")
    answered(cast.org_a, cast.ann, 4, answers={"nps": 9})
    answered(cast.org_a, cast.ann, 4, answers={"nps": 6})
    run_outbox(cast.org_a)
    [alert] = alerts_of(cast.org_a)
    assert alert.reason == "NPS detractor (6/10)"


def test_comment_keyword_and_pattern_rules(cast):
    add_rule(cast.org_a, kind=RuleKind.COMMENT_KEYWORDS, keywords="cancel, lawyer", name="Churn")
    add_rule(cast.org_a, kind=RuleKind.COMMENT_REGEX, pattern=r"refund\s+(now|today)", name="Re")
    answered(cast.org_a, cast.ann, 4, answers={"comment": "I will CANCEL my plan"})
    answered(cast.org_a, cast.ann, 4, answers={"comment": "I want a refund   today please"})
    answered(cast.org_a, cast.ann, 4, answers={"comment": "All good"})
    run_outbox(cast.org_a)
    assert sorted(a.rule.name for a in alerts_of(cast.org_a)) == ["Churn", "Re"]


def test_catastrophic_pattern_runs_in_linear_time(cast):
    add_rule(cast.org_a, kind=RuleKind.COMMENT_REGEX, pattern="(a+)+$", name="Evil")
    comment = "a" * 1900 + "!"
    response = answered(cast.org_a, cast.ann, 4, answers={"comment": comment})
    started = time.monotonic()
    with tenant_context(cast.org_a):
        svc.response_evaluate(cast.org_a.pk, str(response.public_id))
    assert time.monotonic() - started < 1.0
    assert alerts_of(cast.org_a) == []
    # And on a much longer input, directly through the rule engine.
    from coaching.services.rules import compiled

    started = time.monotonic()
    assert compiled("(a+)+$").search("a" * 200_000 + "!") is None
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"kind": "comment_regex", "pattern": "(unclosed"}, "pattern"),
        ({"kind": "comment_regex", "pattern": ""}, "pattern"),
        ({"kind": "stars_at_most", "threshold": "7"}, "threshold"),
        ({"kind": "rolling_average", "threshold": "3.5", "window": "1"}, "window"),
        ({"kind": "comment_keywords", "keywords": " , "}, "keywords"),
        ({"kind": "nope"}, "kind"),
        ({"kind": "not_resolved", "channels": ["pager"]}, "channels"),
        ({"kind": "not_resolved", "name": ""}, "name"),
    ],
)
def test_invalid_rule_names_the_field(values, field):
    values.setdefault("name", "x")
    with pytest.raises(RuleInvalid) as exc:
        clean_rule(values)
    assert field in exc.value.errors


def test_rolling_average_fires_on_the_crossing_only(cast):
    add_rule(cast.org_a, kind=RuleKind.ROLLING_AVERAGE, threshold="3.5", window=3, name="Avg")
    for stars in (5, 4, 4):  # avg 4.33
        answered(cast.org_a, cast.ann, stars)
    run_outbox(cast.org_a)
    assert alerts_of(cast.org_a, rule__name="Avg") == []
    answered(cast.org_a, cast.ann, 3)  # 4,4,3 → 3.67
    answered(cast.org_a, cast.ann, 3)  # 4,3,3 → 3.33: crossing
    run_outbox(cast.org_a)
    answered(cast.org_a, cast.ann, 3)  # still below: nothing new
    run_outbox(cast.org_a)
    assert len(alerts_of(cast.org_a, rule__name="Avg")) == 1
    for _ in range(3):
        answered(cast.org_a, cast.ann, 5)  # back above
    run_outbox(cast.org_a)
    answered(cast.org_a, cast.ann, 3)  # 5,5,3 → 4.33: above
    answered(cast.org_a, cast.ann, 3)  # 5,3,3 → 3.67
    answered(cast.org_a, cast.ann, 3)  # 3,3,3 → 3: second crossing
    run_outbox(cast.org_a)
    assert len(alerts_of(cast.org_a, rule__name="Avg")) == 2


def test_team_rule_only_sees_its_team(cast):
    add_rule(
        cast.org_a, kind=RuleKind.STARS_AT_MOST, threshold="4", name="A2 only", team=cast.team_a2
    )
    answered(cast.org_a, cast.ann, 4)  # Team A1
    answered(cast.org_a, cast.zoe, 4)  # Team A2
    run_outbox(cast.org_a)
    [alert] = alerts_of(cast.org_a)
    assert alert.agent_id == cast.zoe.pk


def test_test_mode_answers_raise_no_alerts(cast):
    cast.org_a.settings = {**(cast.org_a.settings or {}), "test_address": "qa@acme.test"}
    cast.org_a.save(update_fields=["settings"])
    answered(cast.org_a, cast.ann, 1, mode="test")
    run_outbox(cast.org_a)
    assert alerts_of(cast.org_a) == []


def test_inactive_rule_is_ignored(cast):
    with tenant_context(cast.org_a):
        AlertRule.objects.filter(organization=cast.org_a).update(is_active=False)
    answered(cast.org_a, cast.ann, 1)
    run_outbox(cast.org_a)
    assert alerts_of(cast.org_a) == []
