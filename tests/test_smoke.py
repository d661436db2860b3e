from django.db import connection

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Team


def test_tests_run_as_the_runtime_role(cast):
    from django.conf import settings

    with connection.cursor() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone()[0] == settings.DATABASE_RUNTIME_ROLE


def test_org_a_context_sees_only_org_a_teams(cast):
    with tenant_context(cast.org_a):
        assert sorted(Team.objects.values_list("name", flat=True)) == ["Team A1", "Team A2"]
