"""TV links: a read-only leaderboard for a floor screen behind an unguessable, revocable URL.

The secret (256 bits) is only in the URL shown once to the admin; its SHA-256 is stored on the
row and in GlobalLookup (kind ``tv_link``), the one path from a secret to its organization.
Revoking deletes the lookup and stamps the row, so the URL answers 404 at once.
"""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone

from coachhub.tenancy.models import GlobalLookup, LookupKind, sha256_hex

from .. import selectors
from ..models import TVLink


class TVLinkInvalid(Exception):
    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


@transaction.atomic
def tv_link_create(admin, *, name: str, team=None, metric: str = "stars", period: str = "week"):
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Name the screen (e.g. 'Billing floor')."
    if metric not in selectors.METRICS:
        errors["metric"] = "Choose a metric."
    if period not in ("week", "month"):
        errors["period"] = "Choose the last 7 or 30 days."
    if errors:
        raise TVLinkInvalid(errors)
    secret = secrets.token_urlsafe(32)
    link = TVLink.objects.create(
        organization_id=admin.organization_id,
        name=name[:80],
        team=team,
        metric=metric,
        period=period,
        token_hash=sha256_hex(secret),
        created_by=admin,
    )
    GlobalLookup.register(LookupKind.TV_LINK, secret, link)
    return link, secret


@transaction.atomic
def tv_link_revoke(link: TVLink) -> None:
    TVLink.objects.filter(
        organization_id=link.organization_id, pk=link.pk, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    GlobalLookup.objects.filter(
        kind=LookupKind.TV_LINK, organization_id=link.organization_id, object_id=link.pk
    ).delete()


def tv_link_resolve(secret: str) -> tuple[int, int] | None:
    return GlobalLookup.resolve(LookupKind.TV_LINK, secret)


def tv_link_load(organization_id: int, link_id: int, secret: str) -> TVLink | None:
    """Inside the organization's context: the live link whose hash matches, or None."""
    return (
        TVLink.objects.filter(
            organization_id=organization_id,
            pk=link_id,
            token_hash=sha256_hex(secret),
            revoked_at__isnull=True,
        )
        .select_related("team", "organization")
        .first()
    )
