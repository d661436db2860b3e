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
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from coachhub.core.logging import organization_id_var

from .context import api_key_context, member_context
from .models import ApiKey, sha256_hex

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
        # One round trip from the slug to the organization, entered, and the membership (with
        # its team and profile): "no such organization" and "not a member" are the same 404.
        with member_context(slug, request.user) as member:
            if member is None:
                raise Http404("No such page")
            org = member.organization
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
        # One round trip from the secret to its organization, entered, and the key.
        with api_key_context(sha256_hex(secret.strip())) as found:
            if found is not None and found[0].is_active:
                return self._api_call(request, *found)
        return self.get_response(request)  # no transaction, no organization

    def _api_call(self, request, org, key):
        """The call, inside the key's organization (``api_key_context``)."""
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_EVERY:
            ApiKey.objects.filter(organization=org, pk=key.pk).update(last_used_at=now)
        request.organization = org
        request.api_key = key
        token = organization_id_var.set(org.pk)
        try:
            return _respond(self.get_response, request)
        finally:
            organization_id_var.reset(token)


def _respond(get_response, request):
    response = get_response(request)
    if response.status_code >= 400:
        # Views' exceptions were already turned into responses inside this transaction: an
        # error answer must not commit whatever the request wrote before failing.
        transaction.set_rollback(True)
    return response
