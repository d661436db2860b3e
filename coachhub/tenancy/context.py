"""The organization context: one place that sets the ORM scope and the database setting.

Two independent nets catch a query that escapes its organization:

* django-scopes: a tenant model's default manager raises ``ScopeError`` when no organization
  scope is active (fail closed in the ORM).
* Postgres row-level security: every tenant table only shows rows whose ``organization_id``
  equals the transaction-local setting ``app.current_org``. Outside a transaction the setting is
  empty and every tenant query sees nothing.

``tenant_context`` sets both, always inside a transaction, and restores what was there before so
that nesting (an eager task inside a request of another organization) cannot leak.
"""

from __future__ import annotations

import contextvars
import functools
from contextlib import contextmanager

from django.db import connection, transaction
from django_scopes import scope, scopes_disabled

ORG_SETTING = "app.current_org"
USER_SETTING = "app.current_user"

_current_org_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "coachhub_current_org_id", default=None
)


def current_organization_id() -> int | None:
    return _current_org_id.get()


def _db_setting(name: str) -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT current_setting(%s, true)", [name])
        return cur.fetchone()[0] or ""


def _set_db_setting(name: str, value: str) -> None:
    if not connection.in_atomic_block:
        # A transaction-local setting outside a transaction would vanish at once (and a
        # session-level one would leak into the next request on this connection).
        raise RuntimeError(f"{name} can only be set inside transaction.atomic()")
    with connection.cursor() as cur:
        cur.execute("SELECT set_config(%s, %s, true)", [name, value])


def _org_id(organization) -> int:
    org_id = getattr(organization, "pk", organization)
    if org_id is None or isinstance(org_id, bool):
        raise ValueError("tenant_context needs a saved organization or its id")
    return int(org_id)


@contextmanager
def tenant_context(organization):
    """Run the block inside one transaction scoped to ``organization`` (instance or id)."""
    org_id = _org_id(organization)
    # Outside any transaction this block owns the transaction, and a transaction-local
    # setting ends with it: nothing to read first or restore after (two round trips saved
    # on every request and task).
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        previous = "" if outermost else _db_setting(ORG_SETTING)
        _set_db_setting(ORG_SETTING, str(org_id))
        with _inside(org_id, outermost, previous):
            yield org_id


@contextmanager
def _inside(org_id: int | None, outermost: bool, previous: str):
    """The rest of entering an organization whose setting is already in the database: the ORM
    scope and ``current_organization_id`` for the block (none for ``org_id`` None: nothing
    visible), and the previous setting put back after it when nested."""
    token = _current_org_id.set(org_id)
    try:
        if org_id is None:
            yield
        else:
            with scope(organization=org_id):
                yield
    finally:
        _current_org_id.reset(token)
    # Only on success: on an exception the (savepoint) rollback restores the old value, and
    # the broken transaction would refuse the query anyway. The same holds when the block
    # asked for a rollback (the middleware does for every >= 400 answer): Django refuses any
    # query then, and the rollback on exit restores the value.
    if not outermost and not transaction.get_rollback():
        _set_db_setting(ORG_SETTING, previous)


@contextmanager
def entered_from_database(enter, load, params: list, build):
    """Enter the organization the database finds (``enter`` sets the setting from
    ``params[0]``), then read ``load``'s one row under it (row-level security applies), in one
    round trip. ``build(row)`` gives ``(organization id, value)``; yields the value inside the
    organization, or None (no row) with the setting left empty."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        previous = "" if outermost else _db_setting(ORG_SETTING)
        with connection.cursor() as cur:
            enter.ensure(cur)
            load.ensure(cur)
            cur.execute(f"{enter.execute_sql}; {load.execute_sql}", [params[0], *params])
            row = cur.fetchone()
        org_id, value = build(row) if row is not None else (None, None)
        with _inside(org_id, outermost, previous):
            yield value


@functools.cache
def _api_key_statements():
    """(organization reader, key reader, set statement, load statement), made on first use."""
    from .models import ApiKey, LookupKind, Organization
    from .raw import Prepared, RowReader

    org, key = RowReader(Organization, "o"), RowReader(ApiKey, "k")
    where = f"g.kind = '{LookupKind.API_KEY.value}' AND g.digest = $1"
    enter = Prepared(
        "tenancy_api_key_enter",
        f"SELECT set_config('{ORG_SETTING}', COALESCE((SELECT g.organization_id::text "  # noqa: S608 - constants
        f"FROM coachhub_globallookup g WHERE {where}), ''), true)",
        ["text"],
    )
    load = Prepared(
        "tenancy_api_key_load",
        f"SELECT {org.columns}, {key.columns} FROM coachhub_globallookup g "  # noqa: S608 - model columns
        "JOIN coachhub_organization o ON o.id = g.organization_id "
        "JOIN coachhub_apikey k ON k.organization_id = g.organization_id "
        f"AND k.id = g.object_id WHERE {where} AND k.revoked_at IS NULL",
        ["text"],
    )
    return org, key, enter, load


def api_key_context(digest: str):
    """``tenant_context`` for an API call, entered from the key's digest in one round trip:
    the organization setting is taken from the key's lookup row in the database, then the
    organization and the unrevoked key are read under it (row-level security applies).

    Yields ``(organization, key)`` inside the organization's transaction and scope, or
    ``None`` (no such key, revoked) with the setting left empty: nothing is visible.
    """
    from .raw import split_row

    org_reader, key_reader, enter, load = _api_key_statements()

    def build(row):
        org_values, key_values, _ = split_row(row, (org_reader, key_reader))
        organization = org_reader.instance(org_values)
        return organization.pk, (organization, key_reader.instance(key_values))

    return entered_from_database(enter, load, [digest], build)


@functools.cache
def _member_statements():
    """(readers, set statement, load statement), made on first use."""
    from .models import AgentProfile, Membership, Organization, Team
    from .raw import Prepared, RowReader

    readers = (
        RowReader(Organization, "o"),
        RowReader(Membership, "m"),
        RowReader(Team, "t"),
        RowReader(AgentProfile, "p"),
    )
    tables = {r.model: r.model._meta.db_table for r in readers}
    enter = Prepared(
        "tenancy_member_enter",
        f"SELECT set_config('{ORG_SETTING}', COALESCE((SELECT o.id::text "  # noqa: S608 - constants
        f"FROM {tables[Organization]} o WHERE o.slug = $1 AND o.is_active), ''), true)",
        ["text"],
    )
    load = Prepared(
        "tenancy_member_load",
        f"SELECT {', '.join(r.columns for r in readers)} "  # noqa: S608 - model columns
        f"FROM {tables[Organization]} o "
        f"JOIN {tables[Membership]} m ON m.organization_id = o.id "
        f"LEFT JOIN {tables[Team]} t ON t.organization_id = m.organization_id "
        "AND t.id = m.team_id "
        f"LEFT JOIN {tables[AgentProfile]} p ON p.organization_id = m.organization_id "
        "AND p.membership_id = m.id "
        "WHERE o.slug = $1 AND o.is_active AND m.user_id = $2 AND m.is_active "
        "ORDER BY p.id LIMIT 1",
        ["text", "bigint"],
    )
    return readers, enter, load


def member_context(slug: str, user):
    """``tenant_context`` for a page under ``/o/<slug>/``, entered in one round trip: the
    organization setting is taken from the active organization with that slug in the database,
    then ``user``'s active membership there is read under it (row-level security applies) with
    its organization, team and agent profile (the layout's avatar), so the page asks for none
    of them again.

    Yields the membership (``.user`` is ``user``) inside the organization's transaction and
    scope, or ``None`` (no such active organization, or not an active member of it: the same
    answer, so slugs cannot be enumerated) with the setting left empty.
    """
    from .raw import split_row

    readers, enter, load = _member_statements()
    org_reader, member_reader, team_reader, profile_reader = readers

    def build(row):
        org_values, member_values, team_values, profile_values, _ = split_row(row, readers)
        member = member_reader.instance(member_values)
        member.organization = org_reader.instance(org_values)
        member.user = user
        if team_values[0] is not None:
            member.team = team_reader.instance(team_values)
        member.__dict__["profile"] = (
            profile_reader.instance(profile_values) if profile_values[0] is not None else None
        )
        return member.organization_id, member

    return entered_from_database(enter, load, [slug, int(user.pk)], build)


# The user setting an enclosing ``user_context`` set ("" outside one): what to restore after.
_current_user_setting: contextvars.ContextVar[str] = contextvars.ContextVar(
    "coachhub_current_user_setting", default=""
)


@contextmanager
def user_context(user):
    """Lets a signed-in user read their own memberships across organizations (org switcher).

    RLS on the membership table admits rows of the current organization *or* of the current
    user; nothing else is visible through this context.
    """
    value = str(int(user.pk))
    with transaction.atomic():
        previous = _db_setting(USER_SETTING)
        _set_db_setting(USER_SETTING, value)
        token = _current_user_setting.set(value)
        try:
            with unscoped("memberships of the signed-in user across organizations"):
                yield
        finally:
            _current_user_setting.reset(token)
        if not transaction.get_rollback():
            _set_db_setting(USER_SETTING, previous)


def user_rows(user, sql: str, params: list) -> list[tuple]:
    """The rows of one raw ``sql`` statement run as ``user_context(user)`` would run it (the
    user's own memberships across organizations visible, nothing else), in one round trip
    with the setting; inside a transaction a second one puts the setting back. Outside a
    transaction the two statements are one implicit transaction, which ends the setting."""
    previous = _current_user_setting.get()
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT set_config('{USER_SETTING}', %s, true); {sql}", [str(int(user.pk)), *params]
        )
        rows = cur.fetchall()
        if connection.in_atomic_block:
            cur.execute("SELECT set_config(%s, %s, true)", [USER_SETTING, previous])
    return rows


# The short allow-list of code that may run a tenant query with no organization scope.
# Each entry names why; ``unscoped`` refuses any other reason so that opting out is a
# reviewed change to this file, not a one-line escape hatch anywhere.
UNSCOPED_REASONS = frozenset(
    {
        "memberships of the signed-in user across organizations",
        "platform operator admin",
        "demo data and management commands that enter each organization",
        "tests inspecting the catalogue",
        "outbox sweeper iterating organizations",
    }
)


@contextmanager
def unscoped(reason: str):
    if reason not in UNSCOPED_REASONS:
        raise ValueError(f"unscoped access is not on the allow-list: {reason!r}")
    with scopes_disabled():
        yield
