"""Checks of the live database catalogue and the ORM that prove tenant isolation holds.

Each function returns a list of human-readable problems (empty = fine), so tests can assert
``== []`` and show every offender at once, and can also prove that a check *bites* by breaking
the schema inside a rolled-back transaction and asserting the problem is reported.

* ``rls_problems``: every table with an ``organization_id`` column (bar named exceptions) has
  row-level security ENABLEd and FORCEd and a policy on ``organization_id`` with a WITH CHECK.
* ``tenant_table_problems``: the tables carrying ``organization_id`` are exactly the tables of
  ``TenantModel`` subclasses (plus named exceptions), and each has the column NOT NULL.
* ``unique_problems`` / ``index_problems``: ``organization_id`` is in every unique constraint
  and unique index and is the first column of every other index (primary keys excepted).
* ``runtime_role_problems``: the role that serves requests is no superuser, has no BYPASSRLS,
  owns no table, cannot become the owner and may not TRUNCATE (which ignores RLS).
* ``public_views``: views and materialized views (no RLS of their own) must be listed.
* ``scope_problems``: a tenant model's default manager refuses to query outside a scope.
"""

from __future__ import annotations

from django.db import connection

ORG_COLUMN = "organization_id"


def tenant_tables() -> set[str]:
    from .rls import tenant_models

    return {m._meta.db_table for m in tenant_models()}


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def public_tables() -> set[str]:
    """Ordinary and partitioned tables in the ``public`` schema."""
    return {
        r[0]
        for r in _rows(
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"""
        )
    }


def tables_with_org_column() -> set[str]:
    return {
        r[0]
        for r in _rows(
            """SELECT c.relname FROM pg_attribute a
               JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                 AND a.attname = %s AND NOT a.attisdropped""",
            [ORG_COLUMN],
        )
    }


def tenant_table_problems(exempt: set[str]) -> list[str]:
    """Tables with ``organization_id`` must be exactly the TenantModel tables (+ ``exempt``)."""
    problems = []
    models = tenant_tables()
    with_org = tables_with_org_column()
    for table in sorted(with_org - models - exempt):
        problems.append(f"{table}: has {ORG_COLUMN} but is not the table of a TenantModel subclass")
    for table in sorted(models - with_org):
        problems.append(f"{table}: TenantModel table without an {ORG_COLUMN} column (or missing)")
    nullable = {
        r[0]
        for r in _rows(
            """SELECT c.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND a.attname = %s AND NOT a.attnotnull""",
            [ORG_COLUMN],
        )
    }
    for table in sorted(models & nullable):
        problems.append(f"{table}: {ORG_COLUMN} is nullable")
    return problems


def rls_problems(exempt: set[str]) -> list[str]:
    """Every table with ``organization_id`` (not in ``exempt``) has ENABLE + FORCE RLS and a
    policy that compares ``organization_id`` with ``app.current_org`` for reads *and* writes."""
    rows = _rows(
        """SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                  p.polname, p.polcmd, p.polpermissive,
                  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_policy p ON p.polrelid = c.oid
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"""
    )
    by_table: dict[str, dict] = {}
    for name, enabled, forced, polname, cmd, permissive, qual, check in rows:
        t = by_table.setdefault(name, {"enabled": enabled, "forced": forced, "policies": []})
        if polname is not None:
            t["policies"].append((polname, cmd, permissive, qual or "", check or ""))
    problems = []
    for table in sorted(tables_with_org_column() - exempt):
        t = by_table[table]
        if not t["enabled"]:
            problems.append(f"{table}: row level security is not ENABLEd")
        if not t["forced"]:
            problems.append(
                f"{table}: row level security is not FORCEd (the owner would bypass it)"
            )
        if not t["policies"]:
            problems.append(
                f"{table}: no row level security policy (with RLS on, nobody sees a row)"
            )
            continue
        all_cmd = [p for p in t["policies"] if p[1] == "*" and p[2]]
        good = [
            p
            for p in all_cmd
            if ORG_COLUMN in p[3]
            and "app.current_org" in p[3]
            and ORG_COLUMN in p[4]
            and "app.current_org" in p[4]
        ]
        if not good:
            problems.append(
                f"{table}: no permissive FOR ALL policy comparing {ORG_COLUMN} with "
                "app.current_org in both USING and WITH CHECK"
            )
        # A permissive policy is OR-ed with the others: any other permissive policy widens access.
        for polname, cmd, permissive, qual, _check in t["policies"]:
            if (
                permissive
                and (polname, cmd, permissive, qual, _check) not in good
                and ORG_COLUMN not in qual
            ):
                problems.append(
                    f"{table}: permissive policy {polname} does not restrict {ORG_COLUMN}"
                )
    return problems


def _index_rows(tables: set[str]) -> list[tuple]:
    """(table, index, is_unique, is_primary, first key column or None, key column names)."""
    rows = _rows(
        """SELECT c.relname, i.relname, x.indisunique, x.indisprimary,
                  ARRAY(SELECT a.attname
                        FROM unnest(x.indkey[0:x.indnkeyatts - 1]) WITH ORDINALITY k(attnum, ord)
                        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                        ORDER BY k.ord)
           FROM pg_index x
           JOIN pg_class c ON c.oid = x.indrelid
           JOIN pg_class i ON i.oid = x.indexrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relname = ANY(%s)""",
        [sorted(tables)],
    )
    # Expression columns (attnum 0) come back as NULL names.
    return [(t, i, u, p, list(cols)) for t, i, u, p, cols in rows]


def unique_problems(tables: set[str]) -> list[str]:
    """Every unique index and unique/exclusion constraint on ``tables`` includes
    ``organization_id`` (a global unique would let one tenant probe another's values)."""
    problems = []
    for table, index, unique, primary, cols in _index_rows(tables):
        if unique and not primary and ORG_COLUMN not in cols:
            problems.append(f"{table}: unique index {index} {cols} does not include {ORG_COLUMN}")
    for table, name, kind, cols in _rows(
        """SELECT c.relname, k.conname, k.contype,
                  ARRAY(SELECT a.attname FROM unnest(k.conkey) AS u(attnum)
                        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum)
           FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND k.contype IN ('u', 'x') AND c.relname = ANY(%s)""",
        [sorted(tables)],
    ):
        if ORG_COLUMN not in cols:
            what = "unique" if kind == "u" else "exclusion"
            problems.append(
                f"{table}: {what} constraint {name} {list(cols)} does not include {ORG_COLUMN}"
            )
    return sorted(set(problems))


def index_problems(tables: set[str]) -> list[str]:
    """Every index on ``tables`` other than the primary key leads with ``organization_id``."""
    return sorted(
        f"{table}: index {index} {cols} does not start with {ORG_COLUMN}"
        for table, index, _unique, primary, cols in _index_rows(tables)
        if not primary and (not cols or cols[0] != ORG_COLUMN)
    )


def runtime_role_problems(role: str, tables: set[str]) -> list[str]:
    """The runtime role must be subject to RLS on every tenant table."""
    rows = _rows("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
    if not rows:
        return [f"role {role} does not exist"]
    problems = []
    superuser, bypass = rows[0]
    if superuser:
        problems.append(f"role {role} is a superuser (RLS does not apply)")
    if bypass:
        problems.append(f"role {role} has BYPASSRLS")
    for (table,) in _rows(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relname = ANY(%s)
             AND has_table_privilege(%s, c.oid, 'TRUNCATE')""",
        [sorted(tables), role],
    ):
        problems.append(f"{table}: role {role} may TRUNCATE it (TRUNCATE ignores RLS)")
    for table, owner in _rows(
        """SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relname = ANY(%s)
             AND pg_has_role(%s, c.relowner, 'USAGE')""",
        [sorted(tables), role],
    ):
        problems.append(
            f"{table}: role {role} owns it or acts as its owner {owner} (could disable RLS)"
        )
    return problems


def public_views() -> dict[str, str]:
    """Views and materialized views in ``public`` → their kind. A materialized view has no
    row-level security at all and a view runs with its owner's rights: each needs a reason."""
    return {
        name: {"v": "view", "m": "materialized view"}[kind]
        for name, kind in _rows(
            """SELECT c.relname, c.relkind FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')"""
        )
    }


def scope_problems() -> list[str]:
    """Each tenant model's default manager raises ``ScopeError`` outside an organization scope.

    Must be called with no scope active. Returns the models whose query ran unscoped.
    """
    from django_scopes import ScopeError

    from .rls import tenant_models

    problems = []
    for model in tenant_models():
        label = model._meta.label
        for manager_name, manager in (
            ("objects", getattr(model, "objects", None)),
            ("_default_manager", model._default_manager),
        ):
            if manager is None:
                problems.append(f"{label}: has no 'objects' manager")
                continue
            try:
                # A scoped manager raises when the queryset is built: no query is sent.
                manager.all()
            except ScopeError:
                continue
            problems.append(
                f"{label}.{manager_name}: a query outside an organization scope "
                "did not raise ScopeError"
            )
    return problems
