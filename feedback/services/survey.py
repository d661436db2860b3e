"""The customer's side of a feedback request: sending the e-mail, answering the survey,
finishing, expiring, unsubscribing.

Lifecycle of an initial request (``status`` / ``survey_state``, names as in API.md)::

    scheduled/pending --send--> sent/sent --confirmed answer--> sent/answered
        --submit, or finish window after the last answer--> sent/finished (locked)
    scheduled/pending --SMTP refuses the address--> bounced/none (address suppressed)
    scheduled/pending --address unsubscribed meanwhile--> unsubscribed/none
    sent/sent --expiry window without an answer--> sent/expired
    test/pending --send to the org's test address--> test/sent ... (same as live)

The row is the truth: ``survey_state = pending`` with ``send_after <= now`` is the sender's
queue. Ingestion rings a doorbell on commit (a task with the new request ids); a beat sweep
(``surveys_tick`` per organization) sends whatever is still due, finishes answered surveys whose
window has passed and expires unanswered ones, so a lost doorbell or a Redis restart delays a
survey but never loses it. Every transition claims its row with ``SELECT … FOR UPDATE`` and
re-checks the state, so duplicate doorbells, the sweeper and the customer's clicks serialize.

Answers move the rollups through ``rollups.response_rollup_change(old, new)`` in the same
transaction as the change (exactly once per response, whatever the edits), and record
``response.answered`` / ``response.finished`` events through the outbox.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import secrets
import smtplib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.template.defaultfilters import linebreaksbr
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from coachhub.core.outbox import event_record
from coachhub.core.redisclient import LuaScript, redis_client
from coachhub.tenancy.context import (
    ORG_SETTING,
    current_organization_id,
    entered_from_database,
    tenant_context,
)
from coachhub.tenancy.models import (
    AgentProfile,
    GlobalLookup,
    LookupKind,
    Membership,
    Organization,
    sha256_hex,
)
from coachhub.tenancy.raw import Prepared, RowReader, split_row

from ..models import (
    FeedbackRequest,
    Interaction,
    Mode,
    RequestStatus,
    Response,
    SurveyState,
    Unsubscribe,
)
from ..settings import org_setting
from . import rollups

log = logging.getLogger(__name__)

EVENT_ANSWERED = "response.answered"
EVENT_FINISHED = "response.finished"

# 32 random bytes: 256 bits, URL-safe base64 (43 characters). Only its SHA-256 is stored.
TOKEN_BYTES = 32
MAX_COMMENT = 5000
REWARD_TIERS = ("small", "medium", "large")
QUESTIONS = ("comment", "resolved", "nps", "qualities", "reward")
UNSUBSCRIBE_SOURCE_LINK = "link"
UNSUBSCRIBE_SOURCE_BOUNCE = "bounce"
# Transient send failures are retried with backoff (capped) until the request expires.
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
SEND_BATCH = 500
# A drain's batches read the organization and the agents again after this long.
READS_KEPT_SECONDS = 10
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")

# Marked for translation: the default chips (an organization's own labels stay as typed).
DEFAULT_QUALITY_LABELS = [
    gettext_noop("Friendly"),
    gettext_noop("Knowledgeable"),
    gettext_noop("Quick"),
    gettext_noop("Clear"),
    gettext_noop("Went the extra mile"),
    gettext_noop("Friendliness"),
    gettext_noop("Knowledge"),
    gettext_noop("Speed"),
    gettext_noop("Clarity"),
    gettext_noop("Follow-up"),
]


class SurveyClosed(Exception):
    """The survey is finished or expired: nothing may change any more."""


class SurveyInvalid(Exception):
    """An answer that does not fit the survey; ``errors`` maps field → message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# --- settings and language ----------------------------------------------------------------


def survey_settings(organization) -> dict:
    """Every survey-related setting of the organization, defaults filled in."""
    keys = (
        "send_delay_minutes",
        "suppression_days",
        "finish_window_minutes",
        "survey_expiry_days",
        "survey_questions",
        "qualities_positive",
        "qualities_improvement",
        "reward_threshold",
        "email_subject",
        "email_intro",
        "test_address",
    )
    return {k: org_setting(organization, k) for k in keys}


def language_for(interaction: Interaction, organization) -> str:
    """The customer's language if we ship it, else the organization's, else the default."""
    for code in (interaction.customer_language, organization.language, settings.LANGUAGE_CODE):
        if not code:
            continue
        try:
            return translation.get_supported_language_variant(code.replace("_", "-").lower())
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def quality_choices(organization, stars: int | None) -> list[str]:
    """The chips for a rating: the positive set for 4-5 stars, improvement set for 1-3."""
    if stars is None:
        return []
    key = "qualities_positive" if stars >= 4 else "qualities_improvement"
    return [str(q) for q in (org_setting(organization, key) or [])]


def reward_asked(organization, stars: int | None) -> bool:
    return (
        stars is not None
        and "reward" in (org_setting(organization, "survey_questions") or [])
        and stars >= int(org_setting(organization, "reward_threshold"))
    )


def _fill(template: str, **values) -> str:
    """``{agent}``-style placeholders by plain replacement (never ``str.format`` on admin
    text: braces in it must not raise or reach attributes)."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


# --- tokens -------------------------------------------------------------------------------


def token_new() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def survey_url(token: str, stars: int | None = None) -> str:
    url = settings.SITE_URL + reverse("survey:page", kwargs={"token": token})
    return f"{url}?stars={stars}" if stars else url


def unsubscribe_url(token: str) -> str:
    return settings.SITE_URL + reverse("survey:unsubscribe", kwargs={"token": token})


def token_resolve(token: str) -> tuple[int, int] | None:
    """(organization id, request id) for a token, before any organization context."""
    if not token or len(token) > 100:
        return None
    return GlobalLookup.resolve(LookupKind.SURVEY_TOKEN, token)


def request_for_token(
    organization_id: int, request_id: int, token: str, *, for_update: bool = False
) -> FeedbackRequest | None:
    """The request a resolved token names, inside its organization's context; the hash on the
    row must match too (a lookup row left behind by a resend names an older token).
    ``for_update`` locks the row for an answer (pass ``locked=True`` to the answer then)."""
    qs = FeedbackRequest.objects.select_related(
        "organization", "interaction", "interaction__agent__user"
    )
    if for_update:
        qs = qs.select_for_update(of=("self",))
    return qs.filter(
        organization_id=organization_id, pk=request_id, token_hash=sha256_hex(token)
    ).first()


def is_member_of(user, organization_id: int) -> bool:
    """A signed-in member of the organization may not answer its surveys."""
    if not getattr(user, "is_authenticated", False):
        return False
    return Membership.objects.filter(
        organization_id=organization_id, user_id=user.pk, is_active=True
    ).exists()


# --- sending ------------------------------------------------------------------------------


@dataclass
class AgentCard:
    name: str
    bio: str
    photo_url: str
    initials: str


def agent_card(agent: Membership) -> AgentCard:
    profile = (
        AgentProfile.objects.filter(organization_id=agent.organization_id, membership=agent)
        .only("display_name", "bio", "photo")
        .first()
    )
    name = (profile.display_name if profile else "") or agent.user.get_full_name()
    name = name or agent.user.email.split("@")[0]
    photo_url = ""
    if profile and profile.photo:
        url = profile.photo.url
        photo_url = url if url.startswith(("http://", "https://")) else settings.SITE_URL + url
    initials = "".join(part[0] for part in name.split()[:2]).upper() or "?"
    return AgentCard(
        name=name, bio=profile.bio if profile else "", photo_url=photo_url, initials=initials
    )


def brand_color(organization) -> str:
    """The organization's colour if it is a plain ``#rrggbb`` (it goes into style attributes)."""
    color = organization.brand_color or ""
    return color if _HEX.match(color) else "#206bc4"


def text_on(color: str) -> str:
    """Black or white, whichever reads better on ``color`` (WCAG relative luminance)."""
    try:
        r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    except (ValueError, TypeError, IndexError):
        return "#ffffff"

    def lin(c):
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return "#000000" if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else "#ffffff"


def _email_context(
    organization,
    card: AgentCard,
    customer_name: str,
    intro: str,
    subject: str,
    token: str,
    is_test: bool,
) -> dict:
    # Each URL reversed once (the star links are the survey link with ?stars=N).
    link = survey_url(token)
    return {
        "organization": organization,
        "brand": brand_color(organization),
        "brand_text": text_on(brand_color(organization)),
        "agent": card,
        "customer_name": customer_name,
        "intro": intro,
        "subject": subject,
        "stars": [(n, f"{link}?stars={n}") for n in range(1, 6)],
        "survey_link": link,
        "unsubscribe_link": unsubscribe_url(token),
        "is_test": is_test,
        "LANGUAGE_CODE": translation.get_language(),
    }


def _default_subject(card: AgentCard) -> str:
    return _("How did %(agent)s do?") % {"agent": card.name}


def _default_intro(card: AgentCard, organization) -> str:
    return _(
        "%(agent)s from %(organization)s helped you recently. How did they do? "
        "One click on a star tells us."
    ) % {"agent": card.name, "organization": organization.name}


def _message(organization, subject: str, text: str, html: str, recipient: str, unsubscribe: str):
    # From the organization by name (the address stays ours): customers answer a company they
    # know, not a tool.
    from_email = formataddr((organization.name, parseaddr(settings.DEFAULT_FROM_EMAIL)[1]))
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split())[:200],
        body=text,
        from_email=from_email,
        to=[recipient],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


# The fast path renders both templates once per (organization, agent card, language, test
# mode) with sentinels in place of what differs per e-mail (the customer's name, the intro and
# subject, which may contain it, and the token in every link), cuts the output at the
# sentinels, and joins the pieces with each e-mail's values, escaped as the template would
# have (see tests/test_survey_email_render.py: byte-identical to a plain render). The
# sentinels carry a random per-process mark, so no name or setting can contain one; a render
# in which the mark turns up anywhere else is not reused.
_MARK = "zq" + secrets.token_hex(12)
_SLOT = re.compile(f"{_MARK}([A-Z]){_MARK}")
_TOKEN, _NAME, _INTRO, _SUBJECT = (f"{_MARK}{k}{_MARK}" for k in "TNIS")
# The sender's renders, for the life of the worker process (cleared when this many are kept).
_RENDERS: dict = {}
RENDERS_KEPT = 1000


@dataclass
class _Rendered:
    text: list[str]  # literal, slot letter, literal, … (re.split with one group)
    html: list[str]
    unsubscribe: list[str]
    subject: str  # the default subject and intro in the e-mail's language
    intro: str


def _cut(rendered: str) -> list[str] | None:
    parts = _SLOT.split(rendered)
    if any(_MARK in parts[i] for i in range(0, len(parts), 2)):
        return None  # the mark where no slot is: never reuse this render
    return parts


def _rendered(organization, card: AgentCard, is_test: bool) -> _Rendered | None:
    """Both templates with slots, in the active language (None: not reusable)."""
    context = _email_context(organization, card, _NAME, _INTRO, _SUBJECT, _TOKEN, is_test)
    text = _cut(render_to_string("emails/feedback_request.txt", context))
    html = _cut(render_to_string("emails/feedback_request.html", context))
    unsubscribe = _cut(context["unsubscribe_link"])
    if text is None or html is None or unsubscribe is None:
        return None
    return _Rendered(
        text, html, unsubscribe, _default_subject(card), _default_intro(card, organization)
    )


def _join(parts: list[str], values: dict[str, str]) -> str:
    out = parts[:]
    for i in range(1, len(out), 2):
        out[i] = values[out[i]]
    return "".join(out)


def request_email(
    request: FeedbackRequest,
    token: str,
    recipient: str,
    *,
    card: AgentCard | None = None,
    renders: dict | None = None,
) -> EmailMultiAlternatives:
    """The request e-mail (HTML + text) in the customer's language. ``renders``: a dict the
    caller keeps (the sender: ``_RENDERS``), to render the templates once per organization,
    agent card, language and mode."""
    interaction = request.interaction
    organization = request.organization
    card = card or agent_card(interaction.agent)
    customer = interaction.customer_name
    values = {"agent": card.name, "organization": organization.name, "customer": customer}
    subject = _fill(org_setting(organization, "email_subject") or "", **values)
    intro = _fill(org_setting(organization, "email_intro") or "", **values)
    is_test = interaction.mode == Mode.TEST
    language = language_for(interaction, organization)
    if renders is not None:
        # Keyed by everything the render reads, so an entry never goes stale.
        key = (
            organization.pk,
            organization.name,
            organization.brand_color,
            card.name,
            card.bio,
            card.photo_url,
            card.initials,
            language,
            is_test,
        )
        rendered = renders.get(key, renders)
        if rendered is renders:
            if len(renders) >= RENDERS_KEPT:
                renders.clear()
            with translation.override(language):
                rendered = renders[key] = _rendered(organization, card, is_test)
        if rendered is not None:
            subject = subject or rendered.subject
            intro = intro or rendered.intro
            text = _join(rendered.text, {"T": token, "N": customer, "I": intro, "S": subject})
            html = _join(
                rendered.html,
                {
                    "T": token,
                    "N": escape(customer),
                    "I": linebreaksbr(intro, autoescape=True),
                    "S": escape(subject),
                },
            )
            unsubscribe = _join(rendered.unsubscribe, {"T": token})
            return _message(organization, subject, text, html, recipient, unsubscribe)
    with translation.override(language):
        subject = subject or _default_subject(card)
        intro = intro or _default_intro(card, organization)
        context = _email_context(organization, card, customer, intro, subject, token, is_test)
        text = render_to_string("emails/feedback_request.txt", context)
        html = render_to_string("emails/feedback_request.html", context)
    return _message(organization, subject, text, html, recipient, context["unsubscribe_link"])


def _hard_bounce(exc: Exception) -> bool:
    """The SMTP server refused the recipient with a permanent (5xx) code."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(int(code) >= 500 for code, _msg in exc.recipients.values())
    return False


def _retry_at(attempts: int, now: datetime) -> datetime:
    return now + min(RETRY_CAP, RETRY_BASE * (2 ** max(0, attempts - 1)))


class _Connection:
    """One SMTP connection shared by a batch, reopened after a failure, and what the batch
    reads once: the organization, the agents and their cards (a drain's batches share these
    for up to ``READS_KEPT_SECONDS``)."""

    def __init__(self):
        self._conn = None
        self._read_at = time.monotonic()
        self._cards: dict[int, AgentCard] = {}
        self._agents: dict[int, Membership] = {}
        self._organization: Organization | None = None

    def fresh(self) -> None:
        """Forget the reads once they are ``READS_KEPT_SECONDS`` old."""
        if time.monotonic() - self._read_at > READS_KEPT_SECONDS:
            self._read_at = time.monotonic()
            self._cards.clear()
            self._agents.clear()
            self._organization = None

    def card(self, agent: Membership) -> AgentCard:
        """Agent cards are read once per batch (a batch is seconds long)."""
        if agent.pk not in self._cards:
            self._cards[agent.pk] = agent_card(agent)
        return self._cards[agent.pk]

    def organization(self, organization_id: int) -> Organization:
        """The organization (name, colour, survey settings), read once per batch."""
        if self._organization is None or self._organization.pk != organization_id:
            self._organization = Organization.objects.get(pk=organization_id)
        return self._organization

    def agent(self, organization_id: int, agent_id: int) -> Membership:
        """An interaction's agent with its user, read once per batch."""
        if agent_id not in self._agents:
            self._agents[agent_id] = Membership.objects.select_related("user").get(
                organization_id=organization_id, pk=agent_id
            )
        return self._agents[agent_id]

    def get(self):
        if self._conn is None:
            self._conn = get_connection()
            self._conn.open()
        return self._conn

    def reset(self):
        if self._conn is not None:
            # A broken connection may refuse to close politely.
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    close = reset


def request_send(organization_id: int, request_id: int, *, connection=None, now=None) -> str:
    """Send one due request (its own transaction). Returns what happened: ``sent``,
    ``bounced``, ``unsubscribed``, ``retry``, ``expired``, ``no-test-address``, ``not-due``
    or ``skipped`` (locked by another sender, or no longer pending)."""
    own = connection is None
    connection = connection or _Connection()
    try:
        with _claimed(organization_id, request_id) as row:
            if row is None:
                return "skipped"
            return _request_send(organization_id, row, connection, now or timezone.now())
    finally:
        if own:
            connection.close()


@functools.cache
def _claim_statement():
    """Lock a pending request (skipping one another sender holds) and read it with its
    interaction and whether the customer's address is suppressed: one prepared statement per
    e-mail instead of an ORM query built for each (the sender's largest cost). Returns
    (request reader, interaction reader, statement), made on first use."""
    r, i = RowReader(FeedbackRequest, "r"), RowReader(Interaction, "i")
    statement = Prepared(
        "feedback_survey_claim",
        f"SELECT {r.columns}, {i.columns}, "  # noqa: S608 - model columns
        "(SELECT u.source FROM feedback_unsubscribe u WHERE u.organization_id = $1 "
        " AND u.email = i.customer_email ORDER BY u.id LIMIT 1) "
        "FROM feedback_feedbackrequest r JOIN feedback_interaction i "
        "ON i.organization_id = r.organization_id AND i.id = r.interaction_id "
        f"WHERE r.organization_id = $1 AND r.id = $2 AND r.survey_state = "
        f"'{SurveyState.PENDING.value}' FOR UPDATE OF r SKIP LOCKED",
        ["bigint", "bigint"],
    )
    enter = Prepared(
        "feedback_survey_enter", f"SELECT set_config('{ORG_SETTING}', $1::text, true)", ["bigint"]
    )
    return r, i, statement, enter


def _claimed(organization_id: int, request_id: int):
    """``tenant_context(organization_id)`` entered in the same round trip as the claim: yields
    the claimed row inside the organization (row-level security applies), or None."""
    _r, _i, claim, enter = _claim_statement()
    return entered_from_database(
        enter, claim, [organization_id, request_id], lambda row: (organization_id, row)
    )


def _request_send(organization_id: int, row, connection, now) -> str:
    r_reader, i_reader, _claim, _enter = _claim_statement()
    # blocked: the suppression's source, if the address is suppressed
    request_values, interaction_values, (blocked,) = split_row(row, (r_reader, i_reader))
    request = r_reader.instance(request_values)
    interaction = i_reader.instance(interaction_values)
    organization = connection.organization(organization_id)
    interaction.agent = connection.agent(organization_id, interaction.agent_id)
    request.interaction = interaction
    request.organization = organization
    if request.send_after > now:
        return "not-due"
    update = ["status", "survey_state", "attempts", "last_error", "updated_at"]
    request.updated_at = now
    if request.expires_at <= now:
        request.survey_state = SurveyState.EXPIRED
        request.save(update_fields=update)
        return "expired"

    if request.status == RequestStatus.TEST:
        recipient = (org_setting(organization, "test_address") or "").strip()
        if not recipient:
            request.survey_state = SurveyState.NONE
            request.last_error = "No test address is set (feedback settings)."
            request.save(update_fields=update)
            return "no-test-address"
    else:
        recipient = interaction.customer_email
        if blocked is not None:
            request.status = (
                RequestStatus.BOUNCED
                if blocked == UNSUBSCRIBE_SOURCE_BOUNCE
                else RequestStatus.UNSUBSCRIBED
            )
            request.survey_state = SurveyState.NONE
            request.save(update_fields=update)
            return str(request.status)

    request.attempts += 1
    token = token_new()
    request.token_hash = sha256_hex(token)
    written = False
    try:
        message = request_email(
            request,
            token,
            recipient,
            card=connection.card(interaction.agent),
            renders=_RENDERS,
        )
        message.connection = connection.get()
        # The token and the sent state are written before the e-mail goes out, after a
        # savepoint that a refused send rolls back to: a sent link always names a stored
        # token once this transaction commits.
        sql, params = _sent_writes(request, interaction, now)
        with db_connection.cursor() as cur:
            written = True
            cur.execute(sql, params)
        message.send()
    except Exception as exc:
        if written:
            with db_connection.cursor() as cur:
                cur.execute(f"ROLLBACK TO SAVEPOINT {_SEND_SAVEPOINT}")
        request.token_hash = ""
        request.last_error = f"{type(exc).__name__}: {exc}"[:500]
        if _hard_bounce(exc):
            connection_ok = True
            request.survey_state = SurveyState.NONE
            if request.status != RequestStatus.TEST:
                request.status = RequestStatus.BOUNCED
                Unsubscribe.objects.get_or_create(
                    organization_id=organization_id,
                    email=recipient,
                    defaults={"source": UNSUBSCRIBE_SOURCE_BOUNCE},
                )
            outcome = "bounced"
        else:
            connection_ok = False
            request.send_after = _retry_at(request.attempts, now)
            update.append("send_after")
            outcome = "retry"
            log.warning("survey e-mail for request %s failed, will retry: %s", request.pk, exc)
        if not connection_ok:
            connection.reset()
        request.save(update_fields=[*update, "token_hash"])
        return outcome
    return "sent"


_SEND_SAVEPOINT = "feedback_survey_send"


@functools.cache
def _sent_statements():
    """The writes of a sent request, made on first use: its token's lookup row and the
    request's sent state (what ``GlobalLookup.register`` and ``save()`` write, as prepared
    statements sent in one round trip with the savepoint before them and the rollup's count,
    ``rollups.request_sent_write``, after)."""
    r = FeedbackRequest._meta
    col = {
        f: r.get_field(f).column
        for f in (
            "status",
            "survey_state",
            "attempts",
            "last_error",
            "updated_at",
            "token_hash",
            "sent_at",
            "expires_at",
            "organization",
            "id",
        )
    }
    lookup = Prepared(
        "feedback_survey_token_lookup",
        f"INSERT INTO {GlobalLookup._meta.db_table} "  # noqa: S608 - model names
        "(kind, digest, organization_id, object_id, created_at) VALUES ($1, $2, $3, $4, $5)",
        ["text", "text", "bigint", "bigint", "timestamptz"],
    )
    sent = Prepared(
        "feedback_survey_sent",
        f"UPDATE {r.db_table} SET {col['status']} = $3, {col['survey_state']} = $4, "  # noqa: S608
        f"{col['attempts']} = $5, {col['last_error']} = '', {col['updated_at']} = $6, "
        f"{col['token_hash']} = $7, {col['sent_at']} = $6, {col['expires_at']} = $8 "
        f"WHERE {col['organization']} = $1 AND {col['id']} = $2",
        ["bigint", "bigint", "text", "text", "integer", "timestamptz", "text", "timestamptz"],
    )
    return lookup, sent


def _sent_writes(request: FeedbackRequest, interaction: Interaction, now) -> tuple[str, list]:
    """The savepoint, then the writes of the sent request (``_sent_statements``): one
    round trip's SQL and parameters (``request`` itself is left as it is: a refused send
    saves its own state)."""
    lookup, sent = _sent_statements()
    statements = [lookup, sent]
    status = request.status if request.status == RequestStatus.TEST else RequestStatus.SENT
    expiry = timedelta(days=int(org_setting(request.organization, "survey_expiry_days")))
    org_id = request.organization_id
    sql = [f"SAVEPOINT {_SEND_SAVEPOINT}", lookup.execute_sql, sent.execute_sql]
    params = [
        LookupKind.SURVEY_TOKEN.value, request.token_hash, org_id, request.pk, timezone.now(),
        org_id, request.pk, str(status), str(SurveyState.SENT), request.attempts, now,
        request.token_hash, max(request.expires_at, now + expiry),
    ]  # fmt: skip
    counted = rollups.request_sent_write(request, interaction)
    if counted is not None:
        statements.append(counted[0])
        sql.append(counted[0].execute_sql)
        params += counted[1]
    with db_connection.cursor() as cur:
        for statement in statements:
            statement.ensure(cur)
    return "; ".join(sql), params


def requests_due(organization_id: int, now=None, limit: int = SEND_BATCH) -> list[int]:
    now = now or timezone.now()
    with tenant_context(organization_id):
        return list(
            FeedbackRequest.objects.filter(
                organization_id=organization_id,
                survey_state=SurveyState.PENDING,
                send_after__lte=now,
            )
            .order_by("send_after")
            .values_list("id", flat=True)[:limit]
        )


def requests_send(
    organization_id: int, request_ids, *, now=None, connection: _Connection | None = None
) -> dict[str, int]:
    """Send the given requests that are due, over one SMTP connection. Counts per outcome.
    ``connection``: the drain's, whose reads outlive the batch (its SMTP connection does not)."""
    counts: dict[str, int] = {}
    connection = connection or _Connection()
    connection.fresh()
    try:
        for request_id in request_ids:
            outcome = request_send(organization_id, request_id, connection=connection, now=now)
            counts[outcome] = counts.get(outcome, 0) + 1
    finally:
        connection.close()
    return counts


# --- answering ----------------------------------------------------------------------------


def _closed(request: FeedbackRequest, now) -> bool:
    if request.survey_state in (SurveyState.FINISHED, SurveyState.EXPIRED):
        return True
    return request.survey_state == SurveyState.SENT and request.expires_at <= now


def survey_is_closed(request: FeedbackRequest, now=None) -> bool:
    return _closed(request, now or timezone.now())


def response_of(request: FeedbackRequest) -> Response | None:
    return Response.objects.filter(organization_id=request.organization_id, request=request).first()


def _event_data(response: Response, request: FeedbackRequest, interaction: Interaction) -> dict:
    return {
        "response": str(response.public_id),
        "request": str(request.public_id),
        "interaction": str(interaction.public_id),
        "external_id": interaction.external_id,
        "agent": str(interaction.agent.public_id),
        "agent_id": interaction.agent_id,
        "team_id": interaction.team_id,
        "mode": interaction.mode,
        "kind": request.kind,
        "stars": response.stars,
        "resolved": response.resolved,
        "nps": response.nps,
        "qualities": list(response.qualities),
        "reward_tier": response.reward_tier,
        "comment": response.comment,
        "finished": response.finished,
        "updated_at": response.updated_at.isoformat(),
    }


ANSWER_FIELDS = ("stars", "comment", "resolved", "nps", "qualities", "reward_tier")


def _clean_answers(organization, stars: int, answers: dict) -> dict:
    """Validate ``answers`` against the organization's survey (raises ``SurveyInvalid``)."""
    errors: dict[str, str] = {}
    enabled = set(org_setting(organization, "survey_questions") or [])
    out: dict = {}
    comment = answers.get("comment", "")
    if comment and "comment" in enabled:
        comment = str(comment).replace("\r\n", "\n").strip()
        if len(comment) > MAX_COMMENT:
            errors["comment"] = _("At most %(n)s characters.") % {"n": MAX_COMMENT}
        out["comment"] = comment
    else:
        out["comment"] = ""
    resolved = answers.get("resolved")
    out["resolved"] = resolved if "resolved" in enabled and isinstance(resolved, bool) else None
    nps = answers.get("nps")
    if nps is not None and "nps" in enabled:
        if not isinstance(nps, int) or isinstance(nps, bool) or not 0 <= nps <= 10:
            errors["nps"] = _("Choose a number from 0 to 10.")
        out["nps"] = nps
    else:
        out["nps"] = None
    qualities = answers.get("qualities") or []
    if "qualities" in enabled:
        allowed = quality_choices(organization, stars)
        bad = [q for q in qualities if q not in allowed]
        if bad:
            errors["qualities"] = _("Choose from the listed qualities.")
        out["qualities"] = [q for q in allowed if q in qualities]
    else:
        out["qualities"] = []
    tier = answers.get("reward_tier") or ""
    if tier and reward_asked(organization, stars):
        if tier not in REWARD_TIERS:
            errors["reward_tier"] = _("Choose small, medium or large.")
        out["reward_tier"] = tier
    else:
        out["reward_tier"] = ""
    if errors:
        raise SurveyInvalid(errors)
    return out


def survey_answer_record(
    request: FeedbackRequest,
    *,
    stars: int | None,
    answers: dict | None = None,
    finish: bool = False,
    now=None,
    locked: bool = False,
) -> Response:
    """Record the customer's confirmed answer (a person's page made this request).

    ``stars`` alone (``answers=None``) confirms or changes the rating and keeps the other
    answers that still fit it; with ``answers`` the optional questions are replaced by them.
    ``finish`` locks the survey; ``locked``: the caller holds the request row FOR UPDATE in
    the current transaction (``request_for_token(for_update=True)``). Moves the rollup from
    the old answer to the new one and records ``response.answered`` when anything changed
    (``response.finished`` on finish). Call inside the request's organization context.
    """
    if current_organization_id() != request.organization_id:
        raise RuntimeError("survey_answer_record must run inside the survey's organization")
    now = now or timezone.now()
    organization = request.organization
    with transaction.atomic():
        if not locked:  # else the caller loaded it FOR UPDATE in this transaction
            request = (
                FeedbackRequest.objects.select_for_update(of=("self",))
                .select_related("organization", "interaction", "interaction__agent")
                .get(organization_id=organization.pk, pk=request.pk)
            )
        interaction = request.interaction
        if _closed(request, now) or request.survey_state not in (
            SurveyState.SENT,
            SurveyState.ANSWERED,
        ):
            raise SurveyClosed()
        response = (
            Response.objects.select_for_update()
            .filter(organization_id=organization.pk, request=request)
            .first()
        )
        if stars is None:
            stars = response.stars if response else None
        if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
            raise SurveyInvalid({"stars": _("Choose from one to five stars.")})
        if answers is None:
            # Star only: keep the answers that still fit the (possibly new) rating.
            kept = {f: getattr(response, f) for f in ANSWER_FIELDS[1:]} if response else {}
            if kept:
                allowed = quality_choices(organization, stars)
                kept["qualities"] = [q for q in kept["qualities"] if q in allowed]
                if not reward_asked(organization, stars):
                    kept["reward_tier"] = ""
            values = {"stars": stars, **kept}
        else:
            values = {"stars": stars, **_clean_answers(organization, stars, answers)}

        old_state = None
        if response is None:
            response = Response(
                organization_id=organization.pk,
                request=request,
                interaction=interaction,
                agent_id=interaction.agent_id,
                team_id=interaction.team_id,
                confirmed=True,
                submitted_at=now,
                updated_at=now,
            )
            changed = True
        else:
            old_state = rollups.answer_state_of(
                response, interaction=interaction, request_kind=request.kind
            )
            changed = any(getattr(response, f) != v for f, v in values.items())
        for field, value in values.items():
            setattr(response, field, value)
        response.confirmed = True
        if changed:
            response.updated_at = now
        if finish:
            response.finished = True
            response.finished_at = now
            response.updated_at = now
        if changed or finish or response.pk is None:
            response.save()
        if changed:
            new_state = rollups.answer_state_of(
                response, interaction=interaction, request_kind=request.kind
            )
            rollups.response_rollup_change(organization.pk, old_state, new_state)
            event_record(
                organization.pk, EVENT_ANSWERED, _event_data(response, request, interaction)
            )
        state = SurveyState.FINISHED if finish else SurveyState.ANSWERED
        if request.survey_state != state:
            FeedbackRequest.objects.filter(organization_id=organization.pk, pk=request.pk).update(
                survey_state=state, updated_at=now
            )
            request.survey_state = state
        if finish:
            event_record(
                organization.pk, EVENT_FINISHED, _event_data(response, request, interaction)
            )
    return response


def survey_finish(request: FeedbackRequest, *, now=None) -> Response:
    """The customer pressed "submit": lock the survey as it stands."""
    return survey_answer_record(request, stars=None, answers=None, finish=True, now=now)


def surveys_finish_due(organization_id: int, *, now=None, limit: int = 1000) -> int:
    """Finish answered surveys whose last answer is older than the finish window."""
    now = now or timezone.now()
    finished = 0
    with tenant_context(organization_id):
        organization = Organization.objects.get(pk=organization_id)
        window = timedelta(minutes=int(org_setting(organization, "finish_window_minutes")))
        due = list(
            Response.objects.filter(
                organization_id=organization_id,
                finished=False,
                confirmed=True,
                updated_at__lte=now - window,
            )
            .order_by("updated_at")
            .values_list("request_id", flat=True)[:limit]
        )
    for request_id in due:
        with tenant_context(organization_id):
            request = (
                FeedbackRequest.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("organization", "interaction", "interaction__agent")
                .filter(organization_id=organization_id, pk=request_id)
                .first()
            )
            if request is None or request.survey_state != SurveyState.ANSWERED:
                continue
            response = response_of(request)
            # Re-checked under the lock: an answer may have arrived since the query above.
            if response is None or response.finished or response.updated_at > now - window:
                continue
            _finish_locked(request, response, now)
            finished += 1
    return finished


def _finish_locked(request: FeedbackRequest, response: Response, now) -> None:
    response.finished = True
    response.finished_at = now
    response.updated_at = now
    response.save(update_fields=["finished", "finished_at", "updated_at"])
    FeedbackRequest.objects.filter(organization_id=request.organization_id, pk=request.pk).update(
        survey_state=SurveyState.FINISHED, updated_at=now
    )
    event_record(
        request.organization_id,
        EVENT_FINISHED,
        _event_data(response, request, request.interaction),
    )


def surveys_expire_due(organization_id: int, *, now=None) -> int:
    """Unanswered surveys (and never-sent ones) past their expiry are closed for good."""
    now = now or timezone.now()
    with tenant_context(organization_id):
        return FeedbackRequest.objects.filter(
            organization_id=organization_id,
            survey_state__in=[SurveyState.SENT, SurveyState.PENDING],
            expires_at__lte=now,
        ).update(survey_state=SurveyState.EXPIRED, updated_at=now)


def surveys_tick(organization_id: int, *, now=None) -> dict[str, int]:
    """One organization's periodic work: send what is due, finish, expire."""
    counts = requests_send(organization_id, requests_due(organization_id, now), now=now)
    counts["finished"] = surveys_finish_due(organization_id, now=now)
    counts["expired"] = surveys_expire_due(organization_id, now=now)
    return counts


# --- unsubscribe --------------------------------------------------------------------------


def survey_unsubscribe(request: FeedbackRequest, *, now=None) -> bool:
    """The customer asks for no more feedback requests from this organization: recorded, and
    requests to the address that are still waiting to be sent are cancelled. Test-mode
    requests went to the organization's own test address: nothing to record."""
    if current_organization_id() != request.organization_id:
        raise RuntimeError("survey_unsubscribe must run inside the survey's organization")
    interaction = request.interaction
    if interaction.mode == Mode.TEST:
        return False
    now = now or timezone.now()
    with transaction.atomic():
        _row, created = Unsubscribe.objects.get_or_create(
            organization_id=request.organization_id,
            email=interaction.customer_email,
            defaults={"source": UNSUBSCRIBE_SOURCE_LINK, "created_at": now},
        )
        FeedbackRequest.objects.filter(
            organization_id=request.organization_id,
            interaction__customer_email=interaction.customer_email,
            interaction__mode=Mode.LIVE,
            status=RequestStatus.SCHEDULED,
            survey_state=SurveyState.PENDING,
        ).update(status=RequestStatus.UNSUBSCRIBED, survey_state=SurveyState.NONE, updated_at=now)
    return created


# --- ingestion doorbell -------------------------------------------------------------------


def _bounced_not_unsubscribed(organization, rows) -> None:
    """Ingestion marks every suppressed address ``unsubscribed``; an address suppressed by a
    hard bounce reads ``bounced`` (API.md). One UPDATE, only when such rows exist."""
    ids = [r.request_id for r in rows if r.status == RequestStatus.UNSUBSCRIBED and r.request_id]
    if not ids:
        return
    bounced = Unsubscribe.objects.filter(
        organization_id=organization.pk, source=UNSUBSCRIBE_SOURCE_BOUNCE
    ).values("email")
    changed = set(
        FeedbackRequest.objects.filter(
            organization_id=organization.pk, pk__in=ids, interaction__customer_email__in=bounced
        ).values_list("id", flat=True)
    )
    if changed:
        FeedbackRequest.objects.filter(organization_id=organization.pk, pk__in=changed).update(
            status=RequestStatus.BOUNCED
        )
        for r in rows:
            if r.request_id in changed:
                r.status = RequestStatus.BOUNCED


def after_ingest(organization, rows) -> None:
    """AFTER_INGEST_HOOKS: ring the sender on commit for new requests that will be sent.

    Requests due now go through the organization's coalescing doorbell (``doorbell_ring``);
    a short delay is a task with a countdown; a delay longer than the broker's comfort zone is
    left to the sweeper (``surveys_tick``)."""
    _bounced_not_unsubscribed(organization, rows)
    ids = [
        r.request_id
        for r in rows
        if r.status in (RequestStatus.SCHEDULED, RequestStatus.TEST) and r.request_id
    ]
    if not ids:
        return
    countdown = max(0.0, (rows[0].send_after - timezone.now()).total_seconds())
    if countdown > 600:
        return
    org_id = organization.pk
    if not countdown:
        transaction.on_commit(lambda: doorbell_ring(org_id, ids))
        return

    def ring():
        from ..tasks import requests_send_task

        try:
            requests_send_task.apply_async(
                kwargs={"organization_id": org_id, "request_ids": ids},
                countdown=countdown or None,
            )
        except Exception:  # broker down: the rows are committed, the sweep sends them
            log.warning("could not enqueue survey sends; the sweep will", exc_info=True)

    transaction.on_commit(ring)


# Requests due now are coalesced per organization: their ids go onto a Redis list, and only the
# ring that finds no drain armed enqueues one (``requests_drain``), which sends the list in
# batches over one SMTP connection until it is empty. One Redis round trip per ingest call
# instead of a task publish, and one task per burst instead of one per interaction. The rows
# stay the truth: ids lost with Redis or a crashed drain are still pending and due, and the
# beat sweep (``surveys_tick``) sends them; an armed flag left by a crash expires.
DRAIN_BATCH = 100
DRAIN_ARMED_SECONDS = 60
DRAIN_IDS_TTL = 3600


def _drain_prefix() -> str:
    # Named after the Celery queue the drain task goes to (per deployment; per session in
    # tests): an armed flag always belongs to a task of that queue.
    return f"{settings.CELERY_TASK_DEFAULT_QUEUE}:survey-drain"


def _drain_keys(organization_id: int) -> tuple[str, str]:
    base = f"{_drain_prefix()}:{int(organization_id)}"
    return f"{base}:ids", f"{base}:armed"


# KEYS: the ids list, the armed flag. ARGV: the ring's ids, the list's ttl, the flag's ttl.
# Returns 1 when this ring armed the drain (and must enqueue it).
_RING = LuaScript(
    """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if redis.call('SET', KEYS[2], 1, 'NX', 'EX', ARGV[3]) then return 1 end
return 0
"""
)


def doorbell_ring(organization_id: int, request_ids: list[int]) -> None:
    """Ask for these committed requests to be sent now. Never raises (the sweep covers)."""
    ids_key, armed_key = _drain_keys(organization_id)
    try:
        client = redis_client()
        # One list element per ring (packing a thousand arguments cost more than the trip).
        armed = _RING.script(client)(
            keys=[ids_key, armed_key],
            args=[",".join(map(str, request_ids)), DRAIN_IDS_TTL, DRAIN_ARMED_SECONDS],
            client=client,
        )
    except Exception:  # Redis down: the rows are committed, the sweep sends them
        log.warning("could not ring the survey sender; the sweep will", exc_info=True)
        return
    if not armed:
        return  # a drain is armed or running: it takes these ids too
    from ..tasks import requests_drain_task

    try:
        requests_drain_task.apply_async(kwargs={"organization_id": organization_id})
    except Exception:
        log.warning("could not enqueue the survey drain; the sweep will", exc_info=True)
        with contextlib.suppress(Exception):
            client.delete(armed_key)


def requests_drain(organization_id: int, *, batch: int = DRAIN_BATCH) -> dict[str, int]:
    """The drain task: send the organization's rung request ids until the list is empty."""
    ids_key, armed_key = _drain_keys(organization_id)
    client = redis_client()
    counts: dict[str, int] = {}
    connection = _Connection()  # its reads shared by the batches
    while True:
        rings = client.lpop(ids_key, batch)  # each ring's ids, comma-separated
        if not rings:
            client.delete(armed_key)
            # A ring between the pop and the delete found the drain armed and left its ids
            # here: take them, unless a newer ring armed (and enqueued) a drain of its own.
            if not client.llen(ids_key) or not client.set(
                armed_key, 1, nx=True, ex=DRAIN_ARMED_SECONDS
            ):
                return counts
            continue
        ids = list(dict.fromkeys(int(x) for ring in rings for x in ring.split(b",") if x))
        for start in range(0, len(ids), batch):
            client.expire(armed_key, DRAIN_ARMED_SECONDS)
            sent = requests_send(organization_id, ids[start : start + batch], connection=connection)
            for outcome, n in sent.items():
                counts[outcome] = counts.get(outcome, 0) + n


# --- settings -----------------------------------------------------------------------------

SETTING_KEYS = (
    "send_delay_minutes",
    "suppression_days",
    "finish_window_minutes",
    "survey_expiry_days",
    "survey_questions",
    "qualities_positive",
    "qualities_improvement",
    "reward_threshold",
    "email_subject",
    "email_intro",
    "test_address",
)


def survey_settings_update(organization, values: dict) -> Organization:
    """Store the survey settings (validated by ``SurveySettingsForm``) and the brand colour.

    The organization row is locked and its ``settings`` re-read, so another page saving other
    keys at the same moment is not overwritten."""
    with transaction.atomic():
        org = Organization.objects.select_for_update().get(pk=organization.pk)
        stored = dict(org.settings or {})
        for key in SETTING_KEYS:
            if key in values:
                stored[key] = values[key]
        org.settings = stored
        fields = ["settings"]
        if values.get("brand_color"):
            org.brand_color = values["brand_color"]
            fields.append("brand_color")
        org.save(update_fields=fields)
    organization.settings = org.settings
    organization.brand_color = org.brand_color
    return organization
