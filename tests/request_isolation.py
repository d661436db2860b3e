"""Test-client requests start with no organization, as production requests do.

In a test, the test client runs the request in the test's own thread, context and database
transaction. Without this plugin a request made inside ``with tenant_context(org_a):`` would
inherit org A's database setting (``app.current_org``), its django-scopes scope and the current
organization id, so a view that forgets to enter the organization (a page outside ``/o/…``, a
webhook, a task-like view) would pass its tests and see nothing (or fail) in production
(shared/reference/rls-django-verified.md §6: "TestCase mode hides missing-context bugs").

``request_started`` saves and clears all three; ``request_finished`` restores them.
Registered for the whole suite by ``pytest_plugins`` in tests/conftest.py.
"""

from __future__ import annotations

import pytest
from django.core.signals import request_finished, request_started
from django.db import connection
from django_scopes import state as scopes_state

from coachhub.tenancy import context

SETTINGS = (context.ORG_SETTING, context.USER_SETTING)
_stack: list[dict] = []


def _db_ok() -> bool:
    return (
        connection.connection is not None
        and connection.in_atomic_block
        and not connection.needs_rollback
    )


def _started(**kwargs):
    saved = {
        "scope": scopes_state.state.set(None),
        "org": context._current_org_id.set(None),
        "db": None,
    }
    if _db_ok():
        # The raw driver cursor: these queries are the harness's, not the request's, and must
        # not count in assert_num_queries_at_most / CaptureQueriesContext.
        with connection.connection.cursor() as cur:
            cur.execute(
                "SELECT current_setting(%s, true), current_setting(%s, true)", list(SETTINGS)
            )
            saved["db"] = cur.fetchone()
            for name in SETTINGS:
                cur.execute("SELECT set_config(%s, '', true)", [name])
    _stack.append(saved)


def _finished(**kwargs):
    if not _stack:
        return
    saved = _stack.pop()
    for var, key in ((scopes_state.state, "scope"), (context._current_org_id, "org")):
        try:
            var.reset(saved[key])
        except ValueError:  # finished in another context (streaming): restore the value
            var.set(
                saved[key].old_value if saved[key].old_value is not saved[key].MISSING else None
            )
    if saved["db"] is not None and _db_ok():
        with connection.connection.cursor() as cur:
            for name, value in zip(SETTINGS, saved["db"], strict=True):
                cur.execute("SELECT set_config(%s, %s, true)", [name, value or ""])


@pytest.fixture(autouse=True)
def _requests_start_without_an_organization():
    request_started.connect(_started, dispatch_uid="tests_request_isolation_started")
    request_finished.connect(_finished, dispatch_uid="tests_request_isolation_finished")
    yield
    request_started.disconnect(dispatch_uid="tests_request_isolation_started")
    request_finished.disconnect(dispatch_uid="tests_request_isolation_finished")
    _stack.clear()
