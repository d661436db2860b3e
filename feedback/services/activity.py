"""Ingestion activity: what each source (api, zendesk, csv) sent lately and why it was refused.

A status page, not an audit log. It lives in Redis on purpose:

* A refused API call answers 4xx and the tenancy middleware rolls the request's transaction
  back, so a row written there would vanish with it; Redis is outside that transaction.
* It must stay cheap on the hot ingest path: one pipelined round trip, no row lock that
  concurrent requests of one organization would queue on (a per-org counter row would
  serialise every ingest of that organization until commit).
* It is bounded by construction: the last ``KEEP`` entries per (organization, source) and
  daily counters that expire.

Recording never raises: losing a status-page line must never fail an ingest.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from coachhub.core.redisclient import LuaScript, redis_client

log = logging.getLogger(__name__)

SOURCES = ("api", "zendesk", "csv")
ACCEPTED = "accepted"
REJECTED = "rejected"
OUTCOMES = (ACCEPTED, REJECTED)
KEEP = 100  # recent entries kept per (organization, source)
COUNTER_DAYS = 14
REASON_MAX = 500


# KEYS: the recent list, the day's counters. ARGV: entry, KEEP, ttl, call field, items field,
# items.
_RECORD = LuaScript(
    """
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
redis.call('HINCRBY', KEYS[2], ARGV[5], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""
)


def _key(organization_id: int, *parts) -> str:
    return ":".join(
        [settings.REDIS_KEY_PREFIX, "activity", str(int(organization_id)), *map(str, parts)]
    )


def activity_record(
    organization_id: int,
    source: str,
    outcome: str,
    reason: str = "",
    *,
    count: int = 1,
    ref: str = "",
    status: int | None = None,
) -> None:
    """Note one call/delivery/import of ``source`` (``api``, ``zendesk``, ``csv`` or another
    integration name) as ``accepted`` or ``rejected``.

    ``reason`` says why (for rejections: the first errors, e.g. ``"agent: no active agent with
    this e-mail"``), ``count`` how many interactions it carried, ``ref`` something the admin can
    recognise (an external id, a file name, an endpoint name), ``status`` the HTTP answer.
    Safe to call inside or outside a transaction; never raises.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}")
    now = timezone.now()
    entry = {
        "at": now.isoformat(),
        "source": source,
        "outcome": outcome,
        "reason": (reason or "")[:REASON_MAX],
        "count": int(count),
        "ref": (ref or "")[:200],
        "status": status,
    }
    day = now.date().isoformat()
    try:
        recent = _key(organization_id, "recent", source)
        counters = _key(organization_id, "counts", day)
        client = redis_client()
        _RECORD.script(client)(
            keys=[recent, counters],
            args=[
                json.dumps(entry),
                KEEP,
                COUNTER_DAYS * 86400,
                f"{source}:{outcome}",
                f"{source}:{outcome}:items",
                max(0, int(count)),
            ],
            client=client,
        )
    except Exception:  # Redis down: the ingest itself must not fail for a status line
        log.warning("could not record ingestion activity", exc_info=True)


def errors_summary(errors: list[dict], limit: int = 3) -> str:
    """``[{"field", "reason"}]`` → a short line for the status page."""
    parts = [f"{e.get('field') or 'request'}: {e.get('reason', '')}" for e in errors[:limit]]
    more = len(errors) - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def activity_recent_for(
    organization_id: int, source: str | None = None, limit: int = KEEP
) -> list[dict]:
    """Newest first; one source or all of them merged."""
    sources = [source] if source else list(SOURCES)
    try:
        pipe = redis_client().pipeline(transaction=False)
        for s in sources:
            pipe.lrange(_key(organization_id, "recent", s), 0, limit - 1)
        lists = pipe.execute()
    except Exception:
        log.warning("could not read ingestion activity", exc_info=True)
        return []
    entries = []
    for raw in (item for lst in lists for item in lst):
        try:
            entry = json.loads(raw)
            entry["at"] = timezone.datetime.fromisoformat(entry["at"])
        except (ValueError, KeyError, TypeError):
            continue
        entries.append(entry)
    entries.sort(key=lambda e: e["at"], reverse=True)
    return entries[:limit]


def activity_counts_for(organization_id: int, days: int = 7) -> dict[str, dict[str, int]]:
    """``{source: {"accepted": calls, "rejected": calls, "accepted_items": n, ...}}`` over the
    last ``days`` days (UTC)."""
    today = timezone.now().date()
    keys = [
        _key(organization_id, "counts", (today - timedelta(days=i)).isoformat())
        for i in range(days)
    ]
    totals = {
        s: {ACCEPTED: 0, REJECTED: 0, "accepted_items": 0, "rejected_items": 0} for s in SOURCES
    }
    try:
        pipe = redis_client().pipeline(transaction=False)
        for k in keys:
            pipe.hgetall(k)
        hashes = pipe.execute()
    except Exception:
        log.warning("could not read ingestion counters", exc_info=True)
        return totals
    for h in hashes:
        for field, value in h.items():
            field = field.decode() if isinstance(field, bytes) else field
            source, outcome, *items = field.split(":")
            bucket = totals.setdefault(
                source, {ACCEPTED: 0, REJECTED: 0, "accepted_items": 0, "rejected_items": 0}
            )
            name = f"{outcome}_items" if items else outcome
            bucket[name] = bucket.get(name, 0) + int(value)
    return totals


def activity_clear(organization_id: int) -> None:
    """Forget an organization's activity (tests; an organization's deletion)."""
    try:
        client = redis_client()
        keys = list(client.scan_iter(match=_key(organization_id, "*"), count=500))
        if keys:
            client.delete(*keys)
    except Exception:
        log.warning("could not clear ingestion activity", exc_info=True)
