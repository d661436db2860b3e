"""Routes outside ``/o/<org>/`` and ``/api/v1/`` (cross-tenant route test, second half).

Before the organization is known, a request names it only through a token in its URL — a survey
link, a Zendesk endpoint, a TV screen, an invitation — resolved through ``GlobalLookup``
(coachhub/tenancy/models.py). ``tests/test_cross_tenant_routes.py`` walks every URL with
arguments outside the organization prefixes; each must be registered here, either

* as a **token route**: a factory taking the ``cast`` fixture and returning a valid token of
  org A (acme) for the route's one argument. The test asserts that a random token, and the
  valid one with a character changed, answer the same 404 (or 405), and that the page a valid
  token opens shows no identifier or name of org B; or
* as **not an organization route** (the operator's admin, Django's password reset, media),
  with the reason.

    When you add such a route, register it here or the walker fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coachhub.tenancy.context import tenant_context

TOKEN_ROUTES: dict[str, Callable[[Any], str]] = {}

# Route template prefixes that are not organization routes, and why.
NOT_ORGANIZATION_ROUTES = {
    "platform/": "the operator's Django admin (staff only; no organization in the URL)",
    "accounts/password/reset/": "Django's password reset (a user, not an organization)",
    "media/": "uploaded files served in development",
}


def token_route(name: str):
    def add(factory):
        if name in TOKEN_ROUTES:
            raise ValueError(f"token route {name!r} registered twice")
        TOKEN_ROUTES[name] = factory
        return factory

    return add


def _survey_token(cast) -> str:
    """A sent survey of Ann's (org A): its token, as the e-mail link carries it."""
    from django.core import mail

    from .survey_helpers import ingest, send_due, star_links, token_of

    ingest(cast.org_a, cast.ann, email="route-walker@example.com")
    assert send_due(cast.org_a) == {"sent": 1}
    return token_of(star_links(mail.outbox[-1].body)[1])


@token_route("survey:page")
def survey_page(cast):
    return _survey_token(cast)


@token_route("survey:unsubscribe")
def survey_unsubscribe(cast):
    return _survey_token(cast)


@token_route("hooks:zendesk")
def zendesk_endpoint(cast):
    from feedback.services.zendesk import endpoint_create

    with tenant_context(cast.org_a):
        return endpoint_create(organization=cast.org_a, name="Acme Zendesk").token


@token_route("tv:page")
def tv_screen(cast):
    from recognition.services.tv import tv_link_create

    with tenant_context(cast.org_a):
        _link, secret = tv_link_create(cast.alice, name="Acme floor")
    return secret


@token_route("invitation_accept")
def invitation(cast):
    from coachhub.accounts.services import invitation_create

    with tenant_context(cast.org_a):
        _invitation, token = invitation_create(
            organization=cast.org_a,
            email="route.walker@acme.test",
            role="agent",
            team=cast.team_a1,
            invited_by=cast.alice.user,
        )
    return token
