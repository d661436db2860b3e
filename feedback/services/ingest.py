"""Interactions in: validation, idempotent insert, the feedback request and its delivery status.

One function serves every channel (REST single and bulk, Zendesk, CSV):

    interactions_ingest(organization, items, source=None, mode="live", history=False)

* All or nothing: every item is validated (in Python, from data fetched once per call, never a
  query per item) and either every item is stored or none is (``IngestValidationError`` carries
  every error, ``field`` like ``interactions[3].agent``).
* Idempotent on (organization, external_id, mode, source) through a unique constraint and
  ``INSERT … ON CONFLICT DO NOTHING``: a conflict means "already done". Nothing checks and then
  inserts, so concurrent duplicates make exactly one interaction and one feedback request (the
  feedback request is only inserted for rows this call's INSERT returned).
* A duplicate's body (an item whose source + external_id is already stored, or repeats an
  earlier item of the same call) is neither validated nor applied; it answers the existing id.
* The feedback request (kind ``initial``) is written in the same transaction with its delivery
  status, decided here: ``test`` (test keys) / ``do_not_send`` (flag, history import, or older
  than the survey expiry) / ``unsubscribed`` / ``suppressed`` (the same customer address was
  surveyed within the suppression period) / ``scheduled``.
* Live interactions add to the daily rollup of (local day, agent, team) in the same transaction,
  with the repeat contacts they make (repeat-contact FCR; see ``_INSERT_SQL``).

The caller must be inside the organization's context (``tenant_context`` or a request under the
API middleware); the function opens its own (nested) transaction.
"""

from __future__ import annotations

import concurrent.futures
import functools
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from psycopg2.extras import Json

from coachhub.tenancy.context import current_organization_id
from coachhub.tenancy.raw import Prepared

from ..models import (
    MAX_PROPERTIES,
    MAX_PROPERTY_KEY_LENGTH,
    MAX_PROPERTY_VALUE_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    ROLLUP_COUNTERS,
    Channel,
    FeedbackRequest,
    Interaction,
    Mode,
    RequestStatus,
    SurveyState,
)
from ..settings import org_setting
from .rollups import repeat_window

MAX_BULK = 1000
FUTURE_TOLERANCE = timedelta(minutes=5)
DEFAULT_SOURCE = "api"
# Rows per INSERT statement; bigger lists (CSV imports) are written in chunks of this size.
CHUNK = 1000

SOURCE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,50}$")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$")
_email_validator = EmailValidator()
_url_validator = URLValidator(schemes=["http", "https"])
# Plain addresses and URLs pass these in a microsecond; anything else (IDN, quoted parts,
# garbage) gets Django's full validators, which cost ~100 µs each: a 1,000-item call counts.
_PLAIN_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,63}\Z"
)
_PLAIN_URL = re.compile(
    r"^https?://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d{1,5})?(?:[/?#][^\s]*)?\Z"
)


def _email_check(value: str) -> None:
    if not (_PLAIN_EMAIL.match(value) and ".." not in value and not value.startswith(".")):
        _email_validator(value)


def _url_check(value: str) -> None:
    if not _PLAIN_URL.match(value):
        _url_validator(value)


# Callables ``hook(organization, created: list[IngestedRow])`` run inside the ingest
# transaction after the rows are written (e.g. the survey sender registers an on_commit
# doorbell). Apps to the right must not add hooks here: they react to recorded events.
AFTER_INGEST_HOOKS: list[Callable] = []


class IngestValidationError(Exception):
    """Nothing was written. ``errors`` is ``[{"field": ..., "reason": ...}, ...]``."""

    def __init__(self, errors: list[dict]):
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


@dataclass
class IngestedRow:
    """A newly stored interaction (what hooks receive)."""

    interaction_id: int
    public_id: uuid.UUID
    request_id: int
    status: str
    send_after: datetime
    # The validated item (``agent`` is its AgentInfo) and when it was stored: enough for an
    # API answer without reading the row back.
    item: dict = field(default_factory=dict, repr=False)
    created_at: datetime | None = None


@dataclass
class IngestResult:
    created: int = 0
    duplicates: int = 0
    # In input order: the interaction's public id, its database id, and whether this call
    # created it (False: it already existed or repeated an earlier item).
    ids: list[uuid.UUID] = field(default_factory=list)
    pks: list[int] = field(default_factory=list)
    created_flags: list[bool] = field(default_factory=list)
    rows: list[IngestedRow] = field(default_factory=list)


# --- validation -------------------------------------------------------------------------


def allowed_channels(organization) -> set[str]:
    custom = org_setting(organization, "custom_channels") or []
    return set(Channel.values) | {str(c).lower() for c in custom}


class _Errors:
    def __init__(self, prefix: str | None):
        self.prefix = prefix
        self.items: list[dict] = []
        self._order: list[int] = []

    def add(self, index: int, name: str | None, reason: str) -> None:
        if self.prefix is None:
            path = name
        else:
            base = f"{self.prefix}[{index}]"
            path = f"{base}.{name}" if name else base
        self._order.append(index)
        self.items.append({"field": path, "reason": reason})

    def indices(self) -> set[int]:
        return set(self._order)

    def drop(self, indices: set[int]) -> None:
        """Forget the errors of these items (stored duplicates: their body is not validated)."""
        kept = [(i, e) for i, e in zip(self._order, self.items, strict=True) if i not in indices]
        self._order = [i for i, _ in kept]
        self.items = [e for _, e in kept]

    def sorted(self) -> list[dict]:
        """Errors in item order (agent errors are found after the field checks)."""
        return [
            e
            for _, _, e in sorted(zip(self._order, range(len(self.items)), self.items, strict=True))
        ]


def _text(value, *, required: bool, max_length: int):
    """(clean value, error reason or None)."""
    if value is None or value == "":
        return "", ("This field is required." if required else None)
    if not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        else:
            return "", "Must be a string."
    value = value.strip()
    if "\x00" in value:
        return "", "Must not contain NUL characters."
    if required and not value:
        return "", "This field may not be blank."
    if len(value) > max_length:
        return "", f"At most {max_length} characters."
    return value, None


def _key(raw, default_source: str | None, forced_source: str | None):
    """(source, external_id) of an item, or reasons why not: the idempotency key."""
    errors = []
    if not isinstance(raw, dict):
        return None, [(None, "Each interaction must be a JSON object.")]
    external_id, reason = _text(raw.get("external_id"), required=True, max_length=200)
    if reason:
        errors.append(("external_id", reason))
    if forced_source is not None:
        source = forced_source
    else:
        source = raw.get("source")
        if source is None or source == "":
            source = default_source or DEFAULT_SOURCE
        elif not isinstance(source, str) or not SOURCE_RE.match(source):
            errors.append(("source", "Use 1–50 letters, digits, '_', '.', ':' or '-'."))
    if errors:
        return None, errors
    return (source, external_id), []


def _parse_time(value, now: datetime):
    if value is None or value == "":
        return now, None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            return None, "Use an ISO 8601 timestamp with an offset, e.g. 2026-11-23T10:15:00Z."
    else:
        return None, "Use an ISO 8601 timestamp with an offset, e.g. 2026-11-23T10:15:00Z."
    if timezone.is_naive(parsed):
        return None, "Include a UTC offset (e.g. Z or +01:00)."
    if parsed > now + FUTURE_TOLERANCE:
        return None, "Must not be more than 5 minutes in the future."
    return parsed, None


def _agent_ref(raw):
    """('email'|'employee_id', value) or (None, reason)."""
    if not isinstance(raw, dict):
        return None, 'Give the agent as {"email": ...} or {"employee_id": ...}.'
    email, employee_id = raw.get("email"), raw.get("employee_id")
    if email not in (None, ""):
        if not isinstance(email, str):
            return None, "The agent's e-mail must be a string."
        return ("email", email.strip().lower()), None
    if employee_id not in (None, ""):
        if isinstance(employee_id, int) and not isinstance(employee_id, bool):
            employee_id = str(employee_id)
        if not isinstance(employee_id, str):
            return None, "The agent's employee_id must be a string."
        return ("employee_id", employee_id.strip()), None
    return None, 'Give the agent as {"email": ...} or {"employee_id": ...}.'


class AgentInfo(NamedTuple):
    """An active agent as ingestion resolved it (enough to describe it in an API answer)."""

    id: int
    team_id: int | None
    public_id: uuid.UUID
    email: str
    employee_id: str | None
    display_name: str | None
    first_name: str
    last_name: str
    team_public_id: uuid.UUID | None
    team_name: str | None


@dataclass
class _Agents:
    by_email: dict[str, AgentInfo]
    by_employee_id: dict[str, AgentInfo]

    def get(self, ref) -> AgentInfo | None:
        kind, value = ref
        return (self.by_email if kind == "email" else self.by_employee_id).get(value)


# The agents named by address ($2, lower-cased) or employee id ($3): one index probe per name
# (auth_user's lower(email) index, then the membership; or the profile's employee id), never a
# read of every membership of the organization (2,000 agents: ~7 ms per call). The laterals
# with OFFSET 0 keep the probes whatever a generic plan guesses about the organization's size.
_AGENTS_SQL = """
SELECT m.id, m.team_id, m.public_id, lower(u.email), p.employee_id, p.display_name,
       u.first_name, u.last_name, t.public_id, t.name
FROM (
    SELECT n.id FROM unnest($2::text[]) AS e(email) CROSS JOIN LATERAL (
        SELECT m.id FROM auth_user u
        JOIN coachhub_membership m ON m.organization_id = $1 AND m.user_id = u.id
        WHERE lower(u.email) = e.email
        OFFSET 0
    ) n
    UNION
    SELECT p.membership_id FROM coachhub_agentprofile p
    WHERE p.organization_id = $1 AND p.employee_id = ANY($3) AND p.employee_id <> ''
) named
CROSS JOIN LATERAL (
    SELECT m.* FROM coachhub_membership m
    WHERE m.id = named.id AND m.organization_id = $1
    OFFSET 0
) m
JOIN auth_user u ON u.id = m.user_id
LEFT JOIN coachhub_agentprofile p
  ON p.membership_id = m.id AND p.organization_id = m.organization_id
LEFT JOIN coachhub_team t ON t.id = m.team_id AND t.organization_id = m.organization_id
WHERE m.is_active AND m.role = 'agent'
"""
_AGENTS = Prepared("feedback_ingest_agents", _AGENTS_SQL, ["bigint", "text[]", "text[]"])


def _agent_rows(rows) -> _Agents:
    agents = _Agents({}, {})
    for row in rows:
        info = AgentInfo(*row)
        agents.by_email[info.email] = info
        if info.employee_id:
            agents.by_employee_id[info.employee_id] = info
    return agents


def _agent_refs(refs: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    emails = {v for k, v in refs if k == "email"}
    employee_ids = {v for k, v in refs if k == "employee_id"}
    return sorted(emails), sorted(employee_ids)


def _agents_for(organization, refs: Iterable[tuple[str, str]]) -> _Agents:
    """Active agents of the organization named by ``refs``, in one query."""
    emails, employee_ids = _agent_refs(refs)
    if not emails and not employee_ids:
        return _Agents({}, {})
    # Raw SQL: this runs on every API call, and the ORM's query building costs more than the
    # query itself. Same tables and filters as Membership.objects (RLS applies as usual).
    with connection.cursor() as cur:
        _AGENTS.execute(cur, [organization.pk, emails, employee_ids])
        return _agent_rows(cur.fetchall())


def _validate(raw: dict, i: int, errors: _Errors, *, channels: set[str], now: datetime):
    """Field checks that need no database. Returns the clean item (agent still a reference)."""
    n_before = len(errors.items)
    clean = {}

    channel = raw.get("channel")
    if channel is None or channel == "":
        errors.add(i, "channel", "This field is required.")
    elif not isinstance(channel, str) or channel.strip().lower() not in channels:
        errors.add(i, "channel", f"Unknown channel; use one of: {', '.join(sorted(channels))}.")
    else:
        clean["channel"] = channel.strip().lower()

    if "agent" not in raw or raw.get("agent") in (None, "", {}):
        errors.add(i, "agent", "This field is required.")
    else:
        ref, reason = _agent_ref(raw["agent"])
        if reason:
            errors.add(i, "agent", reason)
        else:
            clean["agent_ref"] = ref

    customer = raw.get("customer")
    if not isinstance(customer, dict):
        errors.add(i, "customer", 'Give the customer as {"name": ..., "email": ...}.')
    else:
        name, reason = _text(customer.get("name"), required=True, max_length=200)
        if reason:
            errors.add(i, "customer.name", reason)
        email, reason = _text(customer.get("email"), required=True, max_length=254)
        if not reason:
            try:
                _email_check(email)
            except DjangoValidationError:
                reason = "Enter a valid e-mail address."
        if reason:
            errors.add(i, "customer.email", reason)
        phone, reason = _text(customer.get("phone"), required=False, max_length=40)
        if reason:
            errors.add(i, "customer.phone", reason)
        language, reason = _text(customer.get("language"), required=False, max_length=16)
        if not reason and language and not LANGUAGE_RE.match(language):
            reason = "Use a language code such as 'en' or 'pt-BR'."
        if reason:
            errors.add(i, "customer.language", reason)
        clean.update(
            customer_name=name,
            customer_email=email.lower(),
            customer_phone=phone,
            customer_language=language,
        )

    occurred_at, reason = _parse_time(raw.get("occurred_at"), now)
    if reason:
        errors.add(i, "occurred_at", reason)
    clean["occurred_at"] = occurred_at

    tags = raw.get("tags")
    if tags is None:
        clean["tags"] = []
    elif not isinstance(tags, list):
        errors.add(i, "tags", "Must be a list of strings.")
    elif len(tags) > MAX_TAGS:
        errors.add(i, "tags", f"At most {MAX_TAGS} tags.")
    else:
        clean_tags = []
        for t, tag in enumerate(tags):
            value, reason = _text(tag, required=True, max_length=MAX_TAG_LENGTH)
            if reason:
                errors.add(i, f"tags[{t}]", reason)
            elif value not in clean_tags:
                clean_tags.append(value)
        clean["tags"] = clean_tags

    props = raw.get("properties")
    if props is None:
        clean["properties"] = {}
    elif not isinstance(props, dict):
        errors.add(i, "properties", "Must be a flat object of string values.")
    elif len(props) > MAX_PROPERTIES:
        errors.add(i, "properties", f"At most {MAX_PROPERTIES} keys.")
    else:
        for key, value in props.items():
            if len(key) > MAX_PROPERTY_KEY_LENGTH or not key:
                errors.add(i, "properties", f"Keys must be 1–{MAX_PROPERTY_KEY_LENGTH} characters.")
            elif "\x00" in key or (isinstance(value, str) and "\x00" in value):
                errors.add(i, f"properties.{key}", "Must not contain NUL characters.")
            elif not isinstance(value, str):
                errors.add(
                    i, f"properties.{key}", "Must be a string (properties are a flat string map)."
                )
            elif len(value) > MAX_PROPERTY_VALUE_LENGTH:
                errors.add(
                    i, f"properties.{key}", f"At most {MAX_PROPERTY_VALUE_LENGTH} characters."
                )
        clean["properties"] = props

    ticket_url, reason = _text(raw.get("ticket_url"), required=False, max_length=1000)
    if not reason and ticket_url:
        try:
            _url_check(ticket_url)
        except DjangoValidationError:
            reason = "Enter a valid http(s) URL."
    if reason:
        errors.add(i, "ticket_url", reason)
    clean["ticket_url"] = ticket_url

    dns = raw.get("do_not_send", False)
    if dns is None:
        dns = False
    if not isinstance(dns, bool):
        errors.add(i, "do_not_send", "Must be true or false.")
    clean["do_not_send"] = dns is True

    return clean if len(errors.items) == n_before else None


# --- the write ----------------------------------------------------------------------------


def _check_call(organization, mode: str, name: str) -> None:
    if current_organization_id() != organization.pk:
        raise RuntimeError(f"{name} must run inside the organization's context")
    if mode not in Mode.values:
        raise ValueError(f"unknown mode {mode!r}")


@dataclass
class Checked:
    """Items checked without the database (``items_check``): their keys, the validated first
    occurrence of each key, and the field errors. A CSV import checks its next chunk while
    Postgres writes the one before (``interactions_ingest_start(checked=...)``)."""

    keys: list[tuple[str, str] | None]
    new: list[tuple[int, tuple[str, str], dict]]
    errors: _Errors
    now: datetime


def items_check(
    organization,
    items: list[dict],
    *,
    source: str | None = None,
    default_source: str | None = None,
    error_prefix: str | None = "interactions",
    now: datetime | None = None,
    channels: set[str] | None = None,
) -> Checked:
    """The first half of ingestion, in Python only (no query, so it may run in another
    thread than the one holding the transaction): keys and field validation."""
    now = now or timezone.now()
    errors = _Errors(error_prefix)
    keys: list[tuple[str, str] | None] = []
    for i, raw in enumerate(items):
        key, key_errors = _key(raw, default_source, source)
        for name, reason in key_errors:
            errors.add(i, name, reason)
        keys.append(key)

    # Validate the first occurrence of every key; later repeats in the call are duplicates.
    if channels is None:
        channels = allowed_channels(organization)
    first_index: dict[tuple[str, str], int] = {}
    new: list[tuple[int, tuple[str, str], dict]] = []
    for i, (raw, key) in enumerate(zip(items, keys, strict=True)):
        if key is None or key in first_index:
            continue
        first_index[key] = i
        clean = _validate(raw, i, errors, channels=channels, now=now)
        if clean is not None:
            new.append((i, key, clean))
    return Checked(keys, new, errors, now)


def _prepare(
    organization,
    checked: Checked,
    mode: str,
    history=None,
    statements: StatementThread | None = None,
    agents_known: _Agents | None = None,
):
    """Keys, known stored duplicates, and the validated new items (agents resolved), plus
    errors, and (to ingest: ``history`` given) the send plan with its suppression facts, read
    in the same round trip as the agents.

    Stored duplicates are not looked up first: in the common case (new interactions) that is
    a query for nothing, and a duplicate that slips through is caught by ON CONFLICT anyway.
    Only items that fail validation are checked against stored keys, because a stored
    duplicate's body is not validated: its errors do not count.

    ``agents_known``: agents an earlier call of the same transaction resolved (a CSV import's
    chunks); when every reference is among them and no address needs a suppression check,
    no query is made. ``statements``: what an earlier call sent is written before any query
    here (suppression must see those rows).
    """
    keys, new, errors, now = checked.keys, checked.new, checked.errors, checked.now
    refs = [c["agent_ref"] for _, _, c in new]
    plan = None if history is None else _send_plan(organization, mode, history, new, now)
    if (
        agents_known is not None
        and (plan is None or not plan.emails)
        and all(agents_known.get(ref) is not None for ref in set(refs))
    ):
        agents = agents_known
    else:
        if statements is not None:
            statements.drain()
        if plan is None:
            agents = _agents_for(organization, refs)
        else:
            agents = _agents_and_suppression(organization, refs, plan)
        if agents_known is not None:
            agents_known.by_email.update(agents.by_email)
            agents_known.by_employee_id.update(agents.by_employee_id)
    for i, _, clean in new:
        agent = agents.get(clean["agent_ref"])
        if agent is None:
            kind, _value = clean["agent_ref"]
            what = "e-mail" if kind == "email" else "employee_id"
            errors.add(i, "agent", f"No active agent with this {what} in the organization.")
        else:
            clean["agent_id"], clean["team_id"], clean["agent"] = agent.id, agent.team_id, agent
    new = [entry for entry in new if "agent_id" in entry[2]]

    existing: dict = {}
    if errors.items:
        if statements is not None:
            statements.drain()
        failing = {i for i in errors.indices() if keys[i] is not None}
        existing = _existing(organization, mode, {keys[i] for i in failing})
        errors.drop({i for i in failing if keys[i] in existing})
    return keys, existing, new, errors, plan


def interaction_ingest(organization, item: dict, **kwargs) -> IngestResult:
    """One interaction; errors name fields without the ``interactions[i].`` prefix."""
    return interactions_ingest(organization, [item], error_prefix=None, **kwargs)


def interactions_validate(
    organization,
    items: list[dict],
    *,
    source: str | None = None,
    mode: str = Mode.LIVE,
    history: bool = False,
    error_prefix: str | None = "interactions",
    default_source: str | None = None,
) -> list[dict]:
    """Every error ``interactions_ingest`` would report for ``items``, writing nothing (e.g. a
    CSV import's check before the admin confirms). Same arguments as ``interactions_ingest``."""
    _check_call(organization, mode, "interactions_validate")
    checked = items_check(
        organization,
        items,
        source=source,
        default_source=default_source,
        error_prefix=error_prefix,
    )
    *_, errors, _plan = _prepare(organization, checked, mode)
    return errors.sorted()


def interactions_ingest(
    organization,
    items: list[dict],
    *,
    source: str | None = None,
    mode: str = Mode.LIVE,
    history: bool = False,
    error_prefix: str | None = "interactions",
    default_source: str | None = None,
    checked: Checked | None = None,
) -> IngestResult:
    """Validate and store ``items``; see the module docstring.

    ``source`` forces the source of every item (a channel such as ``zendesk`` passes it; the
    items' own ``source`` is then ignored); ``default_source`` only fills it where an item has
    none (else ``api``). ``mode`` is the API key's mode. ``history=True`` (imports of past
    contacts) stores and counts but never surveys. ``checked``: ``items_check`` of ``items``
    with the same ``source``/``default_source``/``error_prefix``, done beforehand (its ``now``
    is the call's).
    """
    prepared = _ingest_prepare(
        organization, items, source, mode, history, error_prefix, default_source, checked
    )
    # No savepoint of its own when the caller already holds a transaction (a request, an
    # import): an error here fails the caller's transaction, which is what every caller wants,
    # and saves two round trips on the hot path.
    with transaction.atomic(savepoint=False):
        stored = _insert(organization, prepared)
        return _ingest_result(organization, prepared, stored())


def interactions_ingest_start(
    organization,
    items: list[dict],
    *,
    statements: StatementThread,
    source: str | None = None,
    mode: str = Mode.LIVE,
    history: bool = False,
    error_prefix: str | None = "interactions",
    default_source: str | None = None,
    checked: Checked | None = None,
    agents_known: _Agents | None = None,
) -> PendingIngest:
    """``interactions_ingest`` whose insert statements run on ``statements`` (a second thread
    on this transaction's connection): returns once they are sent, so the caller can check its
    next items while Postgres writes these. Validation errors are raised here, before anything
    is sent. Only inside the caller's transaction; statements the caller runs meanwhile wait
    for these (psycopg2 serializes a connection's statements) and then see their rows."""
    if not connection.in_atomic_block:
        raise RuntimeError("interactions_ingest_start must run inside a transaction")
    prepared = _ingest_prepare(
        organization,
        items,
        source,
        mode,
        history,
        error_prefix,
        default_source,
        checked,
        statements,
        agents_known,
    )
    return PendingIngest(organization, prepared, _insert(organization, prepared, statements))


class PendingIngest:
    """What ``interactions_ingest_start`` sent. ``result()`` waits until Postgres has written
    it (raising its error, if any) and gives the ``IngestResult``."""

    def __init__(self, organization, prepared: _Prepared, stored: Callable):
        self._organization, self._prepared, self._stored = organization, prepared, stored

    def result(self) -> IngestResult:
        return _ingest_result(self._organization, self._prepared, self._stored())


@dataclass
class _Prepared:
    keys: list
    existing: dict
    new: list
    plan: _SendPlan | None
    mode: str
    history: bool
    now: datetime


def _ingest_prepare(
    organization,
    items,
    source,
    mode,
    history,
    error_prefix,
    default_source,
    checked,
    statements=None,
    agents_known=None,
) -> _Prepared:
    _check_call(organization, mode, "interactions_ingest")
    if checked is None:
        checked = items_check(
            organization,
            items,
            source=source,
            default_source=default_source,
            error_prefix=error_prefix,
        )
    keys, existing, new, errors, plan = _prepare(
        organization, checked, mode, history, statements, agents_known
    )
    if errors.items:
        raise IngestValidationError(errors.sorted())
    return _Prepared(keys, existing, new, plan, mode, history, checked.now)


def _ingest_result(organization, prepared: _Prepared, created: dict) -> IngestResult:
    result = IngestResult()
    existing, mode = prepared.existing, prepared.mode
    # Race: a concurrent call stored one of "our" keys first; ON CONFLICT left it to them.
    missing = {key for _, key, _ in prepared.new if key not in created}
    if missing:
        existing.update(_existing(organization, mode, missing))
    for key in prepared.keys:
        if key in created:
            row = created.pop(key)
            result.created += 1
            result.ids.append(row.public_id)
            result.pks.append(row.interaction_id)
            result.created_flags.append(True)
            result.rows.append(row)
            # A repeat of this key later in the call is a duplicate of this row.
            existing[key] = (row.interaction_id, row.public_id)
        else:
            pk, public_id = existing[key]
            result.duplicates += 1
            result.ids.append(public_id)
            result.pks.append(pk)
            result.created_flags.append(False)
    if result.rows:
        for hook in AFTER_INGEST_HOOKS:
            hook(organization, result.rows)
    return result


_EXISTING_SQL = """
SELECT k.source, k.external_id, x.id, x.public_id
FROM unnest(%s::text[], %s::text[]) AS k(source, external_id)
CROSS JOIN LATERAL (
    SELECT i.id, i.public_id FROM feedback_interaction i
    WHERE i.organization_id = %s AND i.mode = %s AND i.source = k.source
      AND i.external_id = k.external_id
    LIMIT 1
) AS x
"""


def _existing(organization, mode: str, keys: set[tuple[str, str]]) -> dict:
    """Stored interactions among ``keys``: one probe of the idempotency index per key (a plan
    that stale statistics cannot turn into a scan of a large organization's rows)."""
    if not keys:
        return {}
    ordered = sorted(keys)
    with connection.cursor() as cur:
        cur.execute(
            _EXISTING_SQL,
            [[s for s, _ in ordered], [e for _, e in ordered], organization.pk, mode],
        )
        return {(s, e): (pk, pub) for s, e, pk, pub in cur.fetchall()}


# Generic plans from the first call: a custom plan (Postgres's choice for a prepared
# statement's first five runs on a session) plans the statement again with every value
# inlined, a thousand addresses or rows included. SET LOCAL ends with the transaction and only
# prepared statements (ours) and PL/pgSQL read it; it rides along in the same round trip.
# No sequential scans for the rest of the transaction: the foreign-key checks of the rows
# written (each a lookup by primary key) are planned once per session, with the statistics of
# that moment, and kept. Planned while the tables were empty (a new installation, a bench
# database just cleared) they read the whole interactions table for every row written — a
# 10,000-row import read 51 million rows; with seq scans off they are index lookups, whatever
# the statistics say. Every table these transactions read has an index for it.
GENERIC_PLANS = "SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off"

_LOCK = Prepared(
    "feedback_ingest_lock",
    """
SELECT pg_advisory_xact_lock(k)
FROM (SELECT DISTINCT hashtextextended($1 || e, 0) AS k FROM unnest($2) AS e ORDER BY 1) s
""",
    ["text", "text[]"],
)
# The agents (kind 'a', the columns of AgentInfo) and, for the customer addresses a survey
# may go to, the unsubscribed ones ('u') and those surveyed since $5 ('s': a live initial
# request still scheduled or sent; none when $5 is NULL, no suppression period). One result,
# so the agents and the suppression facts are one round trip.
_SUPPRESSION_FACTS_SQL = """
UNION ALL
SELECT 'u', NULL, NULL, NULL, email, NULL, NULL, NULL, NULL, NULL, NULL
FROM feedback_unsubscribe WHERE organization_id = $1 AND email = ANY({emails})
UNION ALL
SELECT 's', NULL, NULL, NULL, e.email, NULL, NULL, NULL, NULL, NULL, NULL
FROM unnest({emails}) AS e(email)
CROSS JOIN LATERAL (
    SELECT 1 FROM feedback_interaction i
    JOIN feedback_feedbackrequest r
      ON r.organization_id = i.organization_id AND r.interaction_id = i.id AND r.kind = 'initial'
    WHERE i.organization_id = $1 AND i.customer_email = e.email AND i.mode = 'live'
      AND r.status IN ('scheduled', 'sent') AND r.send_after > $5
    LIMIT 1
) AS surveyed
"""
_AGENTS_CHECK_SQL = f"SELECT 'a', a.* FROM ({_AGENTS_SQL}) a {_SUPPRESSION_FACTS_SQL}"  # noqa: S608
# The check starts from the addresses (a probe of the (organization, customer_email) index
# each), never from the organization's requests: with stale statistics the planner otherwise
# scanned every request of a large organization.
_AGENTS_CHECK = Prepared(
    "feedback_ingest_agents_check",
    _AGENTS_CHECK_SQL.format(emails="$4"),
    ["bigint", "text[]", "text[]", "text[]", "timestamptz"],
)
# The same for one address (single calls): its generic plan is as good as a custom one, so
# Postgres stops planning it per call; the array form's generic plan expects ten addresses
# and loses to a custom plan every time.
_AGENTS_CHECK_ONE = Prepared(
    "feedback_ingest_agents_check_one",
    _AGENTS_CHECK_SQL.format(emails="ARRAY[$4]"),
    ["bigint", "text[]", "text[]", "text", "timestamptz"],
)


@dataclass
class _SendPlan:
    """What decides delivery statuses before anything is written: the dates, which items
    need the database (``emails``: their customer addresses) and what it found for them."""

    send_after: datetime
    expires_at: datetime
    too_old: datetime
    suppression: timedelta
    emails: list[str]
    unsubscribed: set[str] = field(default_factory=set)
    surveyed: set[str] = field(default_factory=set)


def _needs_check(mode: str, history: bool, clean: dict, too_old: datetime) -> bool:
    return not (
        mode == Mode.TEST or history or clean["do_not_send"] or clean["occurred_at"] < too_old
    )


def _send_plan(organization, mode: str, history: bool, new, now: datetime) -> _SendPlan:
    send_after = now + timedelta(minutes=int(org_setting(organization, "send_delay_minutes") or 0))
    expiry = timedelta(days=int(org_setting(organization, "survey_expiry_days")))
    too_old = now - expiry
    emails = sorted(
        {c["customer_email"] for _, _, c in new if _needs_check(mode, history, c, too_old)}
    )
    suppression = timedelta(days=float(org_setting(organization, "suppression_days") or 0))
    return _SendPlan(send_after, send_after + expiry, too_old, suppression, emails)


def _agents_and_suppression(organization, refs, plan: _SendPlan) -> _Agents:
    """The agents named by ``refs``, and the suppression facts of ``plan.emails`` filled in:
    one round trip (plus nothing when no address needs a check)."""
    if not plan.emails:
        return _agents_for(organization, refs)
    if not connection.in_atomic_block:  # the locks must last until the rows are written
        raise RuntimeError("ingest must run inside the organization's transaction")
    emails, employee_ids = _agent_refs(refs)
    org_id = organization.pk
    check = _AGENTS_CHECK_ONE if len(plan.emails) == 1 else _AGENTS_CHECK
    since = plan.send_after - plan.suppression if plan.suppression else None
    params = [
        org_id,
        emails,
        employee_ids,
        plan.emails[0] if check is _AGENTS_CHECK_ONE else plan.emails,
        since,
    ]
    with connection.cursor() as cur:
        check.ensure(cur)
        if plan.suppression:
            # Serialize decisions about the same address: two concurrent calls for one
            # customer must not both schedule a survey. Locks are taken in a fixed order (no
            # deadlock) and released at commit. The check is the second statement of the
            # round trip, so its snapshot is taken after the locks are held and sees the
            # previous holder's commit.
            _LOCK.ensure(cur)
            cur.execute(
                f"{GENERIC_PLANS}; {_LOCK.execute_sql}; {check.execute_sql}",
                [f"feedback-suppress:{org_id}:", plan.emails, *params],
            )
        else:
            cur.execute(f"{GENERIC_PLANS}; {check.execute_sql}", params)
        rows = cur.fetchall()
    plan.unsubscribed = {r[4] for r in rows if r[0] == "u"}
    plan.surveyed = {r[4] for r in rows if r[0] == "s"}
    return _agent_rows(r[1:] for r in rows if r[0] == "a")


def _statuses(mode: str, history: bool, new, plan: _SendPlan) -> list[str]:
    """Delivery status per new item (same order), from what ``plan`` found."""
    statuses = []
    surveyed = set(plan.surveyed)
    for _, _, clean in new:
        if mode == Mode.TEST:
            statuses.append(RequestStatus.TEST)
        elif not _needs_check(mode, history, clean, plan.too_old):
            statuses.append(RequestStatus.DO_NOT_SEND)
        elif (email := clean["customer_email"]) in plan.unsubscribed:
            statuses.append(RequestStatus.UNSUBSCRIBED)
        elif email in surveyed:
            statuses.append(RequestStatus.SUPPRESSED)
        else:
            statuses.append(RequestStatus.SCHEDULED)
            if plan.suppression:
                surveyed.add(email)  # later items of this call for the same customer
    return statuses


def _extra_columns(model, known: set[str]) -> tuple[list[str], list, list[str]]:
    """Columns later work added to ``model`` that ingest does not fill, with their model
    defaults and database types: a raw INSERT naming only ours would break on a new NOT NULL
    column."""
    cols, values, types = [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key or f.column in known:
            continue
        value = f.get_default()
        if f.get_internal_type() == "JSONField":
            value = Json(value)
        cols.append(f.column)
        values.append(value)
        types.append(f.db_type(connection))
    return cols, values, types


_I_KNOWN = {
    "public_id", "organization_id", "external_id", "source", "mode", "channel", "customer_name",
    "customer_email", "customer_phone", "customer_language", "agent_id", "team_id",
    "occurred_at", "local_day", "tags", "properties", "ticket_url", "do_not_send", "created_at",
}  # fmt: skip
_R_KNOWN = {
    "public_id", "organization_id", "interaction_id", "kind", "status", "survey_state",
    "send_after", "sent_at", "expires_at", "created_at", "updated_at",
}  # fmt: skip
_D_KNOWN = {"organization_id", "day", "agent_id", "team_id", "repeat_contacts", *ROLLUP_COUNTERS}

# One statement writes the interactions (ON CONFLICT DO NOTHING: a conflict is "already
# done"), a feedback request for exactly the rows inserted, and the rollup increments: the
# interactions of live calls, and their repeat contacts (repeat-contact FCR, see rollups.py).
# A new interaction is a repeat contact when a stored or new interaction of the same customer
# follows it within the window; a stored one becomes one when a new interaction follows it and
# no stored one did yet (so a late arrival adjusts the earlier day's row, once). The
# statement's snapshot holds the stored rows only; the new ones are ``ins``. One index probe
# per new row (``near``: the customer's stored interactions within the window either side)
# answers both questions. Rows go in key order and rollup rows in rollup-key order, so
# concurrent calls take row locks in the same order and cannot deadlock.
#
# The rows travel as one array per column (``ROW_COLUMNS``): Postgres reads array literals
# about three times faster than the same rows as JSON, and building them costs the client no
# more than ``json.dumps``.
ROW_COLUMNS = [
    ("external_id", "text"), ("source", "text"), ("channel", "text"),
    ("customer_name", "text"), ("customer_email", "text"), ("customer_phone", "text"),
    ("customer_language", "text"), ("agent_id", "bigint"), ("team_id", "bigint"),
    ("occurred_at", "timestamptz"),
    ("tags", "text"),  # each row's tags as an array literal
    ("properties", "text"),  # each row's properties as JSON
    ("ticket_url", "text"), ("do_not_send", "boolean"), ("status", "text"),
    ("survey_state", "text"),
]  # fmt: skip
# $1 organization id, $2 mode, $3 now, $4 send_after, $5 expires_at, $6 live call,
# $7 repeat-contact window, $8 the organization's time zone (an interaction's day is its local
# day there, as rollups_rebuild computes it), then one array per row column, then the extra
# columns' defaults.
_FIXED_TYPES = [
    "bigint",
    "text",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "boolean",
    "interval",
    "text",
]
_INSERT_SQL = """
WITH v AS (
    SELECT * FROM unnest({arrays}) AS x({names})
),
ins AS (
    INSERT INTO feedback_interaction (public_id, organization_id, external_id, source, mode,
        channel, customer_name, customer_email, customer_phone, customer_language, agent_id,
        team_id, occurred_at, local_day, tags, properties, ticket_url, do_not_send,
        created_at{i_extra_cols})
    SELECT coachhub_uuid7(), $1, v.external_id, v.source, $2, v.channel, v.customer_name,
        v.customer_email, v.customer_phone, v.customer_language, v.agent_id, v.team_id,
        v.occurred_at, (v.occurred_at AT TIME ZONE $8)::date, v.tags::varchar[],
        v.properties::jsonb, v.ticket_url,
        v.do_not_send, $3{i_extra_vals}
    FROM v ORDER BY v.source, v.external_id
    ON CONFLICT (organization_id, external_id, mode, source) DO NOTHING
    RETURNING id, public_id, source, external_id, local_day, agent_id, team_id,
        customer_email, occurred_at
),
req AS (
    INSERT INTO feedback_feedbackrequest (public_id, organization_id, interaction_id, kind,
        status, survey_state, send_after, sent_at, expires_at, created_at,
        updated_at{r_extra_cols})
    SELECT coachhub_uuid7(), $1, ins.id, 'initial', v.status, v.survey_state, $4, NULL, $5,
        $3, $3{r_extra_vals}
    FROM ins JOIN v ON v.source = ins.source AND v.external_id = ins.external_id
    RETURNING id, interaction_id
),
near AS (
    SELECT n.id AS new_id, n.occurred_at AS new_at, s.id, s.local_day, s.agent_id,
        s.team_id, s.customer_email, s.occurred_at
    FROM ins n CROSS JOIN LATERAL (
        SELECT s.id, s.local_day, s.agent_id, s.team_id, s.customer_email, s.occurred_at
        FROM feedback_interaction s
        WHERE s.organization_id = $1 AND s.mode = 'live'
          AND s.customer_email = n.customer_email
          AND s.occurred_at >= n.occurred_at - $7 AND s.occurred_at <= n.occurred_at + $7
        OFFSET 0  -- a probe of the (organization, customer_email) index per new row
    ) s
    WHERE $6
),
repeats AS (
    -- New interactions followed by a stored one or by a new one (a hash join on the
    -- customer, not a scan per row).
    SELECT a.local_day, a.agent_id, a.team_id
    FROM ins a
    JOIN (
        SELECT near.new_id AS id FROM near WHERE near.occurred_at > near.new_at
        UNION
        SELECT e.id FROM ins e JOIN ins f
          ON f.customer_email = e.customer_email
         AND f.occurred_at > e.occurred_at AND f.occurred_at <= e.occurred_at + $7
        WHERE $6
    ) r ON r.id = a.id
    UNION ALL
    -- Stored interactions a new one follows, that no stored one followed yet. All of a
    -- stored row's possible followers are in the same new row's ``near``.
    SELECT c.local_day, c.agent_id, c.team_id
    FROM (
        SELECT DISTINCT c.id, c.local_day, c.agent_id, c.team_id
        FROM near c
        WHERE c.occurred_at <= c.new_at
          AND EXISTS (SELECT 1 FROM ins o WHERE o.customer_email = c.customer_email
                        AND o.occurred_at > c.occurred_at
                        AND o.occurred_at <= c.occurred_at + $7)
          AND NOT EXISTS (SELECT 1 FROM near x WHERE x.new_id = c.new_id
                            AND x.occurred_at > c.occurred_at
                            AND x.occurred_at <= c.occurred_at + $7)
    ) c
),
roll AS (
    INSERT INTO feedback_dailyrollup (organization_id, day, agent_id, team_id,
        {counters}, repeat_contacts{d_extra_cols})
    SELECT $1, d.day, d.agent_id, d.team_id, {counter_values}, SUM(d.r){d_extra_vals}
    FROM (
        SELECT ins.local_day AS day, ins.agent_id, ins.team_id, 1 AS n, 0 AS r
        FROM ins WHERE $6
        UNION ALL
        SELECT repeats.local_day, repeats.agent_id, repeats.team_id, 0, 1 FROM repeats
    ) d
    GROUP BY d.day, d.agent_id, d.team_id
    ORDER BY d.day, d.agent_id, d.team_id NULLS FIRST
    ON CONFLICT ON CONSTRAINT rollup_key DO UPDATE SET
        interactions = feedback_dailyrollup.interactions + EXCLUDED.interactions,
        repeat_contacts = feedback_dailyrollup.repeat_contacts + EXCLUDED.repeat_contacts
)
SELECT ins.id, ins.public_id::text, ins.source, ins.external_id, req.id
FROM ins JOIN req ON req.interaction_id = ins.id
"""


def _element(value) -> str:
    """One element of an array literal: NULL, or double-quoted with ``\\`` and ``"``
    escaped (anything else, commas, braces and newlines included, is literal there)."""
    if value is None:
        return "NULL"
    if '"' in value or "\\" in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{value}"'


def _array(values) -> str:
    """An array literal of strings (and None)."""
    if not values:
        return "{}"
    if None in values:
        return "{" + ",".join(map(_element, values)) + "}"
    # Escaping works on the joined text as on each element: join on NUL (no value holds one:
    # validation refuses it, and the count checks), escape once, then put the separators in.
    # All of it in C.
    joined = "\x00".join(values)
    if joined.count("\x00") != len(values) - 1:
        return "{" + ",".join(map(_element, values)) + "}"
    if '"' in joined or "\\" in joined:
        joined = joined.replace("\\", "\\\\").replace('"', '\\"')
    return '{"' + joined.replace("\x00", '","') + '"}'


_json = json.JSONEncoder(separators=(",", ":")).encode  # one encoder, not one per call


class StatementThread:
    """A second thread that runs statements on the calling thread's open transaction, in the
    order given, while the caller goes on with Python work (a CSV import checks its next chunk
    while Postgres writes the current one: psycopg2 releases the GIL while it waits). Only the
    statements run there. A statement the caller runs meanwhile waits for the connection
    (psycopg2 runs one at a time) but may go first: ``drain()`` before one that must see what
    was sent. ``close()`` waits for what was sent."""

    def __init__(self):
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ingest-sql")
        self._sent: list[concurrent.futures.Future] = []

    def submit(self, fn, *args) -> concurrent.futures.Future:
        # Kept for ``drain``: what may still run, and failures (a done future holds its rows:
        # a million-row import kept every chunk's otherwise).
        self._sent = [f for f in self._sent if not f.done() or f.exception() is not None]
        future = self._pool.submit(fn, *args)
        self._sent.append(future)
        return future

    def drain(self) -> None:
        """Wait until everything sent so far has run (raising the first error)."""
        sent, self._sent = self._sent, []
        for future in sent:
            future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _InsertStatement:
    """``_INSERT_SQL`` with the extra columns of this codebase's models, prepared per
    database session (it is planned once per session, not per call)."""

    def __init__(self):
        from ..models import DailyRollup

        i_cols, self.i_extra, i_types = _extra_columns(Interaction, _I_KNOWN)
        r_cols, self.r_extra, r_types = _extra_columns(FeedbackRequest, _R_KNOWN)
        d_cols, self.d_extra, d_types = _extra_columns(DailyRollup, _D_KNOWN)
        n = len(_FIXED_TYPES)

        def slots(count):
            nonlocal n
            first, n = n + 1, n + count
            return [f"${i}" for i in range(first, n + 1)]

        arrays = slots(len(ROW_COLUMNS))

        def extra(cols):
            return "".join(f", {c}" for c in cols), "".join(f", {s}" for s in slots(len(cols)))

        i_extra_cols, i_extra_vals = extra(i_cols)
        r_extra_cols, r_extra_vals = extra(r_cols)
        d_extra_cols, d_extra_vals = extra(d_cols)
        counter_values = ", ".join(
            "SUM(d.n)" if c == "interactions" else "0" for c in ROLLUP_COUNTERS
        )
        sql = _INSERT_SQL.format(
            arrays=", ".join(arrays),
            names=", ".join(name for name, _ in ROW_COLUMNS),
            i_extra_cols=i_extra_cols,
            i_extra_vals=i_extra_vals,
            r_extra_cols=r_extra_cols,
            r_extra_vals=r_extra_vals,
            counters=", ".join(ROLLUP_COUNTERS),
            counter_values=counter_values,
            d_extra_cols=d_extra_cols,
            d_extra_vals=d_extra_vals,
        )
        types = [*_FIXED_TYPES, *(f"{t}[]" for _, t in ROW_COLUMNS), *i_types, *r_types]
        self.statement = Prepared("feedback_ingest_insert", sql, [*types, *d_types])

    def params(self, columns, *, org_id, mode, now, send_after, expires_at, window, tz) -> list:
        """``columns``: one list of values per ``ROW_COLUMNS`` entry (strings, or None)."""
        return [
            org_id, mode, now, send_after, expires_at, mode == Mode.LIVE, window, tz,
            *map(_array, columns), *self.i_extra, *self.r_extra, *self.d_extra,
        ]  # fmt: skip

    @functools.cached_property
    def sql(self) -> str:
        return f"{GENERIC_PLANS}; {self.statement.execute_sql}"


@functools.cache
def _statement() -> _InsertStatement:
    return _InsertStatement()


def _insert(
    organization, prepared: _Prepared, statements: StatementThread | None = None
) -> Callable[[], dict[tuple[str, str], IngestedRow]]:
    """Send the statements writing ``prepared.new`` (on ``statements``' thread if given, else
    here and now). Returns the function that waits for them and gives the stored rows by key."""
    mode, history, new, now, plan = (
        prepared.mode,
        prepared.history,
        prepared.new,
        prepared.now,
        prepared.plan,
    )
    if not new:
        return dict
    statuses = _statuses(mode, history, new, plan)
    send_after, expires_at = plan.send_after, plan.expires_at
    cleans = []
    status_of, item_of = {}, {}
    for (_, key, clean), status in zip(new, statuses, strict=True):
        status_of[key], item_of[key] = status, clean
        clean["source"], clean["external_id"] = key
        cleans.append(clean)
    pending = (RequestStatus.SCHEDULED, RequestStatus.TEST)
    # One list per ROW_COLUMNS entry, in its order (a comprehension per column is about twice
    # as fast as appending to sixteen lists per row).
    columns = [
        [c["external_id"] for c in cleans],
        [c["source"] for c in cleans],
        [c["channel"] for c in cleans],
        [c["customer_name"] for c in cleans],
        [c["customer_email"] for c in cleans],
        [c["customer_phone"] for c in cleans],
        [c["customer_language"] for c in cleans],
        [str(c["agent_id"]) for c in cleans],
        [None if c["team_id"] is None else str(c["team_id"]) for c in cleans],
        [c["occurred_at"].isoformat() for c in cleans],
        [_array(c["tags"]) for c in cleans],
        [_json(c["properties"]) if c["properties"] else "{}" for c in cleans],
        [c["ticket_url"] for c in cleans],
        ["t" if c["do_not_send"] else "f" for c in cleans],
        statuses,
        [SurveyState.PENDING if s in pending else SurveyState.NONE for s in statuses],
    ]
    window = repeat_window(organization)
    statement = _statement()
    cursor = connection.cursor()
    statement.statement.ensure(cursor)

    def write(params):
        # Only the statement itself here: on ``statements``' thread, Python work would take
        # turns with the caller's for the GIL.
        cursor.execute(statement.sql, params)
        return cursor.fetchall()

    parts = (
        statement.params(
            [column[i : i + CHUNK] for column in columns],
            org_id=organization.pk,
            mode=mode,
            now=now,
            send_after=send_after,
            expires_at=expires_at,
            window=window,
            tz=organization.time_zone,
        )
        for i in range(0, len(cleans), CHUNK)
    )
    if statements is None:
        try:
            results = [write(params) for params in parts]
        except BaseException:
            cursor.close()
            raise
    else:
        results = [statements.submit(write, params) for params in parts]

    def collect() -> dict[tuple[str, str], IngestedRow]:
        out: dict[tuple[str, str], IngestedRow] = {}
        try:
            for rows in results:
                for pk, public_id, src, ext, request_id in (
                    rows if statements is None else rows.result()
                ):
                    key = (src, ext)
                    out[key] = IngestedRow(
                        pk,
                        uuid.UUID(public_id),
                        request_id,
                        status_of[key],
                        send_after,
                        item_of[key],
                        now,
                    )
        finally:
            cursor.close()
        return out

    return collect


def known_agents() -> _Agents:
    """An empty cache of resolved agents for ``interactions_ingest_start(agents_known=...)``."""
    return _Agents({}, {})


def statements_replan(statements: StatementThread | None = None) -> None:
    """Plan the ingest's statements again on this session (``Prepared.replan``): a long
    import calls it as its own rows grow the tables (a plan made when the interactions table
    was empty probed each new row's customer through the organization's whole index: a
    100,000-row import on a new installation was still writing after 14 minutes). What
    ``statements`` is writing is finished first."""
    if statements is not None:
        statements.drain()
    with connection.cursor() as cur:
        for statement in (_statement().statement, _AGENTS_CHECK, _AGENTS_CHECK_ONE, _AGENTS):
            statement.replan(cur)
