"""Daily digest (supervisors, for the teams they lead) and weekly recap (agents, their own
feedback), e-mailed at the organization's digest time (setting ``digest_time``, default 08:00
local; opt-out per member and kind).

Exactly once per (organization, member, day, kind):
1. ``digests_plan`` inserts one ``pending`` row per recipient with ON CONFLICT DO NOTHING on the
   unique constraint — beat running twice, or the sweeper re-enqueueing, adds nothing;
2. ``digest_send`` locks one pending row (FOR UPDATE SKIP LOCKED), renders, sends and marks it
   ``sent`` in that transaction. Two workers never hold the same row; a worker that dies before
   committing leaves it pending (its lock goes with its connection) and the next run sends it.
   The only duplicate window is a crash between the SMTP server accepting the message and the
   commit (milliseconds), inherent to SMTP.

Each organization is its own task (``coaching.digests_org``), so one slow tenant never delays
another. Everything in a digest is read inside that organization's context and, for a
supervisor, for the teams they lead only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Membership, Organization, Role, TeamLead
from feedback import metrics
from feedback.models import DailyRollup, Mode, RequestKind, Response
from feedback.selectors_insights import COUNTERS
from recognition.selectors import digest_kudos

from ..models import Alert, AlertState, FollowUp
from ..models_digest import Digest, DigestKind, DigestOptOut, DigestStatus
from ..selectors_sessions import session_follow_ups_due

log = logging.getLogger(__name__)

DEFAULT_DIGEST_TIME = "08:00"
SEND_WINDOW = timedelta(hours=3)  # after the digest time, beat keeps trying for this long
BATCH = 200
DIGEST_METRICS = ("volume", "response_rate", "avg_stars", "csat", "fcr", "nps")


def digest_time(organization) -> time:
    raw = (organization.settings or {}).get("digest_time") or DEFAULT_DIGEST_TIME
    try:
        return time.fromisoformat(raw)
    except ValueError:
        return time(8, 0)


def due_day(organization, now=None) -> date | None:
    """Yesterday (local) if it is now past the digest time and within the send window."""
    now = now or timezone.now()
    local = timezone.localtime(now, organization.tz)
    at = datetime.combine(local.date(), digest_time(organization), tzinfo=organization.tz)
    if at <= local < at + SEND_WINDOW:
        return local.date() - timedelta(days=1)
    return None


# --- planning and sending ----------------------------------------------------------------


def digests_plan(organization, day: date) -> int:
    """Pending rows for every recipient of ``day`` (supervisors daily; agents weekly when
    ``day`` is a Sunday) who has not opted out. Returns the rows added."""
    org_id = organization.pk
    out = set(
        DigestOptOut.objects.filter(organization_id=org_id).values_list("membership_id", "kind")
    )
    leads = set(
        TeamLead.objects.filter(organization_id=org_id).values_list("membership_id", flat=True)
    )
    members = Membership.objects.filter(organization_id=org_id, is_active=True)
    rows = []
    for m in members.filter(Q(pk__in=leads) | Q(role=Role.SUPERVISOR)).only("id"):
        if (m.pk, DigestKind.DAILY) not in out:
            rows.append((m.pk, DigestKind.DAILY))
    if day.weekday() == 6:
        for m in members.filter(role=Role.AGENT).only("id"):
            if (m.pk, DigestKind.WEEKLY) not in out:
                rows.append((m.pk, DigestKind.WEEKLY))
    if not rows:
        return 0
    now = timezone.now()
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO coaching_digest (organization_id, membership_id, day, kind, status,"
            " attempts, subject, last_error, created_at)"
            " SELECT %s, m, %s, k, 'pending', 0, '', '', %s FROM unnest(%s::bigint[], %s::text[])"
            " AS x(m, k) ON CONFLICT ON CONSTRAINT digest_once DO NOTHING",
            [org_id, day, now, [r[0] for r in rows], [r[1] for r in rows]],
        )
        return cur.rowcount


def digest_send(organization_id: int, digest_id: int, *, mail_connection=None) -> str:
    """Send one pending digest (its own transaction). ``sent``, ``empty``, ``skipped`` (another
    worker holds it or it is done) or ``failed`` (left pending for the next run)."""
    try:
        with tenant_context(organization_id):
            d = (
                Digest.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("membership__user", "organization")
                .filter(organization_id=organization_id, pk=digest_id, status=DigestStatus.PENDING)
                .first()
            )
            if d is None:
                return "skipped"
            d.attempts += 1
            content = digest_content(d.membership, d.day, d.kind)
            if content is None:
                d.status = DigestStatus.EMPTY
                d.save(update_fields=["status", "attempts"])
                return "empty"
            message = digest_message(content)
            message.connection = mail_connection
            message.send()
            d.status = DigestStatus.SENT
            d.subject = content.subject[:200]
            d.sent_at = timezone.now()
            d.save(update_fields=["status", "attempts", "subject", "sent_at"])
            return "sent"
    except Exception as exc:
        log.warning("digest %s failed, will retry: %s", digest_id, exc)
        with tenant_context(organization_id):
            Digest.objects.filter(organization_id=organization_id, pk=digest_id).update(
                attempts=models_f_attempts(), last_error=f"{type(exc).__name__}: {exc}"[:500]
            )
        return "failed"


def models_f_attempts():
    from django.db.models import F

    return F("attempts") + 1


def digests_run(organization_id: int, *, now=None, limit: int = 5000) -> dict[str, int]:
    """Plan the due day's digests and send every pending one (one SMTP connection)."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    with tenant_context(organization_id):
        organization = Organization.objects.get(pk=organization_id)
        day = due_day(organization, now)
        if day is not None:
            counts["planned"] = digests_plan(organization, day)
        ids = list(
            Digest.objects.filter(
                organization_id=organization_id,
                status=DigestStatus.PENDING,
                attempts__lt=5,
                created_at__gte=now - timedelta(days=2),
            ).values_list("id", flat=True)[:limit]
        )
    if not ids:
        return counts
    # A bounded SMTP timeout: a stalled server must not hold a worker process forever.
    mail = get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or 30)
    try:
        mail.open()
        for i in ids:
            outcome = digest_send(organization_id, i, mail_connection=mail)
            counts[outcome] = counts.get(outcome, 0) + 1
    finally:
        mail.close()
    return counts


def organizations_due(now=None) -> list[int]:
    """Active organizations whose digest time has come (the fan-out's list)."""
    now = now or timezone.now()
    return [o.pk for o in Organization.objects.filter(is_active=True) if due_day(o, now)]


# --- content ------------------------------------------------------------------------------


@dataclass
class DigestContent:
    member: Membership
    organization: Organization
    kind: str
    day: date
    start: date
    subject: str
    rows: list  # per team (daily) or one row (weekly): name, metrics now/before
    best: list
    worst: list
    alerts: list
    alert_count: int
    follow_ups: list
    links: dict
    # 1:1 sessions whose follow-up is due by the end of today (dicts: agent, due_at, held, url).
    session_follow_ups: list = field(default_factory=list)
    # Recognition's kudos line (public kudos of the teams; all of an agent's own).
    kudos: dict = field(default_factory=lambda: {"count": 0, "latest": []})

    @property
    def recipient(self) -> str:
        return self.member.user.email

    @property
    def follow_up_count(self) -> int:
        return len(self.follow_ups) + len(self.session_follow_ups)


def _sums(qs) -> dict:
    return qs.aggregate(**{c: Sum(c, default=0) for c in COUNTERS})


def _metric_rows(current: dict, previous: dict) -> list[dict]:
    cur, prev = metrics.compute(current), metrics.compute(previous)
    return [
        {
            "label": metrics.METRIC_LABELS[m],
            "value": metrics.fmt(m, cur[m]),
            "n": cur[f"{m}_n"],
            "previous": metrics.fmt(m, prev[m]),
            "change": metrics.fmt_change(m, metrics.change(cur[m], prev[m])),
        }
        for m in DIGEST_METRICS
    ]


def _responses(org_id: int, start: date, end: date, q: Q):
    base = (
        Response.objects.filter(
            q,
            organization_id=org_id,
            confirmed=True,
            excluded=False,
            stars__isnull=False,
            interaction__local_day__gte=start,
            interaction__local_day__lte=end,
            interaction__mode=Mode.LIVE,
            request__kind=RequestKind.INITIAL,
        )
        .exclude(comment="")
        .select_related("agent__user", "team")
    )
    best = list(base.order_by("-stars", "-submitted_at")[:3])
    worst = list(base.exclude(pk__in=[r.pk for r in best]).order_by("stars", "-submitted_at")[:3])
    return best, worst


def _link(name: str, organization, **kwargs) -> str:
    return settings.SITE_URL + reverse(name, kwargs={"org": organization.slug, **kwargs})


def digest_content(member: Membership, day: date, kind: str, now=None) -> DigestContent | None:
    """What the member's digest for ``day`` says, read from rollups (numbers) and at most a few
    rows (best/worst answers, alerts, follow-ups). ``None``: nothing to report (a supervisor who
    leads no team)."""
    organization = member.organization
    org_id = organization.pk
    rollups = DailyRollup.objects.filter(organization_id=org_id)
    links = {
        "dashboard": _link("feedback:insights", organization),
        "settings": _link("coaching:digest_preview", organization),
    }
    if kind == DigestKind.WEEKLY:
        start = day - timedelta(days=6)
        q = Q(agent_id=member.pk)
        cur = _sums(rollups.filter(q, day__gte=start, day__lte=day))
        prev = _sums(rollups.filter(q, day__gte=start - timedelta(days=7), day__lt=start))
        rows = [{"name": "You", "metrics": _metric_rows(cur, prev)}]
        best, worst = _responses(org_id, start, day, Q(agent_id=member.pk))
        subject = (
            f"Your week at {organization.name}: {cur['responses']} responses, "
            f"{metrics.fmt('avg_stars', metrics.avg_stars(cur))} stars"
        )
        content = DigestContent(member, organization, kind, day, start, subject, rows, best, worst,
                                [], 0, [], links)  # fmt: skip
        content.kudos = digest_kudos(organization, start=start, end=day, agent=member)
        return content

    team_ids = sorted(
        TeamLead.objects.filter(organization_id=org_id, membership=member).values_list(
            "team_id", flat=True
        )
    )
    if not team_ids:
        return None
    from coachhub.tenancy.models import Team

    teams = {t.pk: t.name for t in Team.objects.filter(organization_id=org_id, pk__in=team_ids)}
    by_team = {
        (r["team_id"], r["day"]): r
        for r in rollups.filter(team_id__in=team_ids, day__in=[day, day - timedelta(days=1)])
        .values("team_id", "day")
        .annotate(**{c: Sum(c) for c in COUNTERS})
    }
    rows = []
    total_cur: dict = {}
    total_prev: dict = {}
    for tid in team_ids:
        cur = by_team.get((tid, day), {})
        prev = by_team.get((tid, day - timedelta(days=1)), {})
        total_cur = metrics.add(total_cur, {c: cur.get(c) or 0 for c in COUNTERS})
        total_prev = metrics.add(total_prev, {c: prev.get(c) or 0 for c in COUNTERS})
        rows.append({"name": teams.get(tid, ""), "metrics": _metric_rows(cur, prev)})
    if len(rows) > 1:
        rows.insert(0, {"name": "All your teams", "metrics": _metric_rows(total_cur, total_prev)})
    best, worst = _responses(org_id, day, day, Q(team_id__in=team_ids))
    alerts_qs = Alert.objects.filter(
        organization_id=org_id, team_id__in=team_ids, state=AlertState.OPEN
    )
    alerts = list(alerts_qs.select_related("agent__user").order_by("-created_at")[:5])
    alert_count = alerts_qs.count() if len(alerts) == 5 else len(alerts)
    now = now or timezone.now()
    end_of_today = datetime.combine(day + timedelta(days=2), time(0), tzinfo=organization.tz)
    follow_ups = list(
        FollowUp.objects.filter(
            organization_id=org_id, supervisor=member, done_at__isnull=True, due_at__lt=end_of_today
        )
        .select_related("note__agent__user")
        .order_by("due_at")[:10]
    )
    session_follow_ups = [
        {
            "agent": s.agent.display_name,
            "due_at": s.follow_up_due_at,
            "held": s.acknowledged_at or s.shared_at or s.created_at,
            "url": _link("coaching:session_detail", organization, session_id=s.public_id),
        }
        for s in session_follow_ups_due(member, now=end_of_today)[:10]
    ]
    volume = total_cur.get("interactions", 0)
    subject = (
        f"Yesterday at {organization.name}: {volume} interactions, "
        f"{metrics.fmt('avg_stars', metrics.avg_stars(total_cur))} stars"
    )
    links["alerts"] = _link("coaching:alert_list", organization)
    content = DigestContent(member, organization, kind, day, day, subject, rows, best, worst,
                            alerts, alert_count, follow_ups, links)  # fmt: skip
    content.kudos = digest_kudos(organization, start=day, end=day, team_ids=team_ids)
    content.session_follow_ups = session_follow_ups
    return content


def digest_message(content: DigestContent) -> EmailMultiAlternatives:
    ctx = {"d": content, "organization": content.organization}
    # Times in the e-mail (follow-ups due) read in the organization's zone, not the server's.
    with timezone.override(content.organization.tz):
        text = render_to_string("emails/digest.txt", ctx)
        html = render_to_string("emails/digest.html", ctx)
    msg = EmailMultiAlternatives(
        subject=content.subject, body=text, to=[content.recipient],
        from_email=settings.DEFAULT_FROM_EMAIL,
    )  # fmt: skip
    msg.attach_alternative(html, "text/html")
    return msg


# --- opt-out ------------------------------------------------------------------------------


@transaction.atomic
def opt_out_set(member: Membership, kind: str, opted_out: bool) -> None:
    if kind not in DigestKind.values:
        raise ValueError(kind)
    qs = DigestOptOut.objects.filter(
        organization_id=member.organization_id, membership=member, kind=kind
    )
    if opted_out:
        if not qs.exists():
            DigestOptOut.objects.create(
                organization_id=member.organization_id, membership=member, kind=kind
            )
    else:
        qs.delete()
