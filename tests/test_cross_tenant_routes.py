"""Every organization route answers "not found" to the other organization, generated from the
URL resolver so a new route is covered without anyone remembering.

* A route under ``/o/<slug:org>/`` or ``/api/v1/`` with URL arguments: signed in as org A's admin
  (pages) or with an org A API key (API), ``org`` = org A and every other argument = a real
  object of org B from ``tests/route_objects.py``. GET and POST (plus PATCH/PUT/DELETE for the
  API) must answer exactly what a random missing id answers: 404 with a byte-identical body (405
  for a method the route does not take), and at least one method must be a 404.
* A route whose argument has no registered factory fails, telling you where to register it.
* A page route with no argument but ``org``: a member of org B on ``/o/acme/…`` gets the same
  404 as for an organization that does not exist; and what org A's admin sees there (and what an
  org A key gets from an API list) contains no identifier of any org B object.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

from coachhub.accounts.services import api_key_create
from coachhub.tenancy.context import tenant_context

from .route_objects import ROUTE_OBJECTS, factory_for
from .token_routes import NOT_ORGANIZATION_ROUTES, TOKEN_ROUTES

PAGE_PREFIX = "o/{org}/"
API_PREFIX = "api/v1/"
MISSING_ORG = "no-such-org-7f3a"
PAGE_METHODS = ("get", "post")  # then PUT/PATCH/DELETE if neither reached the object
API_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Route:
    template: str  # "o/{org}/notifications/{notification_id}/read/"
    name: str | None
    kwargs: list[str] = field(default_factory=list)
    problem: str | None = None  # a route this walker cannot fill (fails its test)

    @property
    def id(self) -> str:
        return f"{self.name or '(unnamed)'}:{self.template}"

    @property
    def is_api(self) -> bool:
        return self.template.startswith(API_PREFIX)

    def fill(self, values: dict) -> str:
        url = self.template
        for key, value in values.items():
            url = url.replace("{" + key + "}", str(value))
        return "/" + url


ROUTE_ARG = re.compile(r"<(?:[^>:]+:)?([^>]+)>")
REGEX_GROUP = re.compile(r"\(\?P<(\w+)>")


def _regex_to_template(regex: str) -> tuple[str, str | None]:
    """'^teams/(?P<pk>[^/.]+)/$' -> 'teams/{pk}/'; a problem when it is more than that."""
    out, i = [], 0
    text = regex.removeprefix("^").removesuffix("$").removesuffix("\\Z")
    while i < len(text):
        m = REGEX_GROUP.match(text, i)
        if m:
            depth, j = 1, m.end()
            while j < len(text) and depth:
                depth += {"(": 1, ")": -1}.get(text[j], 0) if text[j - 1] != "\\" else 0
                j += 1
            out.append("{" + m[1] + "}")
            i = j
            continue
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if text[i] in "()[]*+?|^$.{}":
            return text, f"regex route {regex!r} is too clever to fill; use path() with converters"
        out.append(text[i])
        i += 1
    return "".join(out), None


def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        problem = None
        if isinstance(p.pattern, RoutePattern):
            part = ROUTE_ARG.sub(lambda m: "{" + m[1] + "}", str(p.pattern))
        elif isinstance(p.pattern, RegexPattern):
            part, problem = _regex_to_template(p.pattern._regex)
        else:  # LocalePrefixPattern and friends
            part = str(p.pattern)
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _walk(p.url_patterns, prefix + part, ns)
        elif isinstance(p, URLPattern):
            template = prefix + part
            name = f"{namespace}{p.name}" if p.name else None
            yield Route(template, name, re.findall(r"\{(\w+)\}", template), problem)


def organization_routes() -> list[Route]:
    routes = []
    for r in _walk(get_resolver().url_patterns):
        if not r.template.startswith((PAGE_PREFIX, API_PREFIX)):
            continue
        if "format" in r.kwargs:  # DRF's ".json" suffix twins of routes listed anyway
            continue
        routes.append(r)
    return routes


def token_routes() -> list[Route]:
    """Routes with arguments outside the organization prefixes (tests/token_routes.py)."""
    return [
        r
        for r in _walk(get_resolver().url_patterns)
        if r.kwargs and not r.template.startswith((PAGE_PREFIX, API_PREFIX))
    ]


ROUTES = organization_routes()
OUTSIDE = token_routes()
TOKENED = [r for r in OUTSIDE if not r.template.startswith(tuple(NOT_ORGANIZATION_ROUTES))]
WITH_OBJECTS = [r for r in ROUTES if r.problem or [k for k in r.kwargs if k != "org"]]
PAGES_WITHOUT_OBJECTS = [
    r for r in ROUTES if not r.problem and not r.is_api and r.kwargs == ["org"]
]
API_WITHOUT_OBJECTS = [r for r in ROUTES if not r.problem and r.is_api and not r.kwargs]


def _missing_like(value) -> str:
    """A random id of the same shape as ``value`` that names no object."""
    text = str(value)
    try:
        uuid.UUID(text)
        return str(uuid.uuid4())
    except ValueError:
        pass
    if isinstance(value, int) or text.isdigit():
        return str(2_000_000_000 + uuid.uuid4().int % 100_000_000)
    return "missing-" + uuid.uuid4().hex[:12]


CSRF = re.compile(r'(csrfmiddlewaretoken" value="|csrf[-_]token" content=")[^"]*"', re.I)


def _normalized(response, values: dict) -> bytes:
    """The body with what legitimately differs between the two requests (the URL arguments
    themselves and per-response CSRF masks) replaced by placeholders."""
    body = response.content.decode(errors="replace")
    for key, value in values.items():
        if key != "org":
            body = body.replace(str(value), "{" + key + "}")
    return CSRF.sub(r"\1…", body).encode()


def _send(client, method, url, api_key=None):
    kw = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"} if api_key else {}
    if method == "get":
        return client.get(url, **kw)
    if api_key or method != "post":
        return getattr(client, method)(url, data="{}", content_type="application/json", **kw)
    return client.post(url, data={}, **kw)


@pytest.fixture
def org_a_key(cast):
    with tenant_context(cast.org_a):
        _key, secret = api_key_create(organization=cast.org_a, name="Acme key")
    return secret


def org_b_objects(cast) -> set[str]:
    """Every registered factory's org B object, as the strings a leak would show (UUIDs only:
    short values could appear by chance)."""
    seen, values = set(), set()
    for factory in ROUTE_OBJECTS.values():
        if factory in seen:
            continue
        seen.add(factory)
        try:
            with transaction.atomic():
                value = str(factory(cast))
        except Exception:  # noqa: BLE001, S112 - a broken factory fails its own route test
            continue
        try:
            uuid.UUID(value)
        except ValueError:
            continue
        values.add(value)
    return values


# --- the walker itself --------------------------------------------------------------------------


def test_the_walker_finds_the_organization_routes():
    names = {r.name for r in ROUTES}
    assert "org_home" in names
    assert all(r.kwargs[:1] == ["org"] for r in ROUTES if not r.is_api)


def test_regex_routes_are_turned_into_templates():
    assert _regex_to_template(r"^teams/(?P<pk>[^/.]+)/$") == ("teams/{pk}/", None)
    assert _regex_to_template(r"^a\.b/(?P<x>[0-9]{2})/$") == ("a.b/{x}/", None)
    assert _regex_to_template(r"^a/(\d+)/$")[1] is not None


# --- routes with objects: org B's object looks exactly like a missing one -----------------------


@pytest.mark.parametrize("route", WITH_OBJECTS, ids=lambda r: r.id)
def test_route_answers_404_for_an_object_of_another_organization(route, cast, client, org_a_key):
    assert route.problem is None, route.problem
    unregistered = [k for k in route.kwargs if k != "org" and not factory_for(route.name, k)]
    if unregistered:
        pytest.fail(
            f"route {route.id} takes {unregistered} but tests/route_objects.py has no factory "
            "for it. Register one that returns the URL value of a real org B object, e.g. "
            f"@register({unregistered[0]!r}) def ...(cast): ...",
            pytrace=False,
        )
    other = {k: factory_for(route.name, k)(cast) for k in route.kwargs if k != "org"}
    missing = {k: _missing_like(v) for k, v in other.items()}
    org = {} if route.is_api else {"org": cast.org_a.slug}
    if route.is_api:
        key = org_a_key
    else:
        client.force_login(cast.alice.user)
        key = None

    answered_404 = []
    methods = list(API_METHODS if route.is_api else PAGE_METHODS)
    for method in methods:
        got = _send(client, method, route.fill({**org, **other}), key)
        ref = _send(client, method, route.fill({**org, **missing}), key)
        assert ref.status_code in (404, 405), (
            f"{method.upper()} {route.id} with a missing id answered {ref.status_code}, "
            f"expected 404 (or 405 when the route does not take {method.upper()})"
        )
        assert got.status_code == ref.status_code, (
            f"{method.upper()} {route.id}: org B's object answered {got.status_code}, "
            f"a missing one {ref.status_code}"
        )
        assert _normalized(got, other) == _normalized(ref, missing), (
            f"{method.upper()} {route.id}: the 404 for org B's object differs from a missing one's"
        )
        if got.status_code == 404:
            answered_404.append(method)
        if method == methods[-1] and not answered_404 and not route.is_api:
            methods.extend(m for m in API_METHODS if m not in methods)  # an hx-delete/put page
    assert answered_404, f"{route.id} answered 405 to every method; nothing was checked"


# --- routes without objects: other organization = no organization -------------------------------


@pytest.mark.parametrize("route", PAGES_WITHOUT_OBJECTS, ids=lambda r: r.id)
def test_page_answers_404_to_a_member_of_another_organization(route, cast, client):
    client.force_login(cast.bob.user)  # org B's supervisor, no membership in acme
    for method in PAGE_METHODS:
        got = _send(client, method, route.fill({"org": cast.org_a.slug}))
        ref = _send(client, method, route.fill({"org": MISSING_ORG}))
        assert got.status_code == ref.status_code == 404, (method, got.status_code, ref.status_code)
        assert _normalized(got, {}) == _normalized(ref, {})


def test_no_list_page_or_api_list_shows_an_object_of_another_organization(cast, client, org_a_key):
    """Every page without object arguments, seen by org A's admin, and every API route without
    arguments, read with an org A key, shows no identifier of any registered org B object.
    One test (the org B objects are made once) that names every leaking route."""
    leaks = org_b_objects(cast)
    assert leaks, "no factory in tests/route_objects.py produced an org B object"
    client.force_login(cast.alice.user)
    found = []
    for route in PAGES_WITHOUT_OBJECTS + API_WITHOUT_OBJECTS:
        if route.is_api:
            response = _send(client, "get", route.fill({}), org_a_key)
        else:
            response = client.get(route.fill({"org": cast.org_a.slug}))
        assert response.status_code < 500, route.id
        body = response.content.decode(errors="replace")
        found += [f"{route.id} shows {v}" for v in sorted(leaks) if v in body]
    assert not found, "org A sees org B's objects:\n" + "\n".join(found)


# --- routes outside /o/ and /api/v1/: a token names the organization ----------------------------


def test_every_route_outside_the_organization_prefixes_is_registered():
    names = {r.name for r in TOKENED}
    unregistered = sorted(f"{r.name}: /{r.template}" for r in TOKENED if r.name not in TOKEN_ROUTES)
    assert not unregistered, (
        "routes outside /o/ and /api/v1/ that no test covers; register them in "
        "tests/token_routes.py:\n" + "\n".join(unregistered)
    )
    assert set(TOKEN_ROUTES) <= names, f"registered but gone: {set(TOKEN_ROUTES) - names}"


def _tampered(token: str) -> str:
    """The same token with its last character changed: right shape, names nothing."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize("route", TOKENED, ids=lambda r: r.id)
def test_token_route_answers_404_for_a_forged_token_and_shows_only_its_own_organization(
    route, cast, client, settings
):
    settings.SURVEY_RATE_LIMIT_PER_MINUTE = 0
    assert route.name in TOKEN_ROUTES, f"register {route.name} in tests/token_routes.py"
    assert len(route.kwargs) == 1, f"{route.id}: a token route takes exactly its token"
    arg = route.kwargs[0]
    leaks = {*org_b_objects(cast), cast.org_b.name, cast.org_b.slug}
    token = TOKEN_ROUTES[route.name](cast)

    checked = []
    for method in ("get", "post"):
        forged = _send(client, method, route.fill({arg: _tampered(token)}))
        random = _send(client, method, route.fill({arg: _missing_like(token)}))
        assert random.status_code in (404, 405), (
            f"{method.upper()} {route.id} with a random token answered {random.status_code}"
        )
        assert forged.status_code == random.status_code, (method, forged.status_code)
        if random.status_code == 404:
            checked.append(method)
    assert checked, f"{route.id} answered 405 to GET and POST; nothing was checked"

    page = client.get(route.fill({arg: token}))
    assert page.status_code in (200, 405), (
        f"{route.id}: org A's valid token answered {page.status_code}"
    )
    body = page.content.decode(errors="replace")
    shown = sorted(v for v in leaks if v in body)
    assert not shown, f"{route.id} with org A's token shows org B's {shown}"
