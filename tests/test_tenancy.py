"""The organization context: nesting, the Celery base task, and the request middleware."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection, transaction
from django_scopes import ScopeError

from coachhub.celery import app
from coachhub.tenancy.context import current_organization_id, tenant_context
from coachhub.tenancy.models import Team
from coachhub.tenancy.tasks import TenantTask

pytestmark = pytest.mark.django_db


def db_org() -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT current_setting('app.current_org', true)")
        return cur.fetchone()[0] or ""


def team_names() -> list[str]:
    return sorted(Team.objects.values_list("name", flat=True))


# --- tenant_context ----------------------------------------------------------------------------


def test_nested_context_restores_the_outer_organization(cast):
    with tenant_context(cast.org_a):
        with tenant_context(cast.org_b):
            assert team_names() == ["Team B1"]
            assert current_organization_id() == cast.org_b.pk
        assert db_org() == str(cast.org_a.pk)
        assert current_organization_id() == cast.org_a.pk
        assert team_names() == ["Team A1", "Team A2"]
    assert db_org() == ""
    assert current_organization_id() is None
    with pytest.raises(ScopeError):
        team_names()


def test_nested_context_restores_the_outer_organization_after_an_exception(cast):
    with tenant_context(cast.org_a):
        with pytest.raises(ZeroDivisionError), tenant_context(cast.org_b):
            assert team_names() == ["Team B1"]
            1 / 0  # noqa: B018
        assert db_org() == str(cast.org_a.pk)
        assert current_organization_id() == cast.org_a.pk
        assert team_names() == ["Team A1", "Team A2"]
    assert db_org() == ""


def test_context_marked_for_rollback_exits_cleanly_and_restores_the_outer_organization(cast):
    # The middleware marks every >= 400 answer for rollback; leaving the block must not query.
    with tenant_context(cast.org_a):
        with tenant_context(cast.org_b):
            Team.objects.create(organization=cast.org_b, name="Written before a 404")
            transaction.set_rollback(True)
        assert db_org() == str(cast.org_a.pk)
        assert team_names() == ["Team A1", "Team A2"]
    with tenant_context(cast.org_b):
        assert team_names() == ["Team B1"]


def test_context_accepts_an_id_and_refuses_an_unsaved_organization(cast):
    from coachhub.tenancy.models import Organization

    with tenant_context(cast.org_b.pk):
        assert team_names() == ["Team B1"]
    with pytest.raises(ValueError), tenant_context(Organization(slug="x", name="x")):
        pass  # pragma: no cover
    with pytest.raises(ValueError), tenant_context(True):
        pass  # pragma: no cover


# --- TenantTask --------------------------------------------------------------------------------


@app.task(base=TenantTask, name="tests.team_names")
def team_names_task(*, organization_id: int) -> list[str]:
    return team_names()


def test_tenant_task_runs_inside_its_organization(cast):
    assert team_names_task.apply(kwargs={"organization_id": cast.org_a.pk}).get() == [
        "Team A1",
        "Team A2",
    ]
    assert team_names_task.apply(kwargs={"organization_id": cast.org_b.pk}).get() == ["Team B1"]


def test_tenant_task_refuses_a_call_without_organization_id(cast):
    with pytest.raises(TypeError, match="organization_id"):
        team_names_task.apply().get()
    with pytest.raises(TypeError, match="organization_id"):
        team_names_task.apply(args=[cast.org_a.pk]).get()  # positional: refused, not guessed
    with pytest.raises(TypeError, match="organization_id"):
        team_names_task.apply(kwargs={"organization_id": str(cast.org_a.pk)}).get()
    with pytest.raises(TypeError, match="organization_id"):
        team_names_task.apply(kwargs={"organization_id": True}).get()  # True == 1: not an id


def test_eager_tenant_task_inside_another_organization_restores_the_callers(cast):
    with tenant_context(cast.org_b):
        assert team_names_task.apply(kwargs={"organization_id": cast.org_a.pk}).get() == [
            "Team A1",
            "Team A2",
        ]
        assert db_org() == str(cast.org_b.pk)
        assert team_names() == ["Team B1"]


# --- TenancyMiddleware: no enumeration ---------------------------------------------------------


def test_member_of_another_organization_gets_the_same_404_as_a_missing_one(cast, client_for):
    client = client_for(cast.alice)
    assert client.get("/o/acme/").status_code == 200
    other = client.get("/o/globex/")
    missing = client.get("/o/does-not-exist/")
    assert other.status_code == missing.status_code == 404
    assert other.content == missing.content
    assert other.get("Content-Type") == missing.get("Content-Type")


def test_deactivated_member_gets_the_same_404_as_a_missing_organization(cast, client_for):
    from coachhub.accounts.services import membership_deactivate

    with tenant_context(cast.org_a):
        membership_deactivate(cast.andy)
    client = client_for(cast.andy)
    gone = client.get("/o/acme/")
    missing = client.get("/o/does-not-exist/")
    assert gone.status_code == missing.status_code == 404
    assert gone.content == missing.content


def test_anonymous_gets_a_login_redirect_for_existing_and_missing_organizations(cast, client):
    existing = client.get("/o/globex/")
    missing = client.get("/o/does-not-exist/")
    assert existing.status_code == missing.status_code == 302
    login = settings.LOGIN_URL if settings.LOGIN_URL.startswith("/") else "/accounts/login/"
    assert existing["Location"].split("?")[0] == missing["Location"].split("?")[0]
    assert existing["Location"].startswith(login.rstrip("/"))
    assert existing.content == missing.content


def test_a_request_leaves_no_organization_behind(cast, client_for):
    client_for(cast.alice).get("/o/acme/")
    assert db_org() == ""
    assert current_organization_id() is None


def test_a_test_client_request_does_not_inherit_the_tests_organization(cast, client):
    """tests/request_isolation.py: inside a test's tenant_context, a request still starts with
    no organization (as in production), and the test's context is back afterwards."""
    from django.core.signals import request_started
    from django_scopes import state

    seen = {}

    def probe(**kwargs):
        seen["db"] = db_org()
        seen["scope"] = state.get_scope()
        seen["org"] = current_organization_id()

    request_started.connect(probe, dispatch_uid="probe")  # runs after the isolation handler
    try:
        with tenant_context(cast.org_a):
            assert client.get("/healthz").status_code == 200
            assert db_org() == str(cast.org_a.pk)
            assert current_organization_id() == cast.org_a.pk
            assert team_names() == ["Team A1", "Team A2"]
    finally:
        request_started.disconnect(dispatch_uid="probe")
    assert seen == {"db": "", "scope": {}, "org": None}
