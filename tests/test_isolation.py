"""Tenant isolation, proved against the live catalogue and the database itself.

Two independent nets: django-scopes makes a tenant query outside an organization raise, and
Postgres row-level security hides other organizations' rows even from raw SQL. The catalogue
tests are generated from ``pg_class`` / ``pg_policy`` / ``pg_index`` so a new table is covered
without anyone remembering; the ``*_bites`` tests break the schema inside a rolled-back
transaction and show that the checker reports it.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import ProgrammingError, connection, transaction
from django_scopes import ScopeError, scopes_disabled

from coachhub.tenancy import audit
from coachhub.tenancy.context import tenant_context, unscoped, user_context
from coachhub.tenancy.models import Membership, Team

pytestmark = pytest.mark.django_db

# Every table that is NOT a tenant table, by name. A new table without tenant rows must be
# added here with a reason, or the catalogue test fails: nothing escapes RLS by accident.
NON_TENANT_TABLES = {
    # The tenant itself: what every tenant row points at.
    "coachhub_organization",
    # The one narrow pre-organization path: (kind, sha256 digest) -> (org id, object id). Read
    # before any organization is known (API key, survey token, webhook endpoint, TV link,
    # invitation); holds no tenant data. It has organization_id but deliberately no RLS, and
    # its unique (kind, digest) is global on purpose (a digest must resolve to one org).
    "coachhub_globallookup",
    # Django: people log in before they pick an organization; one user, many organizations.
    "auth_user",
    "auth_user_groups",
    "auth_user_user_permissions",
    "auth_group",
    "auth_group_permissions",
    "auth_permission",
    "django_content_type",
    "django_migrations",
    "django_session",
    "django_admin_log",  # platform operator's admin (no tenant data is logged there by us)
}
# Of those, the ones that carry organization_id and are still exempt from RLS and from the
# "organization in every unique constraint / first in every index" rules.
ORG_COLUMN_EXCEPTIONS = {"coachhub_globallookup"}

NO_ORG = "does not include organization_id"
NOT_FIRST = "does not start with organization_id"


@contextmanager
def as_owner():
    """Act as the table owner (the login role of the test connection) inside the test's
    transaction, then go back to the runtime role. DDL done here is rolled back with the test."""
    with connection.cursor() as cur:
        cur.execute("RESET ROLE")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute(f"SET ROLE {connection.ops.quote_name(settings.DATABASE_RUNTIME_ROLE)}")


@contextmanager
def rolled_back():
    """A savepoint that is always rolled back (the schema change never outlives the block)."""

    class _Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


def raw(sql, params=()):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


# --- the fail-closed ORM scope -----------------------------------------------------------------


def test_tenant_query_outside_a_scope_raises(cast):
    with pytest.raises(ScopeError):
        list(Team.objects.all())
    with pytest.raises(ScopeError):
        Team.objects.filter(name="Team A1").count()
    with pytest.raises(ScopeError):
        Membership.objects.get(pk=cast.alice.pk)


def test_what_the_scope_does_not_catch_rls_does(cast):
    """django-scopes' known gaps (shared/reference/rls-django-verified.md §4): ``exists()``,
    ``create()``, ``bulk_create()`` and ``_base_manager`` run without a scope. Without an
    organization context RLS then shows nothing and refuses every write."""
    assert Team.objects.exists() is False
    assert Team._base_manager.count() == 0
    with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
        Team.objects.create(organization=cast.org_a, name="No context")
    with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
        Team.objects.bulk_create([Team(organization=cast.org_a, name="No context")])


def test_scope_checker_passes_on_every_tenant_model(cast):
    assert audit.scope_problems() == []


def test_scope_checker_bites_when_scopes_are_disabled(cast):
    from coachhub.tenancy.rls import tenant_models

    with scopes_disabled():
        problems = audit.scope_problems()
    assert len(problems) == 2 * len(tenant_models())  # objects and _default_manager of each
    assert (
        "coachhub.Team.objects: a query outside an organization scope did not raise ScopeError"
        in problems
    )


def test_unscoped_refuses_a_reason_not_on_the_allow_list(cast):
    with pytest.raises(ValueError, match="allow-list"), unscoped("I need to look at everything"):
        pass  # pragma: no cover
    # An allowed reason opens the ORM scope only: RLS still hides every row without an org.
    with unscoped("tests inspecting the catalogue"):
        assert list(Team.objects.all()) == []


# --- row-level security, below the ORM ---------------------------------------------------------


def test_raw_sql_in_org_a_sees_only_org_a_rows(cast):
    with tenant_context(cast.org_a):
        rows = raw("SELECT organization_id, name FROM coachhub_team ORDER BY name")
        assert rows == [(cast.org_a.pk, "Team A1"), (cast.org_a.pk, "Team A2")]
        assert raw(
            "SELECT count(*) FROM coachhub_team WHERE organization_id = %s", [cast.org_b.pk]
        ) == [(0,)]
        assert raw(
            "SELECT count(*) FROM coachhub_membership WHERE organization_id = %s", [cast.org_b.pk]
        ) == [(0,)]
    with tenant_context(cast.org_b):
        assert raw("SELECT name FROM coachhub_team") == [("Team B1",)]


def test_raw_sql_without_a_context_sees_no_tenant_rows(cast):
    assert raw("SELECT current_setting('app.current_org', true)")[0][0] in (None, "")
    for table in sorted(
        audit.tenant_tables() & audit.public_tables()
    ):  # missing ones: catalogue test
        assert raw(f'SELECT count(*) FROM "{table}"') == [(0,)], table
    # ... while the rows do exist:
    with tenant_context(cast.org_a):
        assert raw("SELECT count(*) FROM coachhub_team") == [(2,)]


def test_insert_of_an_org_b_row_in_org_a_context_is_refused(cast):
    with tenant_context(cast.org_a):
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            raw(
                "INSERT INTO coachhub_team (organization_id, public_id, name, created_at) "
                "VALUES (%s, gen_random_uuid(), 'Sneaky', now())",
                [cast.org_b.pk],
            )
        # Through the ORM too (Team.objects.create does not consult the scope).
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            Team.objects.create(organization=cast.org_b, name="Sneaky")
        # Moving an own row into org B is refused by WITH CHECK.
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            raw(
                "UPDATE coachhub_team SET organization_id = %s WHERE name = 'Team A1'",
                [cast.org_b.pk],
            )
        # Updating or deleting org B's rows silently touches nothing.
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE coachhub_team SET name = 'Pwned' WHERE organization_id = %s",
                [cast.org_b.pk],
            )
            assert cur.rowcount == 0
            cur.execute("DELETE FROM coachhub_team WHERE organization_id = %s", [cast.org_b.pk])
            assert cur.rowcount == 0
    with tenant_context(cast.org_b):
        assert list(Team.objects.values_list("name", flat=True)) == ["Team B1"]


def test_insert_without_a_context_is_refused(cast):
    with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
        raw(
            "INSERT INTO coachhub_team (organization_id, public_id, name, created_at) "
            "VALUES (%s, gen_random_uuid(), 'Nowhere', now())",
            [cast.org_a.pk],
        )


def test_user_context_shows_only_the_users_own_memberships(cast):
    other = Membership  # the switcher's policy: own memberships across orgs, nothing else
    with user_context(cast.bob.user):
        assert [m.pk for m in other.objects.all()] == [cast.bob.pk]
        assert raw("SELECT count(*) FROM coachhub_team") == [(0,)]


def test_the_switchers_read_leaves_the_user_setting_as_it_found_it(cast):
    """``user_rows`` (the switcher's one round trip) relaxes the membership policy for its own
    statement only: afterwards the rest of the request sees its organization's rows alone."""
    from coachhub.accounts.selectors import user_memberships
    from tests.factories import make_member

    make_member(cast.org_b, "agent", user=cast.ann.user)
    with tenant_context(cast.org_a):
        orgs = [m.organization.slug for m in user_memberships(cast.ann.user)]
        assert sorted(orgs) == sorted([cast.org_a.slug, cast.org_b.slug])
        assert raw("SELECT current_setting('app.current_user', true)") == [("",)]
        other_orgs = raw(
            "SELECT count(*) FROM coachhub_membership WHERE organization_id <> %s", [cast.org_a.pk]
        )
        assert other_orgs == [(0,)]
        with user_context(cast.bob.user):  # nested: the enclosing context's value comes back
            user_memberships(cast.ann.user)
            setting = raw("SELECT current_setting('app.current_user', true)")
            assert setting == [(str(cast.bob.user.pk),)]


def test_tests_run_as_a_runtime_role_subject_to_rls(cast):
    assert raw("SELECT current_user")[0][0] == settings.DATABASE_RUNTIME_ROLE
    assert audit.runtime_role_problems(settings.DATABASE_RUNTIME_ROLE, audit.tenant_tables()) == []


# --- the catalogue -----------------------------------------------------------------------------


def test_every_table_is_either_a_tenant_table_or_listed_as_an_exception(cast):
    tenant = audit.tenant_tables()
    assert not tenant & NON_TENANT_TABLES, "a tenant table is listed as an exception"
    unknown = audit.public_tables() - tenant - NON_TENANT_TABLES
    assert not unknown, (
        f"{sorted(unknown)}: not a TenantModel table. Make the model subclass TenantModel, or "
        "add the table to NON_TENANT_TABLES in tests/test_isolation.py with the reason it "
        "holds no tenant data."
    )
    assert audit.tenant_table_problems(ORG_COLUMN_EXCEPTIONS) == []


def test_every_tenant_table_has_forced_rls_and_a_policy(cast):
    assert audit.rls_problems(ORG_COLUMN_EXCEPTIONS) == []


def test_every_unique_constraint_on_a_tenant_table_includes_organization(cast):
    assert audit.unique_problems(audit.tenant_tables()) == []


def test_every_index_on_a_tenant_table_starts_with_organization(cast):
    assert audit.index_problems(audit.tenant_tables()) == []


def test_the_org_column_exceptions_are_exactly_the_documented_ones(cast):
    # GlobalLookup's only index/unique rules: (kind, digest) is globally unique on purpose.
    assert audit.tables_with_org_column() - audit.tenant_tables() == ORG_COLUMN_EXCEPTIONS
    assert audit.unique_problems(ORG_COLUMN_EXCEPTIONS) == [
        "coachhub_globallookup: unique constraint lookup_kind_digest ['kind', 'digest'] " + NO_ORG,
        "coachhub_globallookup: unique index lookup_kind_digest ['kind', 'digest'] " + NO_ORG,
    ]


# --- the checkers bite -------------------------------------------------------------------------


def test_rls_checker_flags_a_dropped_policy():
    with as_owner(), rolled_back():
        raw("DROP POLICY tenant_isolation ON coachhub_team")
        assert audit.rls_problems(ORG_COLUMN_EXCEPTIONS) == [
            "coachhub_team: no row level security policy (with RLS on, nobody sees a row)"
        ]
    assert audit.rls_problems(ORG_COLUMN_EXCEPTIONS) == []


def test_rls_checker_flags_rls_not_forced_or_disabled():
    with as_owner(), rolled_back():
        raw("ALTER TABLE coachhub_team NO FORCE ROW LEVEL SECURITY")
        raw("ALTER TABLE coachhub_apikey DISABLE ROW LEVEL SECURITY")
        assert audit.rls_problems(ORG_COLUMN_EXCEPTIONS) == [
            "coachhub_apikey: row level security is not ENABLEd",
            "coachhub_team: row level security is not FORCEd (the owner would bypass it)",
        ]


def test_rls_checker_flags_a_policy_without_organization_or_an_extra_permissive_policy():
    with as_owner(), rolled_back():
        raw("DROP POLICY tenant_isolation ON coachhub_team")
        raw("CREATE POLICY tenant_isolation ON coachhub_team USING (true)")
        raw("CREATE POLICY open_door ON coachhub_event USING (true)")
        assert audit.rls_problems(ORG_COLUMN_EXCEPTIONS) == [
            "coachhub_event: permissive policy open_door does not restrict organization_id",
            "coachhub_team: no permissive FOR ALL policy comparing organization_id with "
            "app.current_org in both USING and WITH CHECK",
            "coachhub_team: permissive policy tenant_isolation does not restrict organization_id",
        ]


def test_catalogue_checkers_flag_a_new_table_with_organization_but_no_model_or_rls():
    with as_owner(), rolled_back():
        raw(
            "CREATE TABLE coachhub_sneaky "
            "(id bigint PRIMARY KEY, organization_id bigint NOT NULL, code text)"
        )
        raw("CREATE UNIQUE INDEX sneaky_code ON coachhub_sneaky (code)")
        assert [p for p in audit.tenant_table_problems(ORG_COLUMN_EXCEPTIONS) if "sneaky" in p] == [
            "coachhub_sneaky: has organization_id but is not the table of a TenantModel subclass"
        ]
        assert "coachhub_sneaky: row level security is not ENABLEd" in audit.rls_problems(
            ORG_COLUMN_EXCEPTIONS
        )
        assert audit.unique_problems({"coachhub_sneaky"}) == [
            "coachhub_sneaky: unique index sneaky_code ['code'] does not include organization_id"
        ]
        assert (
            "coachhub_sneaky" in audit.public_tables() - audit.tenant_tables() - NON_TENANT_TABLES
        )


def test_index_checkers_flag_a_unique_without_organization_and_an_index_not_led_by_it():
    with as_owner(), rolled_back():
        raw("ALTER TABLE coachhub_team ADD CONSTRAINT team_global_name UNIQUE (name)")
        raw("CREATE INDEX team_by_created ON coachhub_team (created_at, organization_id)")
        raw("CREATE UNIQUE INDEX team_lower_name ON coachhub_team (lower(name))")
        tables = audit.tenant_tables()
        assert audit.unique_problems(tables) == [
            "coachhub_team: unique constraint team_global_name ['name'] " + NO_ORG,
            "coachhub_team: unique index team_global_name ['name'] " + NO_ORG,
            "coachhub_team: unique index team_lower_name [None] " + NO_ORG,
        ]
        assert audit.index_problems(tables) == [
            "coachhub_team: index team_by_created ['created_at', 'organization_id'] " + NOT_FIRST,
            "coachhub_team: index team_global_name ['name'] " + NOT_FIRST,
            "coachhub_team: index team_lower_name [None] " + NOT_FIRST,
        ]


def test_runtime_role_checker_flags_a_truncate_grant():
    runtime = settings.DATABASE_RUNTIME_ROLE
    with as_owner(), rolled_back():
        raw(f"GRANT TRUNCATE ON coachhub_team TO {connection.ops.quote_name(runtime)}")
        assert audit.runtime_role_problems(runtime, audit.tenant_tables()) == [
            f"coachhub_team: role {runtime} may TRUNCATE it (TRUNCATE ignores RLS)"
        ]


# Views and materialized views, with the reason each is safe. A materialized view has no RLS
# (whoever may SELECT it sees every organization's rows); a view runs with its owner's rights.
ALLOWED_VIEWS: dict[str, str] = {}


def test_no_view_or_materialized_view_escapes_rls(cast):
    views = audit.public_views()
    assert set(views) == set(ALLOWED_VIEWS), (
        f"{views}: add each to ALLOWED_VIEWS in tests/test_isolation.py with why it cannot show "
        "one organization's rows to another (a materialized view has no row-level security)"
    )


def test_view_checker_flags_a_materialized_view():
    with as_owner(), rolled_back():
        raw(
            "CREATE MATERIALIZED VIEW team_names AS SELECT organization_id, name FROM coachhub_team"
        )
        assert audit.public_views() == {"team_names": "materialized view"}


def test_runtime_role_checker_flags_a_role_that_owns_tenant_tables(cast):
    # The owner role owns every table: exactly what the runtime role must not be.
    owner = settings.DATABASE_OWNER["USER"]
    problems = audit.runtime_role_problems(owner, {"coachhub_team"})
    assert problems[-1:] == [
        f"coachhub_team: role {owner} owns it or acts as its owner {owner} (could disable RLS)"
    ]
    assert audit.runtime_role_problems("postgres", set())[:1] == [
        "role postgres is a superuser (RLS does not apply)"
    ]
