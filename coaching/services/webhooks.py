"""Channel deliveries (e-mail, Slack, the outbound webhook) and the outbound webhook's settings.

A delivery is a row written in the same transaction as its cause (an alert, a finished survey);
a task with ids only is enqueued on commit (the doorbell). ``delivery_send`` works in three
steps so no transaction is open while a receiver is slow:

1. *claim* (short transaction): lock the row with SKIP LOCKED, check it is pending and due,
   count the attempt and lease it (``next_attempt_at`` a lease ahead);
2. *send* outside any transaction, through the channel's transport;
3. *record* (short transaction): the attempt with its status code or error, then delivered,
   failed (permanent error, or the last attempt) or a retry with backoff and jitter
   (``coachhub.core.outbox.retry_delay``) rung on commit.

A worker killed between 2 and 3 leaves the row leased; once the lease is over the sweeper
(``deliveries_sweep``, beat) rings again and the receiver gets it a second time with the same
event id (at least once: receivers dedupe on ``id``, per the contract).
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from coachhub.core.outbox import MAX_COUNTDOWN, batch_memo, retry_delay
from coachhub.tenancy.context import tenant_context

from ..models import (
    ChannelDelivery,
    DeliveryAttempt,
    DeliveryKind,
    DeliveryState,
    OutboundWebhook,
)
from .transports import TRANSPORTS, TransportError, webhook_body

log = logging.getLogger(__name__)


# "at least 5 attempts" (API.md); the outbox's own cap when it is higher.
def max_attempts() -> int:
    return max(5, int(getattr(settings, "OUTBOX_MAX_ATTEMPTS", 8)))


def _ring(organization_id: int, delivery_id: int, countdown: float = 0) -> None:
    if countdown > MAX_COUNTDOWN:
        return  # the sweeper rings when it is due

    def ring():
        from ..tasks import delivery_send_task

        try:
            delivery_send_task.apply_async(
                kwargs={"organization_id": organization_id, "delivery_id": delivery_id},
                countdown=countdown or None,
            )
        except Exception:  # broker down: the row is committed, the sweeper rings later
            log.warning("could not enqueue channel delivery %s", delivery_id, exc_info=True)

    transaction.on_commit(ring)


def deliveries_create(organization_id: int, rows: list[ChannelDelivery]) -> int:
    """Insert deliveries (a repeat of the same event, kind and target is "already done") and
    ring each new one on commit. Returns how many were new."""
    if not rows:
        return 0
    for row in rows:
        row.organization_id = organization_id
    created = ChannelDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    # ignore_conflicts leaves pk unset: read back which rows are ours and still pending.
    event_ids = {r.event_id for r in created}
    pending = ChannelDelivery.objects.filter(
        organization_id=organization_id,
        event_id__in=event_ids,
        state=DeliveryState.PENDING,
        attempts=0,
    ).values_list("id", flat=True)
    n = 0
    for delivery_id in pending:
        _ring(organization_id, delivery_id)
        n += 1
    return n


def _claim(organization_id: int, delivery_id: int):
    with tenant_context(organization_id):
        delivery = (
            ChannelDelivery.objects.select_for_update(skip_locked=True)
            .filter(organization_id=organization_id, pk=delivery_id)
            .first()
        )
        if delivery is None:
            return "locked-or-missing", None
        if delivery.state != DeliveryState.PENDING:
            return "already-" + delivery.state, None
        now = timezone.now()
        if delivery.next_attempt_at > now:
            return "not-due", None
        delivery.attempts += 1
        delivery.next_attempt_at = now + timedelta(seconds=settings.OUTBOX_CLAIM_LEASE_SECONDS)
        delivery.save(update_fields=["attempts", "next_attempt_at"])
        if delivery.kind == DeliveryKind.WEBHOOK:
            endpoint = OutboundWebhook.objects.filter(organization_id=organization_id).first()
            delivery.signing_secret = endpoint.secret if endpoint else None
        return "claimed", delivery


def delivery_send(organization_id: int, delivery_id: int) -> str:
    """Send one delivery if it is pending and due: ``delivered``, ``retry``, ``failed``, or why
    nothing was done (``locked-or-missing``, ``already-…``, ``not-due``, ``lost-claim``)."""
    outcome, delivery = _claim(organization_id, delivery_id)
    if outcome != "claimed":
        return outcome
    started = time.monotonic()
    status_code, error, permanent = None, "", False
    try:
        status_code = TRANSPORTS[delivery.kind].send(delivery)
    except TransportError as exc:
        status_code, error, permanent = exc.status_code, str(exc), exc.permanent
    except Exception as exc:  # a bug in a transport: record it and retry like a network error
        error = f"{type(exc).__name__}: {exc}"
        log.exception("channel delivery %s: transport crashed", delivery_id)
    duration_ms = int((time.monotonic() - started) * 1000)
    with tenant_context(organization_id):
        row = (
            ChannelDelivery.objects.select_for_update()
            .filter(organization_id=organization_id, pk=delivery_id)
            .first()
        )
        if row is None or row.state != DeliveryState.PENDING or row.attempts != delivery.attempts:
            return "lost-claim"  # our lease ran out and another attempt took over
        now = timezone.now()
        # Numbered across the row's whole life (an admin's retry resets ``attempts``).
        last = (
            DeliveryAttempt.objects.filter(organization_id=organization_id, delivery=row)
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
        )
        DeliveryAttempt.objects.create(
            organization_id=organization_id,
            delivery=row,
            number=(last or 0) + 1,
            status_code=status_code,
            error=error[:500],
            duration_ms=duration_ms,
        )
        row.last_status_code = status_code
        row.last_error = error[:500]
        if not error:
            row.state = DeliveryState.DELIVERED
            row.delivered_at = now
            outcome = "delivered"
        elif permanent or row.attempts >= max_attempts():
            row.state = DeliveryState.FAILED
            outcome = "failed"
            log.error(
                "channel delivery %s (%s) failed after %s attempt(s): %s",
                row.pk,
                row.kind,
                row.attempts,
                error,
            )
        else:
            delay = retry_delay(row.attempts)
            row.next_attempt_at = now + timedelta(seconds=delay)
            _ring(organization_id, row.pk, delay)
            outcome = "retry"
        row.save(
            update_fields=[
                "state",
                "delivered_at",
                "next_attempt_at",
                "last_status_code",
                "last_error",
            ]
        )
        return outcome


def deliveries_sweep(limit_per_org: int = 500) -> int:
    """Ring pending deliveries that are due (lost doorbells, Redis restarts, crashed workers)."""
    from coachhub.tenancy.models import Organization

    from ..tasks import delivery_send_task

    grace = timezone.now() - timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)
    rung = 0
    for org_id in Organization.objects.filter(is_active=True).values_list("id", flat=True):
        with tenant_context(org_id):
            due = list(
                ChannelDelivery.objects.filter(
                    organization_id=org_id, state=DeliveryState.PENDING, next_attempt_at__lte=grace
                )
                .order_by("next_attempt_at")
                .values_list("id", flat=True)[:limit_per_org]
            )
        for delivery_id in due:
            delivery_send_task.apply_async(
                kwargs={"organization_id": org_id, "delivery_id": delivery_id}
            )
            rung += 1
    return rung


@transaction.atomic
def delivery_retry_now(delivery: ChannelDelivery) -> None:
    """An admin's "retry": a failed delivery gets a fresh round of attempts."""
    updated = ChannelDelivery.objects.filter(
        organization_id=delivery.organization_id,
        pk=delivery.pk,
        state=DeliveryState.FAILED,
    ).update(state=DeliveryState.PENDING, attempts=0, next_attempt_at=timezone.now())
    if updated:
        _ring(delivery.organization_id, delivery.pk)


# --- the organization's outbound webhook -----------------------------------------------------


def secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def webhook_of(organization) -> OutboundWebhook | None:
    return OutboundWebhook.objects.filter(organization_id=organization.pk).first()


@transaction.atomic
def webhook_save(organization, *, url: str, is_active: bool = True) -> OutboundWebhook:
    endpoint = webhook_of(organization)
    if endpoint is None:
        return OutboundWebhook.objects.create(
            organization=organization, url=url, secret=secret_new(), is_active=is_active
        )
    endpoint.url, endpoint.is_active = url, is_active
    endpoint.save(update_fields=["url", "is_active"])
    return endpoint


@transaction.atomic
def webhook_rotate(endpoint: OutboundWebhook) -> OutboundWebhook:
    endpoint.secret = secret_new()
    endpoint.rotated_at = timezone.now()
    endpoint.save(update_fields=["secret", "rotated_at"])
    return endpoint


@transaction.atomic
def webhook_delete(endpoint: OutboundWebhook) -> None:
    OutboundWebhook.objects.filter(
        organization_id=endpoint.organization_id, pk=endpoint.pk
    ).delete()


def webhook_delivery(organization, *, event_id, event_type, created_at, data, alert=None):
    """The (unsaved) delivery of one event to the organization's webhook, or None if it has
    no active webhook. (The endpoint is read once per outbox delivery batch.)"""
    endpoint = batch_memo("coaching.webhook", lambda: webhook_of(organization))
    if endpoint is None or not endpoint.is_active:
        return None
    return ChannelDelivery(
        organization_id=organization.pk,
        kind=DeliveryKind.WEBHOOK,
        event_id=event_id,
        event_type=event_type,
        alert=alert,
        target=endpoint.url,
        body=webhook_body(
            event_id=event_id,
            event_type=event_type,
            created_at=created_at,
            organization_slug=organization.slug,
            data=data,
        ),
    )


@transaction.atomic
def webhook_send_test(organization) -> ChannelDelivery | None:
    """ "Send test event": a ``ping`` through the same path (signed, logged, retried)."""
    now = timezone.now()
    delivery = webhook_delivery(
        organization,
        event_id=uuid.uuid4(),
        event_type="ping",
        created_at=now,
        data={"message": "A test event from CoachHub."},
    )
    if delivery is None:
        return None
    delivery.is_test = True
    deliveries_create(organization.pk, [delivery])
    return delivery
