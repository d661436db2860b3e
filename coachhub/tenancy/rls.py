"""Row-level security and grants, applied to every tenant table after each migrate.

Applying it from the model registry (rather than hand-written per-table migrations) means a new
tenant model is protected by construction; ``tests/test_isolation.py`` still reads the catalogue
and fails if any table with an ``organization_id`` column lacks ENABLE, FORCE or a policy.
"""

from django.apps import apps
from django.conf import settings
from django.db import connection

from .context import ORG_SETTING, USER_SETTING
from .models import Membership, TenantModel

POLICY = "tenant_isolation"
ORG_EXPR = f"NULLIF(current_setting('{ORG_SETTING}', true), '')::bigint"
USER_EXPR = f"NULLIF(current_setting('{USER_SETTING}', true), '')::bigint"


def tenant_models():
    return [
        m
        for m in apps.get_models(include_auto_created=True)
        if issubclass(m, TenantModel) and not m._meta.proxy and m._meta.managed
    ]


def _policy_sql(model) -> tuple[str, str]:
    using = f"organization_id = {ORG_EXPR}"
    check = using
    if model is Membership:
        # The org switcher lists the signed-in user's own memberships across organizations.
        using = f"({using}) OR user_id = {USER_EXPR}"
    return using, check


def apply_rls(using_connection=None) -> list[str]:
    conn = using_connection or connection
    existing = set(conn.introspection.table_names())
    done = []
    with conn.cursor() as cur:
        for model in tenant_models():
            table = model._meta.db_table
            if table not in existing:
                continue
            using, check = _policy_sql(model)
            qt = conn.ops.quote_name(table)
            cur.execute(f"ALTER TABLE {qt} ENABLE ROW LEVEL SECURITY")
            cur.execute(f"ALTER TABLE {qt} FORCE ROW LEVEL SECURITY")
            cur.execute(f"DROP POLICY IF EXISTS {POLICY} ON {qt}")
            cur.execute(f"CREATE POLICY {POLICY} ON {qt} USING ({using}) WITH CHECK ({check})")
            done.append(table)
        grant_runtime_role(cur)
    return done


def grant_runtime_role(cur) -> None:
    runtime = settings.DATABASE_RUNTIME_ROLE
    cur.execute("SELECT current_user")
    if cur.fetchone()[0] == runtime:
        return  # one role for everything: nothing to grant (FORCE still applies RLS to it)
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [runtime])
    if not cur.fetchone():
        return
    role = connection.ops.quote_name(runtime)
    cur.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    cur.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    cur.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}"
    )
    cur.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}"
    )


def on_post_migrate(sender, using="default", **kwargs):
    from django.db import connections

    apply_rls(connections[using])
