"""Resolves the organization once per request and runs the request inside its context.

* ``/o/<slug>/…`` pages: the signed-in user's active membership in that organization.
* ``/api/v1/…``: the API key in ``Authorization: Bearer …``.

The whole request (view *and* template rendering) runs inside ``tenant_context``: setting the
database context anywhere later would vanish before a TemplateResponse renders (see
shared/reference/rls-django-verified.md §3).
"""

import re

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone

from coachhub.core.logging import organization_id_var

from .context import tenant_context
from .models import ApiKey, GlobalLookup, LookupKind, Membership, Organization
from .raw import Prepared, RowReader

ORG_PATH = re.compile(r"^/o/(?P<slug>[-a-zA-Z0-9_]+)/")
API_PREFIX = "/api/v1/"
LAST_USED_EVERY = 60  # seconds; avoids a write per API call


class TenancyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = None
        request.member = None
        request.api_key = None
        path = request.path_info
        match = ORG_PATH.match(path)
        if match:
            return self._page(request, match["slug"])
        if path.startswith(API_PREFIX):
            return self._api(request)
        return self.get_response(request)

    def _page(self, request, slug):
        if not request.user.is_authenticated:
            # Same answer whether or not the organization exists: no slug enumeration.
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        org = Organization.objects.filter(slug=slug, is_active=True).first()
        if org is None:
            raise Http404("No such page")
        with tenant_context(org):
            member = (
                Membership.objects.select_related("user", "team")
                .filter(organization=org, user=request.user, is_active=True)
                .first()
            )
            if member is None:
                raise Http404("No such page")
            request.organization = org
            request.member = member
            token = organization_id_var.set(org.pk)
            # Pages show times in the organization's time zone (its days are the metrics' days).
            timezone.activate(org.tz)
            try:
                return _respond(self.get_response, request)
            finally:
                timezone.deactivate()
                organization_id_var.reset(token)

    def _api(self, request):
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.startswith(("chk_live_", "chk_test_")):
            return self.get_response(request)  # DRF answers 401 for protected endpoints
        # One query from the secret to its organization (the narrow pre-tenant path).
        found = GlobalLookup.resolve_with_organization(LookupKind.API_KEY, secret.strip())
        if found is None or not found[0].is_active:
            return self.get_response(request)
        org, key_id = found
        with tenant_context(org):
            key = _api_key(org.pk, key_id)
            if key is None:
                return self.get_response(request)
            now = timezone.now()
            if (
                key.last_used_at is None
                or (now - key.last_used_at).total_seconds() > LAST_USED_EVERY
            ):
                ApiKey.objects.filter(organization=org, pk=key.pk).update(last_used_at=now)
            request.organization = org
            request.api_key = key
            token = organization_id_var.set(org.pk)
            try:
                return _respond(self.get_response, request)
            finally:
                organization_id_var.reset(token)


_key_lookup: tuple[RowReader, Prepared] | None = None


def _api_key(org_id: int, key_id: int) -> ApiKey | None:
    """The unrevoked key (inside the organization's context). Raw SQL, prepared: it runs on
    every API call, and building the ORM query cost several times running it."""
    global _key_lookup
    if _key_lookup is None:
        reader = RowReader(ApiKey, "k")
        statement = Prepared(
            "tenancy_api_key",
            f"SELECT {reader.columns} FROM coachhub_apikey k "  # noqa: S608 - model columns
            "WHERE k.organization_id = $1 AND k.id = $2 AND k.revoked_at IS NULL",
            ["bigint", "bigint"],
        )
        _key_lookup = (reader, statement)
    reader, statement = _key_lookup
    with connection.cursor() as cur:
        statement.execute(cur, [org_id, key_id])
        row = cur.fetchone()
    return reader.instance(row) if row else None


def _respond(get_response, request):
    response = get_response(request)
    if response.status_code >= 400:
        # Views' exceptions were already turned into responses inside this transaction: an
        # error answer must not commit whatever the request wrote before failing.
        transaction.set_rollback(True)
    return response
