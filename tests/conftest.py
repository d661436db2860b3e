"""The fixed cast, the runtime-role switch, and helpers every test uses.

Cast (STYLE.md): organization A ``acme`` with admin Alice, supervisor Sam (leads Team A1),
agents Ann and Andy (Team A1) and Zoe (Team A2, not led by Sam); organization B ``globex`` with
supervisor Bob (leads Team B1) and agent Bea.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coachhub.tenancy.models import Role

from .browser import CHROMIUM, launch_args
from .factories import UserFactory, make_member, make_org, make_team

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright + live_server

# ``celery_worker``: a real Celery worker subprocess on the test database (tests/worker.py).
# A test-client request starts with no organization, as in production (tests/request_isolation.py).
pytest_plugins = ["tests.worker", "tests.request_isolation"]

DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_reset_sequences"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright drives Debian's Chromium (tests/browser.py), never a downloaded one."""
    return launch_args(browser_type_launch_args)


def pytest_runtest_setup(item):
    # A browser test without the browser fails loudly rather than skipping: `.ci/run` installs
    # it, and a silently skipped journey would pass CI without having run.
    if item.get_closest_marker("browser") and not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (see .ci/run)")


@pytest.fixture(autouse=True)
def _run_as_runtime_role(request):
    """Every database test runs as the runtime role, as production does.

    ``SET ROLE`` (not ``SET LOCAL``: that silently does nothing across Django's savepoints)
    after the database fixture; the test transaction's rollback or an explicit ``RESET ROLE``
    before flush restores the owner, who may truncate.
    """
    names = set(request.fixturenames)
    marker = request.node.get_closest_marker("django_db")
    if not (names & DB_FIXTURES) and marker is None:
        yield
        return
    transactional = bool(names & {"transactional_db", "live_server"}) or (
        marker is not None and marker.kwargs.get("transaction")
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    role = connection.ops.quote_name(settings.DATABASE_RUNTIME_ROLE)
    with connection.cursor() as cur:
        cur.execute(f"SET ROLE {role}")
    yield
    if connection.connection is not None and not connection.in_atomic_block:
        with connection.cursor() as cur:
            cur.execute("RESET ROLE")


@pytest.fixture
def cast(db):
    a = make_org("acme", "Acme Support")
    b = make_org("globex", "Globex Care")
    a1, a2 = make_team(a, "Team A1"), make_team(a, "Team A2")
    b1 = make_team(b, "Team B1")

    def u(email, first, last):
        return UserFactory(username=email, email=email, first_name=first, last_name=last)

    ns = SimpleNamespace(org_a=a, org_b=b, team_a1=a1, team_a2=a2, team_b1=b1)
    ns.alice = make_member(a, Role.ADMIN, user=u("alice@acme.test", "Alice", "Admin"))
    ns.sam = make_member(
        a, Role.SUPERVISOR, teams_led=[a1], user=u("sam@acme.test", "Sam", "Super")
    )
    ns.ann = make_member(
        a, Role.AGENT, team=a1, user=u("ann@acme.test", "Ann", "Agent"), employee_id="A-1"
    )
    ns.andy = make_member(
        a, Role.AGENT, team=a1, user=u("andy@acme.test", "Andy", "Agent"), employee_id="A-2"
    )
    ns.zoe = make_member(
        a, Role.AGENT, team=a2, user=u("zoe@acme.test", "Zoe", "Agent"), employee_id="A-3"
    )
    ns.bob = make_member(
        b, Role.SUPERVISOR, teams_led=[b1], user=u("bob@globex.test", "Bob", "Boss")
    )
    ns.bea = make_member(
        b, Role.AGENT, team=b1, user=u("bea@globex.test", "Bea", "Agent"), employee_id="B-1"
    )
    return ns


@pytest.fixture
def client_for(client):
    """``client_for(member)`` → a test client signed in as that member's user."""

    def sign_in(member):
        client.force_login(member.user)
        return client

    return sign_in


@contextmanager
def assert_num_queries_at_most(n: int):
    with CaptureQueriesContext(connection) as ctx:
        yield ctx
    executed = len(ctx.captured_queries)
    assert executed <= n, f"{executed} queries > {n}:\n" + "\n".join(
        q["sql"] for q in ctx.captured_queries
    )
