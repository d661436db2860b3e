"""Daily rollups: counters per (organization, local day, agent, team), maintained incrementally
so dashboards never scan raw history, and rebuildable from raw data.

What counts, and where:
* the day is the interaction's ``local_day`` (its ``occurred_at`` in the organization's time
  zone); agent and team are the ones recorded on the interaction, whoever handles it later;
* test-mode interactions and recovery requests never count;
* ``interactions``: every live interaction (added by ingest);
* ``requests_sent``: initial requests once sent (``request_sent_rollup``, called once by the
  sender when it sets ``sent_at``);
* ``responses`` and the answer columns: confirmed, non-excluded answers to initial requests
  (``response_rollup_change(old, new)`` moves a response's contribution when it is recorded,
  edited, excluded or re-included).

Every write is one ``INSERT … ON CONFLICT DO UPDATE SET col = col + EXCLUDED.col`` (an upsert
that adds): concurrent writers to the same row serialize on the row lock and never lose an
increment. Rows are written in key order so two multi-row upserts cannot deadlock.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction

from coachhub.tenancy.raw import Prepared

from ..models import ROLLUP_COUNTERS, Mode, RequestKind

RollupKey = tuple[date, int, int | None]  # (day, agent membership id, team id or None)

_COLUMNS = ", ".join(ROLLUP_COUNTERS)
_UPDATES = ", ".join(f"{c} = feedback_dailyrollup.{c} + EXCLUDED.{c}" for c in ROLLUP_COUNTERS)
_ROW = "(" + ", ".join(["%s"] * (4 + len(ROLLUP_COUNTERS))) + ")"


def rollup_apply(organization_id: int, deltas: dict[RollupKey, dict[str, int]]) -> None:
    """Add ``deltas`` (counter → amount, negative to subtract) to each key's row."""
    rows = []
    for key in sorted(deltas, key=lambda k: (k[0], k[1], k[2] or 0)):
        delta = deltas[key]
        unknown = set(delta) - set(ROLLUP_COUNTERS)
        if unknown:
            raise ValueError(f"unknown rollup counters: {sorted(unknown)}")
        if not any(delta.values()):
            continue
        day, agent_id, team_id = key
        rows.append(
            (
                organization_id,
                day,
                agent_id,
                team_id,
                *(int(delta.get(c, 0)) for c in ROLLUP_COUNTERS),
            )
        )
    if not rows:
        return
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO feedback_dailyrollup"  # noqa: S608
            f" (organization_id, day, agent_id, team_id, {_COLUMNS})"
            f" VALUES {', '.join([_ROW] * len(rows))}"
            f" ON CONFLICT ON CONSTRAINT rollup_key DO UPDATE SET {_UPDATES}",
            [v for row in rows for v in row],
        )


def rollup_apply_one(
    organization_id: int, *, day: date, agent_id: int, team_id: int | None, delta: dict
) -> None:
    rollup_apply(organization_id, {(day, agent_id, team_id): delta})


# --- responses --------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerState:
    """What one response contributes to its rollup row. ``None`` instead of a state means
    "contributes nothing" (unconfirmed, excluded, test, recovery)."""

    day: date
    agent_id: int
    team_id: int | None
    stars: int | None = None
    resolved: bool | None = None
    nps: int | None = None

    @property
    def key(self) -> RollupKey:
        return (self.day, self.agent_id, self.team_id)

    def contribution(self) -> dict[str, int]:
        c = {"responses": 1}
        if self.stars is not None:
            c["stars_sum"] = self.stars
            c["stars_count"] = 1
            c[f"stars_{self.stars}"] = 1
            if self.stars >= 4:
                c["csat_count"] = 1
        if self.resolved is True:
            c["fcr_yes"] = 1
        elif self.resolved is False:
            c["fcr_no"] = 1
        if self.nps is not None:
            if self.nps >= 9:
                c["nps_promoters"] = 1
            elif self.nps >= 7:
                c["nps_passives"] = 1
            else:
                c["nps_detractors"] = 1
        return c


def answer_state_of(
    response, *, interaction=None, request_kind: str | None = None
) -> AnswerState | None:
    """The state to pass to ``response_rollup_change`` for a response as it is now.

    Pass ``interaction``/``request_kind`` when already loaded to save queries; otherwise they
    are read through ``response.interaction`` and ``response.request``.
    """
    if not response.confirmed or response.excluded:
        return None
    interaction = interaction or response.interaction
    kind = request_kind or response.request.kind
    if interaction.mode != Mode.LIVE or kind != RequestKind.INITIAL:
        return None
    return AnswerState(
        day=interaction.local_day,
        agent_id=interaction.agent_id,
        team_id=interaction.team_id,
        stars=response.stars,
        resolved=response.resolved,
        nps=response.nps,
    )


def response_rollup_change(
    organization_id: int, old: AnswerState | None, new: AnswerState | None
) -> None:
    """Move a response's contribution from ``old`` to ``new`` (either may be None).

    Record: (None, new). Star edit: (old, new). Exclusion: (old, None). Re-inclusion:
    (None, new). Call it in the same transaction as the change to the response.
    """
    if old == new:
        return
    deltas: dict[RollupKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if old is not None:
        for col, n in old.contribution().items():
            deltas[old.key][col] -= n
    if new is not None:
        for col, n in new.contribution().items():
            deltas[new.key][col] += n
    rollup_apply(organization_id, {k: dict(v) for k, v in deltas.items()})


@functools.cache
def _request_sent_statement() -> Prepared:
    counters = ", ".join("1" if c == "requests_sent" else "0" for c in ROLLUP_COUNTERS)
    return Prepared(
        "feedback_rollup_request_sent",
        f"INSERT INTO feedback_dailyrollup (organization_id, day, agent_id, team_id, {_COLUMNS})"  # noqa: S608
        f" VALUES ($1, $2, $3, $4, {counters}) ON CONFLICT ON CONSTRAINT rollup_key"
        " DO UPDATE SET requests_sent = feedback_dailyrollup.requests_sent + 1",
        ["bigint", "date", "bigint", "bigint"],
    )


def request_sent_write(request, interaction) -> tuple[Prepared, list] | None:
    """The statement and parameters counting a sent request, or None when it does not count
    (recovery requests, test interactions): for a caller that sends it in a round trip of its
    own (the survey sender); ``request_sent_rollup`` runs it."""
    if request.kind != RequestKind.INITIAL or interaction.mode != Mode.LIVE:
        return None
    params = [request.organization_id, interaction.local_day, interaction.agent_id]
    return _request_sent_statement(), [*params, interaction.team_id]


def request_sent_rollup(request, *, interaction=None) -> None:
    """Count a sent initial request. Call exactly once per request, when ``sent_at`` is first
    set (claim it with a conditional UPDATE), in the same transaction."""
    write = request_sent_write(request, interaction or request.interaction)
    if write is not None:
        statement, params = write
        with connection.cursor() as cur:
            statement.execute(cur, params)


# --- rebuild ----------------------------------------------------------------------------

_REBUILD_SQL = f"""
INSERT INTO feedback_dailyrollup (organization_id, day, agent_id, team_id, {_COLUMNS})
SELECT %(org)s, day, agent_id, team_id, {", ".join(f"SUM({c})" for c in ROLLUP_COUNTERS)}
FROM (
    SELECT i.local_day AS day, i.agent_id, i.team_id,
           1 AS interactions, 0 AS requests_sent, 0 AS responses, 0 AS stars_sum, 0 AS stars_count,
           0 AS stars_1, 0 AS stars_2, 0 AS stars_3, 0 AS stars_4, 0 AS stars_5, 0 AS csat_count,
           0 AS fcr_yes, 0 AS fcr_no, 0 AS nps_promoters, 0 AS nps_passives, 0 AS nps_detractors
    FROM feedback_interaction i
    WHERE i.organization_id = %(org)s AND i.mode = 'live'
  UNION ALL
    SELECT i.local_day, i.agent_id, i.team_id, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM feedback_feedbackrequest r JOIN feedback_interaction i ON i.id = r.interaction_id
    WHERE r.organization_id = %(org)s AND r.kind = 'initial' AND r.sent_at IS NOT NULL
      AND i.mode = 'live'
  UNION ALL
    SELECT i.local_day, i.agent_id, i.team_id, 0, 0, 1,
           COALESCE(s.stars, 0), (s.stars IS NOT NULL)::int,
           COALESCE((s.stars = 1)::int, 0), COALESCE((s.stars = 2)::int, 0),
           COALESCE((s.stars = 3)::int, 0), COALESCE((s.stars = 4)::int, 0),
           COALESCE((s.stars = 5)::int, 0), COALESCE((s.stars >= 4)::int, 0),
           COALESCE((s.resolved IS TRUE)::int, 0), COALESCE((s.resolved IS FALSE)::int, 0),
           COALESCE((s.nps >= 9)::int, 0), COALESCE((s.nps BETWEEN 7 AND 8)::int, 0),
           COALESCE((s.nps <= 6)::int, 0)
    FROM feedback_response s
    JOIN feedback_feedbackrequest r ON r.id = s.request_id
    JOIN feedback_interaction i ON i.id = r.interaction_id
    WHERE s.organization_id = %(org)s AND s.confirmed AND NOT s.excluded
      AND r.kind = 'initial' AND i.mode = 'live'
) AS x
GROUP BY day, agent_id, team_id
"""  # noqa: S608


@transaction.atomic
def rollups_rebuild(organization) -> int:
    """Recompute the organization's rollups from raw data. Returns the number of rows.

    First re-derives each interaction's ``local_day`` from ``occurred_at`` in the current time
    zone (it only differs if the organization changed its time zone). Locks the organization's
    rollup rows for the duration, so incremental writers wait rather than interleave.
    """
    org_id = organization.pk
    with connection.cursor() as cur:
        cur.execute(
            "SELECT 1 FROM feedback_dailyrollup WHERE organization_id = %s FOR UPDATE", [org_id]
        )
        cur.execute(
            "UPDATE feedback_interaction SET local_day = (occurred_at AT TIME ZONE %s)::date"
            " WHERE organization_id = %s AND local_day <> (occurred_at AT TIME ZONE %s)::date",
            [organization.time_zone, org_id, organization.time_zone],
        )
        cur.execute("DELETE FROM feedback_dailyrollup WHERE organization_id = %s", [org_id])
        cur.execute(_REBUILD_SQL, {"org": org_id})
        rows = cur.rowcount
        _repeat_contacts_rebuild(cur, organization)
        return rows


# --- repeat contacts (repeat-contact FCR) --------------------------------------------------
# An interaction is a "repeat contact" interaction when another live interaction of the same
# customer (e-mail) follows it within ``repeat_contact_days`` (strictly later, at most N days).
# Counted on the earlier interaction's row (its day, agent, team). Maintained incrementally by
# ingestion's insert statement (feedback/services/ingest.py: a late arrival adjusts the earlier
# day's row); rebuilt here from raw data.

_REPEAT_FOLLOWS = """
    EXISTS (SELECT 1 FROM feedback_interaction o
            WHERE o.organization_id = %(org)s AND o.mode = 'live'
              AND o.customer_email = a.customer_email
              AND o.occurred_at > a.occurred_at
              AND o.occurred_at <= a.occurred_at + %(window)s {extra})
"""

_REPEAT_REBUILD_SQL = f"""
SELECT a.local_day, a.agent_id, a.team_id, COUNT(*)
FROM feedback_interaction a
WHERE a.organization_id = %(org)s AND a.mode = 'live' AND {_REPEAT_FOLLOWS.format(extra="")}
GROUP BY 1, 2, 3
"""  # noqa: S608

_REPEAT_UPSERT = (
    "INSERT INTO feedback_dailyrollup"  # noqa: S608
    f" (organization_id, day, agent_id, team_id, {_COLUMNS}, repeat_contacts)"
    " VALUES {values}"
    " ON CONFLICT ON CONSTRAINT rollup_key DO UPDATE SET"
    " repeat_contacts = feedback_dailyrollup.repeat_contacts + EXCLUDED.repeat_contacts"
)


def repeat_window(organization):
    """The organization's repeat-contact window (``repeat_contact_days``)."""
    from datetime import timedelta

    from ..settings import org_setting

    return timedelta(days=int(org_setting(organization, "repeat_contact_days") or 7))


def _repeat_upsert(cur, organization_id: int, counts) -> None:
    rows = sorted(counts, key=lambda r: (r[0], r[1], r[2] or 0))
    if not rows:
        return
    row_sql = "(" + ", ".join(["%s"] * (5 + len(ROLLUP_COUNTERS))) + ")"
    params = []
    for day, agent_id, team_id, n in rows:
        params += [organization_id, day, agent_id, team_id, *([0] * len(ROLLUP_COUNTERS)), n]
    cur.execute(_REPEAT_UPSERT.format(values=", ".join([row_sql] * len(rows))), params)


def _repeat_contacts_rebuild(cur, organization) -> None:
    cur.execute(
        _REPEAT_REBUILD_SQL, {"org": organization.pk, "window": repeat_window(organization)}
    )
    _repeat_upsert(cur, organization.pk, cur.fetchall())
