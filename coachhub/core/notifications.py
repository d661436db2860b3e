"""In-app notifications: the one service every app calls to tell a person something.

``notify`` writes the bell's row; when the recipient opted in to e-mail it also records a
``notification.created`` event in the same transaction, and the outbox consumer below sends the
e-mail (retried on its own, swept if a doorbell is lost). The row is the truth either way.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Count, QuerySet, Window
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from coachhub.tenancy.models import Membership, Organization

from .models import Event, Notification
from .outbox import PermanentError, consumer, event_record

log = logging.getLogger(__name__)

EVENT_CREATED = "notification.created"


def safe_local_url(url: str) -> str:
    """Only same-site paths: a notification link must never become an open redirect."""
    url = (url or "").strip()
    if url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=None):
        return url
    return ""


@transaction.atomic
def notify(
    member: Membership, kind: str, title: str, body: str = "", url: str = ""
) -> Notification:
    """Tell ``member`` something. Call inside the member's organization context."""
    notification = Notification.objects.create(
        organization_id=member.organization_id,
        recipient=member,
        kind=kind[:50],
        title=title[:200],
        body=body,
        url=safe_local_url(url),
    )
    if member.is_active and member.email_notifications:
        event_record(member.organization_id, EVENT_CREATED, {"notification_id": notification.pk})
    return notification


# --- reads ---------------------------------------------------------------------------------


def notifications_for(member: Membership) -> QuerySet[Notification]:
    return Notification.objects.filter(organization_id=member.organization_id, recipient=member)


def unread_count(member: Membership) -> int:
    return notifications_for(member).filter(read_at__isnull=True).count()


def bell_context(member: Membership, latest: int = 5) -> dict:
    """The header bell: the unread count and the newest unread ones, in one query (the count
    is a window over every unread row, taken before the limit; no row: none unread)."""
    unread = notifications_for(member).filter(read_at__isnull=True)
    rows = list(unread.annotate(unread_total=Window(Count("pk")))[:latest])
    return {"bell_count": rows[0].unread_total if rows else 0, "bell_latest": rows}


def get_notification_for(member: Membership, public_id) -> Notification:
    try:
        return notifications_for(member).get(public_id=public_id)
    except (Notification.DoesNotExist, ValueError) as exc:
        raise Http404("No such notification") from exc


# --- writes --------------------------------------------------------------------------------


@transaction.atomic
def notification_mark_read(notification: Notification) -> None:
    Notification.objects.filter(
        organization_id=notification.organization_id, pk=notification.pk, read_at__isnull=True
    ).update(read_at=timezone.now())


@transaction.atomic
def notifications_mark_all_read(member: Membership) -> int:
    return notifications_for(member).filter(read_at__isnull=True).update(read_at=timezone.now())


@transaction.atomic
def email_notifications_set(member: Membership, enabled: bool) -> None:
    Membership.objects.filter(organization_id=member.organization_id, pk=member.pk).update(
        email_notifications=enabled
    )
    member.email_notifications = enabled


# --- e-mail transport ------------------------------------------------------------------------


@consumer(EVENT_CREATED, name="notification_email")
def send_notification_email(event: Event) -> None:
    notification = (
        Notification.objects.select_related("recipient__user")
        .filter(organization_id=event.organization_id, pk=event.data.get("notification_id"))
        .first()
    )
    if notification is None or notification.emailed_at is not None:
        return  # deleted meanwhile, or a repeated delivery after the send was recorded
    member = notification.recipient
    if not (member.is_active and member.email_notifications and member.user.email):
        return  # opted out (or deactivated) since: nothing to send, and nothing to retry
    organization = Organization.objects.get(pk=event.organization_id)
    context = {
        "notification": notification,
        "organization": organization,
        "member": member,
        "link": f"{settings.SITE_URL}{notification.url}" if notification.url else "",
        "settings_link": f"{settings.SITE_URL}/o/{organization.slug}/notifications/",
        "site_url": settings.SITE_URL,
    }
    message = EmailMultiAlternatives(
        subject=f"[{organization.name}] {notification.title}",
        body=render_to_string("emails/notification.txt", context),
        to=[member.user.email],
    )
    message.attach_alternative(render_to_string("emails/notification.html", context), "text/html")
    try:
        message.send()
    except (ValueError, UnicodeError) as exc:  # a malformed address will not get better
        raise PermanentError(str(exc)) from exc
    # Recorded in the delivery's transaction: a crash before commit sends again (at least once).
    Notification.objects.filter(organization_id=event.organization_id, pk=notification.pk).update(
        emailed_at=timezone.now()
    )
