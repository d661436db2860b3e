"""Daily rollups: incremental maintenance equals a rebuild from raw data.

The functions later issues call (``request_sent_rollup``, ``answer_state_of`` +
``response_rollup_change``) are exercised directly here, as the survey will call them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Membership, Organization
from feedback.models import (
    ROLLUP_COUNTERS,
    DailyRollup,
    FeedbackRequest,
    Interaction,
    RequestKind,
    Response,
)
from feedback.services.ingest import interactions_ingest
from feedback.services.rollups import (
    answer_state_of,
    request_sent_rollup,
    response_rollup_change,
    rollups_rebuild,
)

NY = "America/New_York"


def snapshot(org) -> dict:
    rows = DailyRollup.objects.filter(organization=org).values(
        "day", "agent_id", "team_id", *ROLLUP_COUNTERS
    )
    out = {}
    for r in rows:
        counters = {c: r[c] for c in ROLLUP_COUNTERS}
        if any(counters.values()):
            out[(r["day"], r["agent_id"], r["team_id"])] = counters
    return out


def ingest(org, n, *, agent="ann@acme.test", occurred_at=None, mode="live", **kw):
    item = {
        "external_id": f"R-{n}",
        "channel": "chat",
        "agent": {"email": agent},
        "customer": {"name": "C", "email": f"c{n}@example.com"},
        **kw,
    }
    if occurred_at:
        item["occurred_at"] = occurred_at.isoformat()
    return Interaction.objects.get(pk=interactions_ingest(org, [item], mode=mode).pks[0])


def send(request):
    claimed = FeedbackRequest.objects.filter(
        organization_id=request.organization_id, pk=request.pk, sent_at__isnull=True
    ).update(sent_at=timezone.now(), status="sent", survey_state="sent")
    if claimed:
        request_sent_rollup(request)


def change(response, **fields):
    """What the survey does: state before, change, state after, move the contribution."""
    old = answer_state_of(response) if response.pk else None
    for k, v in fields.items():
        setattr(response, k, v)
    response.updated_at = timezone.now()
    response.save()
    response_rollup_change(response.organization_id, old, answer_state_of(response))


def answer(interaction, *, kind=RequestKind.INITIAL, **fields):
    if kind == RequestKind.INITIAL:
        request = FeedbackRequest.objects.get(interaction=interaction, kind=kind)
    else:
        request = FeedbackRequest.objects.create(
            organization_id=interaction.organization_id,
            interaction=interaction,
            kind=kind,
            status="sent",
            survey_state="sent",
            send_after=timezone.now(),
            expires_at=timezone.now() + timedelta(days=14),
        )
    response = Response(
        organization_id=interaction.organization_id,
        request=request,
        interaction=interaction,
        agent_id=interaction.agent_id,
        team_id=interaction.team_id,
    )
    change(response, **fields)
    return response


@pytest.fixture
def ny(cast):
    Organization.objects.filter(pk=cast.org_a.pk).update(time_zone=NY)
    cast.org_a.refresh_from_db()
    return cast


# --- direct examples -----------------------------------------------------------------------------


def test_ingest_counts_live_interactions_on_the_local_day_of_the_recorded_agent_and_team(ny):
    org = ny.org_a
    with tenant_context(org):
        # 23:30 on 1 November in New York (after the clocks went back: UTC-5).
        ingest(org, 1, occurred_at=datetime(2026, 11, 2, 4, 30, tzinfo=UTC))
        # 23:30 on 8 March in New York (after the clocks went forward: UTC-4).
        ingest(org, 2, occurred_at=datetime(2026, 3, 9, 3, 30, tzinfo=UTC))
        ingest(org, 3, mode="test")
        Membership.objects.filter(pk=ny.ann.pk).update(team=ny.team_a2)
        ingest(org, 4, occurred_at=datetime(2026, 11, 2, 5, 30, tzinfo=UTC))
        rows = snapshot(org)
    assert rows[(date(2026, 11, 1), ny.ann.pk, ny.team_a1.pk)]["interactions"] == 1
    assert rows[(date(2026, 3, 8), ny.ann.pk, ny.team_a1.pk)]["interactions"] == 1
    assert rows[(date(2026, 11, 2), ny.ann.pk, ny.team_a2.pk)]["interactions"] == 1
    assert sum(r["interactions"] for r in rows.values()) == 3  # the test one never counts


def test_answers_edits_and_exclusions_move_the_past_days_counters(ny):
    org = ny.org_a
    with tenant_context(org):
        i = ingest(org, 1, occurred_at=timezone.now() - timedelta(days=3))
        key = (i.local_day, ny.ann.pk, ny.team_a1.pk)
        send(FeedbackRequest.objects.get(interaction=i))
        r = answer(i, stars=2, resolved=False, nps=3, confirmed=True)
        row = snapshot(org)[key]
        assert (row["requests_sent"], row["responses"], row["stars_sum"], row["stars_2"]) == (
            1,
            1,
            2,
            1,
        )
        assert (row["fcr_no"], row["nps_detractors"], row["csat_count"]) == (1, 1, 0)
        change(r, stars=5, resolved=True, nps=10)
        row = snapshot(org)[key]
        assert (row["stars_sum"], row["stars_2"], row["stars_5"], row["csat_count"]) == (5, 0, 1, 1)
        assert (row["fcr_no"], row["fcr_yes"], row["nps_detractors"], row["nps_promoters"]) == (
            0,
            1,
            0,
            1,
        )
        change(r, excluded=True, excluded_reason="abusive")
        row = snapshot(org)[key]
        assert (
            row["responses"],
            row["stars_count"],
            row["interactions"],
            row["requests_sent"],
        ) == (0, 0, 1, 1)
        change(r, excluded=False)
        assert snapshot(org)[key]["stars_5"] == 1


def test_unconfirmed_and_recovery_answers_never_count(ny):
    org = ny.org_a
    with tenant_context(org):
        i = ingest(org, 1)
        answer(i, stars=1, confirmed=False)
        answer(i, kind=RequestKind.RECOVERY, stars=5, confirmed=True)
        row = snapshot(org)[(i.local_day, ny.ann.pk, ny.team_a1.pk)]
    assert row["responses"] == 0 and row["interactions"] == 1


def test_rebuild_command_recomputes_from_raw_data(ny):
    org = ny.org_a
    with tenant_context(org):
        i = ingest(org, 1)
        answer(i, stars=4, confirmed=True)
        before = snapshot(org)
        DailyRollup.objects.filter(organization=org).update(stars_sum=999)
    call_command("rebuild_rollups", "--org", "acme", stdout=open("/dev/null", "w"))  # noqa: SIM115
    with tenant_context(org):
        assert snapshot(org) == before


def test_rebuild_rebuckets_days_after_a_time_zone_change(ny):
    org = ny.org_a
    with tenant_context(org):
        ingest(org, 1, occurred_at=datetime(2026, 11, 2, 4, 30, tzinfo=UTC))  # 1 Nov in New York
    Organization.objects.filter(pk=org.pk).update(time_zone="UTC")
    org.refresh_from_db()
    with tenant_context(org):
        rollups_rebuild(org)
        assert list(snapshot(org)) == [(date(2026, 11, 2), ny.ann.pk, ny.team_a1.pk)]
        assert Interaction.objects.get().local_day == date(2026, 11, 2)


# --- property: incremental == rebuilt ------------------------------------------------------------

# Local midnights and the clock changes of 2026 in New York, ± a few hours.
ANCHORS = [
    datetime(2026, 3, 8, 5, 0, tzinfo=UTC),  # 00:00 EST, 8 March
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # 02:00 EST → 03:00 EDT
    datetime(2026, 3, 9, 4, 0, tzinfo=UTC),  # 00:00 EDT, 9 March
    datetime(2026, 11, 1, 4, 0, tzinfo=UTC),  # 00:00 EDT, 1 November
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),  # 02:00 EDT → 01:00 EST
    datetime(2026, 11, 2, 5, 0, tzinfo=UTC),  # 00:00 EST, 2 November
]

times = st.builds(
    lambda a, m: a + timedelta(minutes=m), st.sampled_from(ANCHORS), st.integers(-240, 240)
)
agents = st.sampled_from(["ann@acme.test", "andy@acme.test", "zoe@acme.test"])
stars = st.one_of(st.none(), st.integers(1, 5))
resolved = st.sampled_from([None, True, False])
nps = st.one_of(st.none(), st.integers(0, 10))
target = st.integers(0, 30)

ingest_op = st.tuples(
    st.just("ingest"),
    agents,
    times,
    st.sampled_from(["live", "live", "live", "test"]),
    st.booleans(),
)
ops = st.lists(
    st.one_of(
        ingest_op,
        st.tuples(st.just("send"), target),
        st.tuples(
            st.just("answer"), target, stars, resolved, nps, st.sampled_from([True, True, False])
        ),
        st.tuples(st.just("answer"), target, stars, resolved, nps, st.just(True)),
        st.tuples(st.just("edit"), target, stars, resolved, nps),
        st.tuples(st.just("confirm"), target),
        st.tuples(st.just("exclude"), target, st.booleans()),
        st.tuples(st.just("recovery"), target, stars),
        st.tuples(st.just("move"), st.sampled_from(["ann", "andy", "zoe"]), st.booleans()),
    ),
    max_size=40,
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=st.lists(ingest_op, min_size=1, max_size=12), then=ops)
def test_incremental_rollups_equal_rebuilt_ones(ny, first, then):
    ops = first + then
    org = ny.org_a
    members = {"ann": ny.ann, "andy": ny.andy, "zoe": ny.zoe}
    with tenant_context(org):
        sid = transaction.savepoint()  # each example starts from the bare cast
        interactions: list[Interaction] = []
        responses: dict[int, Response] = {}
        for n, op in enumerate(ops):
            kind = op[0]
            if kind == "ingest":
                _, agent, when, mode, dns = op
                interactions.append(
                    ingest(org, n, agent=agent, occurred_at=when, mode=mode, do_not_send=dns)
                )
                continue
            if kind == "move":
                _, name, to_a2 = op
                team = ny.team_a2 if to_a2 else ny.team_a1
                Membership.objects.filter(pk=members[name].pk).update(team=team)
                continue
            if not interactions:
                continue
            i = interactions[op[1] % len(interactions)]
            r = responses.get(i.pk)
            if kind == "send":
                send(FeedbackRequest.objects.get(interaction=i, kind=RequestKind.INITIAL))
            elif kind == "answer" and r is None:
                _, _, s, res, score, confirmed = op
                responses[i.pk] = answer(i, stars=s, resolved=res, nps=score, confirmed=confirmed)
            elif kind == "edit" and r is not None:
                _, _, s, res, score = op
                change(r, stars=s, resolved=res, nps=score)
            elif kind == "confirm" and r is not None:
                change(r, confirmed=True)
            elif kind == "exclude" and r is not None:
                change(r, excluded=op[2])
            elif kind == "recovery":
                answer(i, kind=RequestKind.RECOVERY, stars=op[2], confirmed=True)
        incremental = snapshot(org)
        rollups_rebuild(org)
        rebuilt = snapshot(org)
        transaction.savepoint_rollback(sid)
    assert incremental == rebuilt


# --- demo history ---------------------------------------------------------------------------------


def test_demo_history_seed_is_idempotent_and_its_rollups_equal_a_rebuild(db, settings, tmp_path):
    from coachhub.accounts.services import organization_create
    from coachhub.core.seed import DEMO_ORGS, seed_people
    from feedback.seed_history import feedback_history

    settings.MEDIA_ROOT = tmp_path
    spec = DEMO_ORGS[0]
    org = organization_create(slug=spec["slug"], name=spec["name"], time_zone=spec["time_zone"])
    with tenant_context(org):
        demo = seed_people(org, spec, log=lambda *_: None)
        feedback_history(demo)
        n = Interaction.objects.count()
        answered = Response.objects.filter(confirmed=True).count()
        assert 1500 < n < 5000 and answered > 200
        assert (
            Response.objects.exclude(comment="")
            .filter(comment__icontains="password reset")
            .exists()
        )
        incremental = snapshot(org)
        feedback_history(demo)  # a re-run changes nothing
        assert Interaction.objects.count() == n and snapshot(org) == incremental
        rollups_rebuild(org)
        assert snapshot(org) == incremental
