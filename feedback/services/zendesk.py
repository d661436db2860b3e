"""Zendesk: endpoints, the signed webhook's verification, recording, and the worker that turns a
recorded delivery into an interaction.

The receiver only verifies, records and answers (≤ 1 s, nothing but one INSERT and one outbox
event); ``inbound_process`` — run by the outbox consumer — maps the payload and calls
``interactions_ingest``. A delivery that cannot become an interaction is parked with its reason
and replayed by an admin once fixed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from uuid6 import uuid7

from coachhub.core.outbox import consumer, event_record
from coachhub.tenancy.models import GlobalLookup, LookupKind

from ..models_channels import (
    EndpointKind,
    InboundDelivery,
    InboundStatus,
    WebhookEndpoint,
    endpoint_secret,
)
from .activity import ACCEPTED, REJECTED, activity_record, errors_summary

log = logging.getLogger(__name__)

SOURCE = "zendesk"
SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
TOLERANCE = timedelta(seconds=300)
EVENT_RECEIVED = "feedback.inbound_received"
DEFAULT_EVENT = "ticket.solved"
MAX_TAGS = 20

# What the admin pastes into the Zendesk webhook of a "ticket solved" trigger. Zendesk renders
# placeholders as plain text; an unknown or empty one becomes "" (handled in the mapping).
ZENDESK_BODY_TEMPLATE = """{
  "event": "ticket.solved",
  "ticket": {
    "id": "{{ticket.id}}",
    "link": "{{ticket.link}}",
    "via": "{{ticket.via}}",
    "tags": "{{ticket.tags}}",
    "solved_at": "{{ticket.updated_at_with_timestamp}}",
    "brand": "{{ticket.brand.name}}",
    "requester": {
      "name": "{{ticket.requester.name}}",
      "email": "{{ticket.requester.email}}",
      "language": "{{ticket.requester.language}}"
    },
    "assignee": {
      "email": "{{ticket.assignee.email}}",
      "external_id": "{{ticket.assignee.external_id}}"
    }
  }
}"""

# Payload field → what it becomes, shown next to the template on the endpoint page.
ZENDESK_FIELD_MAP = [
    ("ticket.id", "external_id (the interaction's id in Zendesk; repeats are duplicates)"),
    ("ticket.link", "ticket_url"),
    (
        "ticket.via",
        "channel (Mail/Web form → email, Phone/Voice → phone, Chat/Messaging → chat, "
        "Text → sms, Twitter/Facebook/WhatsApp/Instagram → social, anything else → email)",
    ),
    ("ticket.tags", "tags (space-separated in Zendesk; the first 20)"),
    ("ticket.solved_at", "occurred_at (when missing: the time the call arrived)"),
    ("ticket.requester.name / .email / .language", "customer name, e-mail, language"),
    ("ticket.assignee.email", "the agent (else assignee.external_id as the agent's employee id)"),
]


# --- endpoints --------------------------------------------------------------------------


def endpoint_url(endpoint: WebhookEndpoint) -> str:
    return f"{settings.SITE_URL}/hooks/{endpoint.kind}/{endpoint.token}/"


@transaction.atomic
def endpoint_create(*, organization, name: str, created_by=None) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.create(
        organization=organization,
        kind=EndpointKind.ZENDESK,
        name=name.strip(),
        secret=endpoint_secret(),
        created_by=created_by,
    )
    # The one pre-organization path: the receiver resolves the token to (org, endpoint).
    GlobalLookup.register(LookupKind.WEBHOOK_ENDPOINT, endpoint.token, endpoint)
    return endpoint


@transaction.atomic
def endpoint_rotate(endpoint: WebhookEndpoint, new_secret: str = "") -> WebhookEndpoint:
    """The current secret becomes the previous one (still accepted); the new one is current.

    ``new_secret`` lets an admin paste the signing secret Zendesk generated for its webhook;
    blank generates one here to paste into Zendesk.
    """
    endpoint.previous_secret = endpoint.secret
    endpoint.secret = new_secret.strip() or endpoint_secret()
    endpoint.rotated_at = timezone.now()
    endpoint.save(update_fields=["secret", "previous_secret", "rotated_at"])
    return endpoint


@transaction.atomic
def endpoint_retire_previous(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.previous_secret = ""
    endpoint.save(update_fields=["previous_secret"])
    return endpoint


@transaction.atomic
def endpoint_deactivate(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.is_active = False
    endpoint.deactivated_at = timezone.now()
    endpoint.save(update_fields=["is_active", "deactivated_at"])
    return endpoint


@transaction.atomic
def endpoint_reactivate(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.is_active = True
    endpoint.deactivated_at = None
    endpoint.save(update_fields=["is_active", "deactivated_at"])
    return endpoint


def endpoint_resolve(token: str) -> tuple[int, int] | None:
    """URL token → (organization id, endpoint id), before any organization context."""
    if not token or len(token) > 64:
        return None
    return GlobalLookup.resolve(LookupKind.WEBHOOK_ENDPOINT, token)


# --- signature --------------------------------------------------------------------------


def signature_for(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _parse_timestamp(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def signature_problem(
    secrets: list[str], timestamp: str | None, body: bytes, signature: str | None, *, now=None
) -> str:
    """Why this call is not authentic, or "" when it is.

    Every active secret is tried with a constant-time compare (the previous secret stays valid
    after a rotation); the timestamp is inside the signed string and must be within ±300 s.
    """
    if not signature or not timestamp:
        return "unsigned: the signature or timestamp header is missing"
    when = _parse_timestamp(timestamp)
    if when is None:
        return "the signature timestamp is not an ISO 8601 time"
    now = now or timezone.now()
    if abs(now - when) > TOLERANCE:
        return "stale: the signature timestamp is more than 300 seconds away from now"
    given = signature.strip().encode()
    ok = False
    for secret in secrets:
        # No early exit: every secret is compared, each in constant time.
        ok |= hmac.compare_digest(signature_for(secret, timestamp, body).encode(), given)
    return "" if ok else "bad signature"


# --- recording (the receiver) -----------------------------------------------------------


def _dedupe_key(body: bytes) -> tuple[str, str, dict | None]:
    """(dedupe key, external id, payload). Ticket id + event when the body says them; a body
    that is not the documented JSON is still recorded (then parked), keyed by its digest."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        payload = None
    if isinstance(payload, dict):
        ticket = payload.get("ticket") if isinstance(payload.get("ticket"), dict) else payload
        ticket_id = str(ticket.get("id") or "").strip()
        event = str(payload.get("event") or DEFAULT_EVENT).strip()[:60]
        if ticket_id:
            return f"{ticket_id[:120]}:{event}", ticket_id[:200], payload
    return (
        "sha256:" + hashlib.sha256(body).hexdigest(),
        "",
        payload if isinstance(payload, dict) else None,
    )


_INSERT = """
INSERT INTO {table} (organization_id, public_id, endpoint_id, dedupe_key, body, external_id,
                     status, reason, attempts, received_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 0, %s)
ON CONFLICT (organization_id, endpoint_id, dedupe_key) DO NOTHING
RETURNING id
"""


def delivery_receive(endpoint: WebhookEndpoint, body: bytes) -> tuple[InboundDelivery | None, bool]:
    """Record a verified delivery once. Returns (delivery, created).

    ``INSERT … ON CONFLICT DO NOTHING``: concurrent identical deliveries race on the unique
    index, exactly one inserts and rings the worker; the others see "already recorded".
    Runs inside the endpoint's organization context.
    """
    key, external_id, payload = _dedupe_key(body)
    text = body.decode("utf-8", errors="replace")
    status, reason = InboundStatus.PENDING, ""
    if payload is None:
        status, reason = (
            InboundStatus.PARKED,
            "the body is not a JSON object like the documented template",
        )
    elif not external_id:
        status, reason = InboundStatus.PARKED, "ticket.id: missing"
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(
                _INSERT.format(table=connection.ops.quote_name(InboundDelivery._meta.db_table)),
                [
                    endpoint.organization_id,
                    uuid7(),
                    endpoint.pk,
                    key,
                    text,
                    external_id,
                    status,
                    reason,
                    timezone.now(),
                ],
            )
            row = cur.fetchone()
        if row is None:
            existing = InboundDelivery.objects.filter(
                organization_id=endpoint.organization_id, endpoint=endpoint, dedupe_key=key
            ).first()
            return existing, False
        delivery_id = row[0]
        if status == InboundStatus.PENDING:
            event_record(endpoint.organization_id, EVENT_RECEIVED, {"delivery_id": delivery_id})
        else:
            activity_record(
                endpoint.organization_id,
                SOURCE,
                REJECTED,
                f"parked: {reason}",
                ref=endpoint.name,
                status=202,
            )
    return InboundDelivery.objects.get(
        organization_id=endpoint.organization_id, pk=delivery_id
    ), True


# --- mapping and processing (the worker) ------------------------------------------------

_CHANNEL_WORDS = [
    ("phone", ("phone", "voice", "call", "voicemail")),
    ("sms", ("text", "sms")),
    (
        "social",
        ("twitter", "facebook", "whatsapp", "instagram", "social", "x corp", "line", "wechat"),
    ),
    ("chat", ("chat", "messaging", "widget", "sdk", "sunshine")),
    ("email", ("mail", "web form", "web service", "api", "form")),
]

_LANGUAGE_NAMES = {
    "english": "en",
    "spanish": "es",
    "español": "es",
    "french": "fr",
    "français": "fr",
    "german": "de",
    "deutsch": "de",
    "italian": "it",
    "portuguese": "pt",
    "dutch": "nl",
    "polish": "pl",
    "swedish": "sv",
    "danish": "da",
    "norwegian": "no",
    "finnish": "fi",
    "japanese": "ja",
    "chinese": "zh",
    "korean": "ko",
    "russian": "ru",
    "turkish": "tr",
}
_LANGUAGE_CODE = re.compile(r"^([a-zA-Z]{2})(?:[-_][a-zA-Z0-9]{2,4})?$")


def channel_from_via(via: str) -> str:
    text = (via or "").lower()
    for channel, words in _CHANNEL_WORDS:
        if any(w in text for w in words):
            return channel
    return "email"


def language_from(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    m = _LANGUAGE_CODE.match(value)
    if m:
        return m.group(1).lower()
    # Zendesk renders {{…language}} as the language's name, e.g. "English (United States)".
    return _LANGUAGE_NAMES.get(value.split("(")[0].strip().lower(), "")


def _s(value) -> str:
    return "" if value is None else str(value).strip()


def payload_to_item(payload: dict, *, received_at: datetime) -> dict:
    """The documented Zendesk body → an interaction item in the API's shape.

    Missing values stay missing: the ingest validation names them (``customer.email: …``) and
    that reason is what a parked delivery shows.
    """
    ticket = payload.get("ticket") if isinstance(payload.get("ticket"), dict) else payload
    requester = ticket.get("requester") if isinstance(ticket.get("requester"), dict) else {}
    assignee = ticket.get("assignee") if isinstance(ticket.get("assignee"), dict) else {}
    agent = {}
    if _s(assignee.get("email")):
        agent["email"] = _s(assignee.get("email"))
    elif _s(assignee.get("external_id")):
        agent["employee_id"] = _s(assignee.get("external_id"))
    customer = {"name": _s(requester.get("name")), "email": _s(requester.get("email"))}
    language = language_from(_s(requester.get("language")))
    if language:
        customer["language"] = language
    raw_tags = ticket.get("tags")
    if isinstance(raw_tags, list):
        tags = [_s(t) for t in raw_tags if _s(t)]
    else:
        tags = [t for t in re.split(r"[\s,]+", _s(raw_tags)) if t]
    occurred = (
        _parse_timestamp(_s(ticket.get("solved_at"))) if _s(ticket.get("solved_at")) else None
    )
    via = _s(ticket.get("via"))
    properties = {}
    if via:
        properties["zendesk_via"] = via[:2000]
    if _s(ticket.get("brand")):
        properties["zendesk_brand"] = _s(ticket.get("brand"))[:2000]
    item = {
        "external_id": _s(ticket.get("id")),
        "channel": channel_from_via(via),
        "agent": agent,
        "customer": customer,
        "occurred_at": (occurred or received_at).isoformat(),
        "source": SOURCE,
        "tags": list(dict.fromkeys(tags))[:MAX_TAGS],
        "properties": properties,
    }
    if _s(ticket.get("link")):
        item["ticket_url"] = _s(ticket.get("link"))
    return item


def _missing_fields(item: dict) -> list[dict]:
    """What Zendesk left empty: named before the ingest is asked, so the reason is plain."""
    errors = []
    if not item["agent"]:
        errors.append(
            {"field": "agent", "reason": "the ticket has no assignee e-mail or external id"}
        )
    if not item["customer"]["email"]:
        errors.append({"field": "customer.email", "reason": "the requester has no e-mail address"})
    if not item["customer"]["name"]:
        errors.append({"field": "customer.name", "reason": "the requester has no name"})
    return errors


def delivery_process(delivery: InboundDelivery) -> InboundDelivery:
    """Turn one recorded delivery into an interaction, or park it with the reason.

    Runs inside the organization's context with the delivery row locked by the caller.
    A validation refusal parks; anything else (a database hiccup) raises so the outbox retries.
    """
    from .ingest import IngestValidationError, interactions_ingest

    delivery.attempts += 1
    delivery.processed_at = timezone.now()
    fields = ["attempts", "processed_at", "status", "reason", "interaction_public_id"]
    try:
        payload = json.loads(delivery.body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return _park(delivery, "the body is not a JSON object like the documented template", fields)
    item = payload_to_item(payload, received_at=delivery.received_at)
    problems = _missing_fields(item)
    if not item["external_id"]:
        problems.insert(0, {"field": "ticket.id", "reason": "missing"})
    if problems:
        return _park(delivery, errors_summary(problems, limit=5), fields)
    try:
        with transaction.atomic():
            result = interactions_ingest(
                delivery.organization, [item], source=SOURCE, mode="live", error_prefix=None
            )
    except IngestValidationError as exc:
        return _park(delivery, errors_summary(exc.errors, limit=5), fields)
    delivery.status = InboundStatus.PROCESSED if result.created else InboundStatus.DUPLICATE
    delivery.reason = ""
    delivery.interaction_public_id = _as_uuid(result.ids[0]) if result.ids else None
    delivery.save(update_fields=fields)
    activity_record(
        delivery.organization_id,
        SOURCE,
        ACCEPTED,
        "" if result.created else "duplicate of an earlier delivery",
        ref=f"ticket {delivery.external_id}",
    )
    return delivery


def _as_uuid(value):
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def _park(delivery: InboundDelivery, reason: str, fields: list[str]) -> InboundDelivery:
    delivery.status = InboundStatus.PARKED
    delivery.reason = reason
    delivery.save(update_fields=fields)
    activity_record(
        delivery.organization_id,
        SOURCE,
        REJECTED,
        f"parked: {reason}",
        ref=f"ticket {delivery.external_id or '?'}",
    )
    return delivery


def inbound_process(organization_id: int, delivery_id: int) -> str:
    """Process one pending delivery (the outbox consumer's body). Idempotent: a delivery that is
    no longer pending is left alone."""
    delivery = (
        InboundDelivery.objects.select_for_update(of=("self",))
        .select_related("organization")
        .filter(organization_id=organization_id, pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status != InboundStatus.PENDING:
        return "skipped"
    return delivery_process(delivery).status


@consumer(EVENT_RECEIVED, "feedback.inbound_process")
def _on_inbound_received(event) -> None:
    inbound_process(event.organization_id, int(event.data["delivery_id"]))


@transaction.atomic
def delivery_replay(delivery: InboundDelivery) -> InboundDelivery:
    """An admin retries a parked (or stuck pending) delivery, e.g. after adding the agent."""
    locked = (
        InboundDelivery.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(organization_id=delivery.organization_id, pk=delivery.pk)
    )
    # PENDING too: a delivery whose outbox row ran out of attempts (a long database outage)
    # would otherwise wait forever; the row lock makes a concurrent worker run harmless.
    if locked.status not in (InboundStatus.PARKED, InboundStatus.PENDING):
        return locked
    return delivery_process(locked)


def deliveries_replay_parked(endpoint: WebhookEndpoint, limit: int = 200) -> dict[str, int]:
    """Replay up to ``limit`` parked deliveries of an endpoint, oldest first."""
    counts = {"processed": 0, "duplicate": 0, "parked": 0}
    ids = list(
        InboundDelivery.objects.filter(
            organization_id=endpoint.organization_id, endpoint=endpoint, status=InboundStatus.PARKED
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        d = InboundDelivery(pk=pk, organization_id=endpoint.organization_id)
        result = delivery_replay(d)
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts
