"""What one alert costs, and the outbox's batches that drain a backlog of ratings (issue 6's
benchmark: 50 ratings/s, rating → alert visible p99 ≤ 1 s on one worker).

Query counts are asserted so they cannot creep back: evaluating a rating takes a fixed number of
queries whatever the number of rules or supervisors, and a batched delivery run adds a fixed
number per alert. Batches keep the outbox's guarantees: each delivery's effect and "done"
commit together, a failure rolls back only its own delivery, a retried (possibly poison)
delivery runs alone, and consumers that did not ask for batches are never batched.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coachhub.core import outbox
from coachhub.core.models import Delivery, DeliveryStatus, Notification
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role
from coaching.models import Alert, AlertRule, ChannelDelivery, RuleKind
from coaching.services import alerts as svc
from coaching.services import webhooks as hooks_svc

from . import outbox_consumers as tc
from .coaching_helpers import answered, burst
from .factories import make_member

pytestmark = pytest.mark.django_db


def evaluate_counting(org, response) -> tuple[list[Alert], int, list[str]]:
    with tenant_context(org), CaptureQueriesContext(connection) as ctx:
        created = svc.response_evaluate(org.pk, str(response.public_id))
    return created, len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def add_rules(org, n: int, tag: str) -> None:
    """``n`` rules that do not fire on a plain 1-star rating, of every kind (a third are
    rolling averages, which read and lock their per-agent state)."""
    kinds = [
        {"kind": RuleKind.COMMENT_KEYWORDS, "keywords": f"lawyer{tag}, cancel{tag}"},
        {"kind": RuleKind.COMMENT_REGEX, "pattern": rf"refund{tag}\s+now"},
        {"kind": RuleKind.ROLLING_AVERAGE, "threshold": "2.5", "window": 5},
        {"kind": RuleKind.NPS_DETRACTOR},
        {"kind": RuleKind.ROLLING_AVERAGE, "threshold": "3", "window": 50},
        {"kind": RuleKind.NOT_RESOLVED},
    ]
    with tenant_context(org):
        for i in range(n):
            svc.rule_save(org, {"name": f"Extra {tag}{i}", **kinds[i % len(kinds)]})


def add_supervisors(org, team, n: int) -> None:
    for _ in range(n):
        make_member(org, Role.SUPERVISOR, teams_led=[team])


def test_a_one_star_alert_takes_six_queries_with_the_default_rules(cast):
    response = answered(cast.org_a, cast.ann, 1)
    created, n, sql = evaluate_counting(cast.org_a, response)
    assert len(created) == 1
    # The response (with its organization, interaction, request, agent and the alerts it
    # already has), the rules, one INSERT for every rule that fired, the recipients (leads and
    # admins in one), the inbox rows, the alert.created event.
    assert n == 6, "\n".join(sql)
    with tenant_context(cast.org_a):
        assert Notification.objects.filter(organization=cast.org_a, kind="alert").count() == 1
    # Evaluated again (a redelivery): the response with its alert, the rules; nothing written.
    created, n, sql = evaluate_counting(cast.org_a, response)
    assert created == [] and n == 2, "\n".join(sql)


def test_queries_per_alert_do_not_grow_with_rules_or_supervisors(cast):
    with tenant_context(cast.org_a):
        svc.slack_target_set(cast.org_a, url="https://hooks.slack.example/T/1")
        hooks_svc.webhook_save(cast.org_a, url="https://receiver.example/hook")
        AlertRule.objects.filter(
            organization=cast.org_a, kind=RuleKind.STARS_AT_MOST, is_default=True
        ).update(channels=["email", "slack", "webhook"])
    counts = []
    for rules, supervisors in ((6, 2), (24, 12)):
        add_rules(cast.org_a, rules, tag=str(rules))
        add_supervisors(cast.org_a, cast.team_a1, supervisors)
        response = answered(cast.org_a, cast.ann, 1)
        created, n, sql = evaluate_counting(cast.org_a, response)
        assert [a.rule.kind for a in created] == [RuleKind.STARS_AT_MOST]
        counts.append(n)
    # The six above; rolling averages: their states made if missing and locked, the stars read
    # once (3); channels: the Slack target, the webhook, the deliveries and their ids (4).
    assert counts == [13, 13], "\n".join(sql)
    with tenant_context(cast.org_a):
        leads = 1 + 2 + 12  # Sam and the supervisors added
        alert = Alert.objects.filter(organization=cast.org_a).latest("id")
        assert Notification.objects.filter(url__contains=str(alert.public_id)).count() == leads
        kinds = sorted(
            ChannelDelivery.objects.filter(alert=alert).values_list("kind", flat=True).distinct()
        )
    assert kinds == ["email", "slack", "webhook"]


def _pending_ids(org, consumer="coaching.alerts") -> list[int]:
    with tenant_context(org):
        return list(
            Delivery.objects.filter(
                organization=org, consumer=consumer, status=DeliveryStatus.PENDING
            )
            .order_by("id")
            .values_list("id", flat=True)
        )


def _run_counting(org, delivery_id) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as ctx:
        outcome = outbox.delivery_run(org.pk, delivery_id, batch=True)
    return outcome, len(ctx.captured_queries)


def test_a_backlog_drains_in_batches_with_a_fixed_cost_per_alert(cast):
    from coaching.consumers import ALERTS_BATCH

    small, big = 4, ALERTS_BATCH
    burst(cast.org_a, cast.ann, small, stars=1)
    first = _pending_ids(cast.org_a)[0]
    outcome, n_small = _run_counting(cast.org_a, first)
    assert outcome == "done" and _pending_ids(cast.org_a) == []

    burst(cast.org_a, cast.andy, big + 3, stars=1)
    ids = _pending_ids(cast.org_a)
    outcome, n_big = _run_counting(cast.org_a, ids[0])
    assert outcome == "done"
    assert _pending_ids(cast.org_a) == ids[big:]  # one run took a whole batch, oldest first
    # Their own doorbells find them done.
    assert outbox.delivery_run(cast.org_a.pk, ids[1], batch=True) == "already-done"
    with tenant_context(cast.org_a):
        assert Alert.objects.filter(organization=cast.org_a).count() == small + big
        done = Delivery.objects.filter(pk__in=ids[:big])
        assert {(d.status, d.attempts) for d in done} == {(DeliveryStatus.DONE, 1)}
    # Per alert: the response (with its alerts so far), the alert, the inbox row, the event,
    # "done" (5; no savepoint each, see outbox._run_claimed). The claim, the row locks, the
    # rules and the recipients are per batch.
    assert (n_big - n_small) == 5 * (big - small)
    assert n_big <= 5 * big + 16


def test_a_failure_in_a_batch_rolls_back_only_its_own_delivery(cast, monkeypatch):
    responses = burst(cast.org_a, cast.ann, 5, stars=1)
    poison = str(responses[2].public_id)
    real = svc.response_evaluate

    def evaluate(organization_id, public_id):
        created = real(organization_id, public_id)  # writes, then fails: must be undone
        if public_id == poison:
            raise RuntimeError("boom")
        return created

    monkeypatch.setattr(svc, "response_evaluate", evaluate)
    ids = _pending_ids(cast.org_a)
    assert outbox.delivery_run(cast.org_a.pk, ids[0], batch=True) == "done"
    with tenant_context(cast.org_a):
        rows = {d.pk: d for d in Delivery.objects.filter(pk__in=ids)}
        alerted = set(Alert.objects.values_list("response_id", flat=True))
    failed = rows[ids[2]]
    assert (failed.status, failed.attempts) == (DeliveryStatus.PENDING, 1)
    assert failed.last_error == "RuntimeError: boom" and failed.next_attempt_at > timezone.now()
    assert {rows[i].status for i in ids if i != ids[2]} == {DeliveryStatus.DONE}
    assert alerted == {r.pk for r in responses} - {responses[2].pk}

    # Its retry runs alone, even with fresh rows waiting: it may be what broke its batch.
    monkeypatch.setattr(svc, "response_evaluate", real)
    fresh = burst(cast.org_a, cast.andy, 3, stars=1)
    with tenant_context(cast.org_a):
        Delivery.objects.filter(pk=failed.pk).update(next_attempt_at=timezone.now())
    assert outbox.delivery_run(cast.org_a.pk, failed.pk, batch=True) == "done"
    assert len(_pending_ids(cast.org_a)) == len(fresh)
    with tenant_context(cast.org_a):
        assert Alert.objects.filter(response=responses[2]).count() == 1


def test_rows_of_a_crashed_batch_are_retried_one_by_one(cast):
    """A worker killed mid-batch leaves every row of the batch claimed once (attempts 1,
    leased); after the lease each is retried alone, and each alert exists once."""
    responses = burst(cast.org_a, cast.ann, 4, stars=1)
    ids = _pending_ids(cast.org_a)
    outcome, claims = outbox._claim_batch(cast.org_a.pk, ids[0], batch=True)
    assert outcome == "claimed" and claims == dict.fromkeys(ids, 1)  # then the worker died
    assert outbox.delivery_run(cast.org_a.pk, ids[1], batch=True) == "not-due"  # leased
    with tenant_context(cast.org_a):
        Delivery.objects.filter(pk__in=ids).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
    assert outbox.delivery_run(cast.org_a.pk, ids[0], batch=True) == "done"
    assert _pending_ids(cast.org_a) == ids[1:]  # alone: the others were not fresh
    for i in ids[1:]:
        assert outbox.delivery_run(cast.org_a.pk, i, batch=True) == "done"
    with tenant_context(cast.org_a):
        assert sorted(Alert.objects.values_list("response_id", flat=True)) == sorted(
            r.pk for r in responses
        )
        assert {d.attempts for d in Delivery.objects.filter(pk__in=ids)} == {2}


def test_consumers_that_did_not_ask_for_batches_run_one_delivery_per_doorbell(cast):
    with tenant_context(cast.org_a):
        for _ in range(3):
            outbox.event_record(cast.org_a.pk, tc.TWO, {"recipient": cast.alice.pk})
    ids = _pending_ids(cast.org_a, consumer="test.first")
    assert outbox.delivery_run(cast.org_a.pk, ids[0], batch=True) == "done"
    assert _pending_ids(cast.org_a, consumer="test.first") == ids[1:]


def test_batches_stay_inside_their_organization(cast):
    burst(cast.org_a, cast.ann, 3, stars=1)
    burst(cast.org_b, cast.bea, 3, stars=1)
    a_ids, b_ids = _pending_ids(cast.org_a), _pending_ids(cast.org_b)
    assert outbox.delivery_run(cast.org_a.pk, a_ids[0], batch=True) == "done"
    assert _pending_ids(cast.org_a) == [] and _pending_ids(cast.org_b) == b_ids
    # Org A's doorbell for an org B row finds nothing (RLS), and claims nothing of B.
    assert outbox.delivery_run(cast.org_a.pk, b_ids[0], batch=True) == "locked-or-missing"
    assert _pending_ids(cast.org_b) == b_ids
    with tenant_context(cast.org_b):
        assert not Alert.objects.filter(organization=cast.org_b).exists()
        assert not Notification.objects.filter(organization=cast.org_b, kind="alert").exists()


def test_a_batch_evaluates_its_ratings_agent_by_agent(cast):
    """Rolling-average rules lock a state row per (rule, agent) until the batch commits: every
    batch takes them in agent order, so two concurrent batches cannot deadlock."""
    for agent in (cast.andy, cast.ann, cast.andy, cast.ann, cast.zoe):
        burst(cast.org_a, agent, 1, stars=1)
    ids = _pending_ids(cast.org_a)
    assert outbox.delivery_run(cast.org_a.pk, ids[0], batch=True) == "done"
    with tenant_context(cast.org_a):
        order = list(Alert.objects.order_by("id").values_list("agent_id", flat=True))
    assert order == sorted(order) and len(order) == 5
