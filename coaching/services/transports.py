"""Notification transports: small classes with one method, ``send(delivery)``.

``send`` returns the receiver's status code (None for e-mail) or raises ``TransportError``,
which says whether retrying could help: network errors, timeouts and 5xx (and 408/429) are
worth another attempt; any other 4xx, a malformed address or URL is permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.core.mail import EmailMessage

RETRYABLE_4XX = {408, 429}


class TransportError(Exception):
    def __init__(self, message: str, *, permanent: bool, status_code: int | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.status_code = status_code


def http_timeout() -> float:
    # Below the claim lease, so a slow receiver cannot outlive the attempt's lease.
    return max(1.0, min(10.0, settings.OUTBOX_CLAIM_LEASE_SECONDS / 2))


def slack_escape(text: str) -> str:
    """Slack's three control characters (https://api.slack.com/reference/surfaces/formatting)."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """``CoachHub-Signature``: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    if not url.startswith(("http://", "https://")):
        raise TransportError("not an http(s) URL", permanent=True)
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "CoachHub-Webhooks/1",
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=http_timeout()) as answer:  # noqa: S310
            answer.read(4096)
            return answer.status
    except urllib.error.HTTPError as exc:
        code = exc.code
        retry = code >= 500 or code in RETRYABLE_4XX
        raise TransportError(f"HTTP {code}", permanent=not retry, status_code=code) from exc
    except (TimeoutError, urllib.error.URLError, ConnectionError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise TransportError(f"network error: {reason}", permanent=False) from exc
    except ValueError as exc:  # malformed URL
        raise TransportError(f"bad URL: {exc}", permanent=True) from exc


class Transport:
    def send(self, delivery) -> int | None:  # pragma: no cover - interface
        raise NotImplementedError


class EmailTransport(Transport):
    def send(self, delivery) -> int | None:
        message = EmailMessage(subject=delivery.subject, body=delivery.body, to=[delivery.target])
        try:
            message.send()
        except (ValueError, UnicodeError) as exc:
            raise TransportError(str(exc), permanent=True) from exc
        except (OSError, Exception) as exc:  # SMTP down, 4xx from the server: try again
            raise TransportError(f"{type(exc).__name__}: {exc}", permanent=False) from exc
        return None


class SlackTransport(Transport):
    def send(self, delivery) -> int | None:
        return _post(delivery.target, delivery.body.encode(), {})


class WebhookTransport(Transport):
    def send(self, delivery) -> int | None:
        # The current secret, read with the claim (a rotation signs later retries with the new one).
        secret = getattr(delivery, "signing_secret", None)
        if not secret:
            raise TransportError("the outbound webhook was removed", permanent=True)
        body = delivery.body.encode()
        signature = webhook_signature(secret, int(time.time()), body)
        return _post(delivery.target, body, {"CoachHub-Signature": signature})


TRANSPORTS: dict[str, Transport] = {
    "email": EmailTransport(),
    "slack": SlackTransport(),
    "webhook": WebhookTransport(),
}


def webhook_body(*, event_id, event_type: str, created_at, organization_slug: str, data) -> str:
    return json.dumps(
        {
            "id": str(event_id),
            "type": event_type,
            "created_at": created_at.isoformat(),
            "organization": organization_slug,
            "data": data,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
