"""Daily digest (supervisors, for the teams they lead) and weekly recap (agents, their own
feedback), e-mailed at the organization's digest time (setting ``digest_time``, default 08:00
local; opt-out per member and kind).

Exactly once per (organization, member, day, kind):
1. ``digests_plan`` inserts one ``pending`` row per recipient in ONE ``INSERT … SELECT … ON
   CONFLICT DO NOTHING`` on the unique constraint — beat running twice, or the sweeper
   re-enqueueing, adds nothing;
2. each digest is then claimed and sent in its own transaction: one ``UPDATE … WHERE id = (SELECT
   … FOR UPDATE SKIP LOCKED) AND status = 'pending'`` marks it ``sent`` and holds its row lock
   while the SMTP conversation runs; the commit after the send makes it final. Two workers never
   hold the same row (the second skips it, or finds it no longer pending); a worker that dies
   before committing leaves it pending (its lock goes with its connection) and the next run
   sends it. The only duplicate window is a crash between the SMTP server accepting the message
   and the commit (milliseconds), inherent to SMTP.

Each organization is its own task (``coaching.digests_org``), so one slow tenant never delays
another. Its content is read for all its recipients at once (``digests_content``: a fixed number
of set-based queries — rollups grouped by team, best/worst answers and open alerts ranked per
team, follow-ups ranked per supervisor, kudos per team), so a digest costs one claim statement
plus render + SMTP, whatever the number of supervisors. Everything is read inside that
organization's context and, for a supervisor, for the teams they lead only.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum, Window
from django.db.models.functions import RowNumber
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Membership, Organization, Role, TeamLead
from feedback import metrics
from feedback.models import DailyRollup, Mode, RequestKind, Response
from feedback.selectors_insights import COUNTERS
from recognition.selectors import digest_kudos_grouped

from ..models import Alert, AlertState, FollowUp
from ..models_digest import Digest, DigestKind, DigestOptOut, DigestStatus
from ..selectors_sessions import follow_ups_due_qs

log = logging.getLogger(__name__)

DEFAULT_DIGEST_TIME = "08:00"
SEND_WINDOW = timedelta(hours=3)  # after the digest time, beat keeps trying for this long
DIGEST_METRICS = ("volume", "response_rate", "avg_stars", "csat", "fcr", "nps")
MAX_ATTEMPTS = 5
SHOWN = {"responses": 3, "alerts": 5, "follow_ups": 10, "kudos": 3}


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
    """Pending rows for every recipient of ``day`` (supervisors and team leads daily; agents
    weekly when ``day`` is a Sunday) who has not opted out, in one statement. Returns the rows
    added (0 when they were all planned already)."""
    kinds = [DigestKind.DAILY.value] + ([DigestKind.WEEKLY.value] if day.weekday() == 6 else [])
    sql = (
        "INSERT INTO coaching_digest (organization_id, membership_id, day, kind, status,"
        " attempts, subject, last_error, created_at)"
        " SELECT m.organization_id, m.id, %(day)s, k.kind, 'pending', 0, '', '', %(now)s"
        " FROM coachhub_membership m CROSS JOIN unnest(%(kinds)s::text[]) AS k(kind)"
        " WHERE m.organization_id = %(org)s AND m.is_active"
        "   AND ((k.kind = %(daily)s AND (m.role = %(supervisor)s OR EXISTS ("
        "        SELECT 1 FROM coachhub_teamlead l"
        "         WHERE l.organization_id = m.organization_id AND l.membership_id = m.id)))"
        "     OR (k.kind = %(weekly)s AND m.role = %(agent)s))"
        "   AND NOT EXISTS (SELECT 1 FROM coaching_digestoptout o"
        "     WHERE o.organization_id = m.organization_id AND o.membership_id = m.id"
        "       AND o.kind = k.kind)"
        # Rows already planned are left out before the insert: ON CONFLICT would wait for a
        # worker that is sending one of them (its claim updated the row); it stays the net
        # for two plans racing.
        "   AND NOT EXISTS (SELECT 1 FROM coaching_digest d"
        "     WHERE d.organization_id = m.organization_id AND d.membership_id = m.id"
        "       AND d.day = %(day)s AND d.kind = k.kind)"
        " ON CONFLICT ON CONSTRAINT digest_once DO NOTHING"
    )
    params = {
        "org": organization.pk, "day": day, "now": timezone.now(), "kinds": kinds,
        "daily": DigestKind.DAILY.value, "weekly": DigestKind.WEEKLY.value,
        "supervisor": Role.SUPERVISOR.value, "agent": Role.AGENT.value,
    }  # fmt: skip
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount


# Claim-and-mark in one statement: SKIP LOCKED leaves a row another worker is sending alone, the
# status check one that was sent (or emptied) meanwhile. Final only when the caller commits.
CLAIM_SQL = (
    "UPDATE coaching_digest SET status = %(status)s, attempts = attempts + 1,"
    " subject = %(subject)s, sent_at = %(sent_at)s WHERE id = (SELECT id FROM coaching_digest"
    " WHERE organization_id = %(org)s AND id = %(id)s AND status = 'pending'"
    " FOR UPDATE SKIP LOCKED) RETURNING id"
)


def _claim(organization_id: int, digest_id: int, status: str, subject: str = "") -> bool:
    with connection.cursor() as cur:
        cur.execute(
            CLAIM_SQL,
            {"status": status, "subject": subject[:200],
             "sent_at": timezone.now() if status == DigestStatus.SENT else None,
             "org": organization_id, "id": digest_id},
        )  # fmt: skip
        return cur.fetchone() is not None


def _failed(organization_id: int, digest_id: int, exc: Exception) -> None:
    log.warning("digest %s failed, will retry: %s", digest_id, exc)
    with tenant_context(organization_id):
        Digest.objects.filter(
            organization_id=organization_id, pk=digest_id, status=DigestStatus.PENDING
        ).update(attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:500])


def digest_send(organization_id: int, digest_id: int, content, *, mail_connection=None) -> str:
    """Send one digest whose ``content`` was read beforehand (its own transaction): ``sent``,
    ``empty`` (content ``None``: nothing to report), ``skipped`` (another worker holds it or it
    is done) or ``failed`` (left pending for the next run)."""
    try:
        message = digest_message(content) if content is not None else None
        with tenant_context(organization_id):
            if message is None:
                return (
                    "empty" if _claim(organization_id, digest_id, DigestStatus.EMPTY) else "skipped"
                )
            if not _claim(organization_id, digest_id, DigestStatus.SENT, content.subject):
                return "skipped"
            message.connection = mail_connection
            message.send()  # an error rolls the claim back: the row stays pending
            return "sent"
    except Exception as exc:
        _failed(organization_id, digest_id, exc)
        return "failed"


def digests_run(organization_id: int, *, now=None, limit: int = 5000) -> dict[str, int]:
    """Plan the due day's digests, read every pending one's content at once, then claim, send
    and commit them one by one over one SMTP connection."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    with tenant_context(organization_id):
        organization = Organization.objects.get(pk=organization_id)
        day = due_day(organization, now)
        if day is not None:
            counts["planned"] = digests_plan(organization, day)
        pending = list(
            Digest.objects.filter(
                organization_id=organization_id,
                status=DigestStatus.PENDING,
                attempts__lt=MAX_ATTEMPTS,
                created_at__gte=now - timedelta(days=2),
            )
            .select_related("membership__user")
            .order_by("id")[:limit]
        )
        groups: dict[tuple, list[Digest]] = defaultdict(list)
        for d in pending:
            d.membership.organization = organization
            groups[(d.day, d.kind)].append(d)
        contents = {}
        for (d_day, kind), digests in groups.items():
            by_member = digests_content(organization, [d.membership for d in digests], d_day, kind)
            contents.update({d.pk: by_member.get(d.membership_id) for d in digests})
    if not pending:
        return counts
    # A bounded SMTP timeout: a stalled server must not hold a worker process forever.
    mail = get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or 30)
    try:
        mail.open()
        for d in pending:
            outcome = digest_send(organization_id, d.pk, contents[d.pk], mail_connection=mail)
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
    best: list = field(default_factory=list)
    worst: list = field(default_factory=list)
    alerts: list = field(default_factory=list)
    alert_count: int = 0
    follow_ups: list = field(default_factory=list)  # micro-coaching notes' (Rows)
    # 1:1 sessions whose follow-up is due by the end of today (Rows: agent_name, due, url).
    session_follow_ups: list = field(default_factory=list)
    follow_up_count: int = 0  # both kinds, all of them (the lists show the first few)
    links: dict = field(default_factory=dict)
    # Recognition's kudos line (public kudos of the teams; all of an agent's own).
    kudos: dict = field(default_factory=lambda: {"count": 0, "latest": []})

    @property
    def recipient(self) -> str:
        return self.member.user.email


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


def _counters(row: dict | None) -> dict:
    return {c: (row or {}).get(c) or 0 for c in COUNTERS}


def _link(name: str, organization, **kwargs) -> str:
    return settings.SITE_URL + reverse(name, kwargs={"org": organization.slug, **kwargs})


class Row(SimpleNamespace):
    """One line of a digest (an answer, an alert, a follow-up, a kudos): the few columns the
    e-mail shows, read with ``values()`` — the digest of a whole organization is read at once,
    and compiling model queries with their joins cost more than the rows."""


def _names(org_id: int, ids) -> dict[int, str]:
    """Colleagues' names as ``Membership.display_name`` gives them (full name, else e-mail)."""
    out = {}
    for pk, first, last, email in Membership.objects.filter(
        organization_id=org_id, pk__in=set(ids)
    ).values_list("id", "user__first_name", "user__last_name", "user__email"):
        out[pk] = f"{first} {last}".strip() or email
    return out


def _ts(dt) -> float:
    return dt.timestamp() if dt is not None else float("inf")


def _best_key(r):  # ORDER BY stars DESC, submitted_at DESC (NULLS FIRST), id DESC
    return (-r.stars, -_ts(r.submitted_at), -r.pk)


def _worst_key(r):  # ORDER BY stars ASC, submitted_at DESC (NULLS FIRST), id DESC
    return (r.stars, -_ts(r.submitted_at), -r.pk)


def _ranked(qs, partition: str, order_by: list, limit: int, fields) -> dict[int, tuple[int, list]]:
    """The first ``limit`` rows per ``partition`` value (as ``Row``) and how many there are,
    in one query."""
    rows = (
        qs.values(*fields)
        .annotate(
            part_id=F(partition),
            rank=Window(RowNumber(), partition_by=[F(partition)], order_by=order_by),
            part_count=Window(Count("id"), partition_by=[F(partition)]),
        )
        .filter(rank__lte=limit)
        .order_by("part_id", "rank")
    )
    out: dict[int, tuple[int, list]] = {}
    for row in rows:
        count, items = out.setdefault(row["part_id"], (row["part_count"], []))
        items.append(Row(pk=row["id"], **{f: row[f] for f in fields if f != "id"}))
    return out


def _responses_ranked(org_id: int, start: date, end: date, key: str, ids) -> dict[int, list]:
    """Per ``key`` (team_id or agent_id) in ``ids``: the candidates for best and worst, in one
    query. The 3 best of a group of teams are among their teams' 3 best; the 3 worst that are
    not among the best are among their teams' 6 worst."""
    n = SHOWN["responses"]
    qs = (
        Response.objects.filter(
            organization_id=org_id,
            **{f"{key}__in": list(ids)},
            confirmed=True,
            excluded=False,
            stars__isnull=False,
            interaction__local_day__gte=start,
            interaction__local_day__lte=end,
            interaction__mode=Mode.LIVE,
            request__kind=RequestKind.INITIAL,
        )
        .exclude(comment="")
        .values("id", key, "agent_id", "stars", "comment", "submitted_at")
        .annotate(
            best_rank=Window(
                RowNumber(),
                partition_by=[F(key)],
                order_by=[F("stars").desc(), F("submitted_at").desc(), F("id").desc()],
            ),
            worst_rank=Window(
                RowNumber(),
                partition_by=[F(key)],
                order_by=[F("stars").asc(), F("submitted_at").desc(), F("id").desc()],
            ),
        )
        .filter(Q(best_rank__lte=n) | Q(worst_rank__lte=2 * n))
    )
    out: dict[int, list] = defaultdict(list)
    for r in qs:
        out[r[key]].append(
            Row(pk=r["id"], agent_id=r["agent_id"], stars=r["stars"], comment=r["comment"],
                submitted_at=r["submitted_at"])
        )  # fmt: skip
    return out


def _best_worst(candidates: list) -> tuple[list, list]:
    n = SHOWN["responses"]
    unique = list({r.pk: r for r in candidates}.values())
    best = sorted(unique, key=_best_key)[:n]
    chosen = {r.pk for r in best}
    worst = sorted((r for r in unique if r.pk not in chosen), key=_worst_key)[:n]
    return best, worst


def _kudos_rows(groups: list[dict]) -> dict:
    """Recognition's kudos line for a group of teams (or one agent): counts add up, the newest
    few of all the groups' newest."""
    latest = sorted(
        (k for g in groups for k in g["latest"]),
        key=lambda k: (k["created_at"], k["id"]),
        reverse=True,
    )[: SHOWN["kudos"]]
    return {
        "count": sum(g["count"] for g in groups),
        "latest": [Row(pk=k["id"], behaviour=k["behaviour"], giver_id=k["giver_id"],
                       recipient_id=k["recipient_id"]) for k in latest],
    }  # fmt: skip


def session_follow_ups_due_by(org_id: int, supervisor_ids, until) -> dict[int, tuple[int, list]]:
    """1:1 follow-ups due (``selectors_sessions.follow_ups_due_qs``'s rule) for many supervisors
    at once; the first few per supervisor."""
    return _ranked(
        follow_ups_due_qs(org_id, supervisor_ids, until),
        "supervisor_id",
        [F("follow_up_due_at").asc(), F("id").asc()],
        SHOWN["follow_ups"],
        ("id", "public_id", "agent_id", "follow_up_due_at", "acknowledged_at", "shared_at",
         "created_at"),
    )  # fmt: skip


def digests_content(
    organization, members: list[Membership], day: date, kind: str
) -> dict[int, DigestContent | None]:
    """Every listed member's digest for ``day`` (membership id → content; ``None``: nothing to
    report, a supervisor who leads no team), read from rollups (numbers) and a few ranked rows,
    in a number of queries that does not grow with the number of members."""
    if kind == DigestKind.WEEKLY:
        return _weekly(organization, members, day)
    return _daily(organization, members, day)


def digest_content(member: Membership, day: date, kind: str) -> DigestContent | None:
    """One member's digest (the preview page)."""
    return digests_content(member.organization, [member], day, kind).get(member.pk)


def _base_links(organization) -> dict:
    return {
        "dashboard": _link("feedback:insights", organization),
        "settings": _link("coaching:digest_preview", organization),
    }


def _name_rows(org_id: int, contents) -> None:
    """Put the colleagues' names on every row of ``contents`` (one query for all of them)."""
    rows = [
        r
        for c in contents
        for r in (*c.best, *c.worst, *c.alerts, *c.follow_ups, *c.session_follow_ups,
                  *c.kudos["latest"])
    ]  # fmt: skip
    ids = {getattr(r, f) for r in rows for f in ("agent_id", "giver_id", "recipient_id")
           if hasattr(r, f)}  # fmt: skip
    names = _names(org_id, ids) if ids else {}
    for r in rows:
        for f in ("agent", "giver", "recipient"):
            if hasattr(r, f"{f}_id"):
                setattr(r, f"{f}_name", names.get(getattr(r, f"{f}_id"), ""))


def _weekly(organization, members, day) -> dict[int, DigestContent | None]:
    org_id = organization.pk
    start = day - timedelta(days=6)
    ids = [m.pk for m in members]
    sums = {
        r["agent_id"]: r
        for r in DailyRollup.objects.filter(
            organization_id=org_id, agent_id__in=ids, day__gte=start - timedelta(days=7),
            day__lte=day,
        )
        .values("agent_id")
        .annotate(
            **{f"cur_{c}": Sum(c, filter=Q(day__gte=start), default=0) for c in COUNTERS},
            **{f"prev_{c}": Sum(c, filter=Q(day__lt=start), default=0) for c in COUNTERS},
        )
    }  # fmt: skip
    responses = _responses_ranked(org_id, start, day, "agent_id", ids)
    kudos = digest_kudos_grouped(organization, start=start, end=day, agent_ids=ids)
    links = _base_links(organization)
    out: dict[int, DigestContent | None] = {}
    for m in members:
        row = sums.get(m.pk, {})
        cur = {c: row.get(f"cur_{c}") or 0 for c in COUNTERS}
        prev = {c: row.get(f"prev_{c}") or 0 for c in COUNTERS}
        best, worst = _best_worst(responses.get(m.pk, []))
        subject = (
            f"Your week at {organization.name}: {cur['responses']} responses, "
            f"{metrics.fmt('avg_stars', metrics.avg_stars(cur))} stars"
        )
        out[m.pk] = DigestContent(
            m, organization, DigestKind.WEEKLY, day, start, subject,
            rows=[{"name": "You", "metrics": _metric_rows(cur, prev)}], best=best, worst=worst,
            links=links, kudos=_kudos_rows([kudos[m.pk]] if m.pk in kudos else []),
        )  # fmt: skip
    _name_rows(org_id, out.values())
    return out


def _daily(organization, members, day) -> dict[int, DigestContent | None]:
    org_id = organization.pk
    ids = [m.pk for m in members]
    led: dict[int, list[int]] = defaultdict(list)
    team_names: dict[int, str] = {}
    for member_id, team_id, team_name in TeamLead.objects.filter(
        organization_id=org_id, membership_id__in=ids
    ).values_list("membership_id", "team_id", "team__name"):
        led[member_id].append(team_id)
        team_names[team_id] = team_name
    out: dict[int, DigestContent | None] = {m.pk: None for m in members if not led.get(m.pk)}
    members = [m for m in members if led.get(m.pk)]
    if not members:
        return out
    team_ids = sorted(team_names)
    before = day - timedelta(days=1)
    by_team = {
        (r["team_id"], r["day"]): r
        for r in DailyRollup.objects.filter(
            organization_id=org_id, team_id__in=team_ids, day__in=[day, before]
        )
        .values("team_id", "day")
        .annotate(**{c: Sum(c) for c in COUNTERS})
    }
    responses = _responses_ranked(org_id, day, day, "team_id", team_ids)
    alerts = _ranked(
        Alert.objects.filter(organization_id=org_id, team_id__in=team_ids, state=AlertState.OPEN),
        "team_id",
        [F("created_at").desc(), F("id").desc()],
        SHOWN["alerts"],
        ("id", "agent_id", "reason", "created_at"),
    )
    # Follow-ups due by the end of today (the digest is read the day after ``day``).
    end_of_today = datetime.combine(day + timedelta(days=2), time(0), tzinfo=organization.tz)
    follow_ups = _ranked(
        FollowUp.objects.filter(
            organization_id=org_id, supervisor_id__in=ids, done_at__isnull=True,
            due_at__lt=end_of_today,
        ),
        "supervisor_id",
        [F("due_at").asc(), F("id").asc()],
        SHOWN["follow_ups"],
        ("id", "note_id", "due_at", "note__agent_id"),
    )  # fmt: skip
    for _n, items in follow_ups.values():
        for f in items:
            f.agent_id = f.__dict__.pop("note__agent_id")
    sessions = session_follow_ups_due_by(org_id, ids, end_of_today)
    kudos = digest_kudos_grouped(organization, start=day, end=day, team_ids=team_ids)
    links = {**_base_links(organization), "alerts": _link("coaching:alert_list", organization)}

    for m in members:
        mine = sorted(led[m.pk])
        rows = []
        total_cur: dict = {}
        total_prev: dict = {}
        for tid in mine:
            cur = _counters(by_team.get((tid, day)))
            prev = _counters(by_team.get((tid, before)))
            total_cur = metrics.add(total_cur, cur)
            total_prev = metrics.add(total_prev, prev)
            rows.append({"name": team_names.get(tid, ""), "metrics": _metric_rows(cur, prev)})
        if len(rows) > 1:
            rows.insert(
                0, {"name": "All your teams", "metrics": _metric_rows(total_cur, total_prev)}
            )
        best, worst = _best_worst([r for tid in mine for r in responses.get(tid, [])])
        team_alerts = [alerts[tid] for tid in mine if tid in alerts]
        open_alerts = sorted(
            (a for _n, items in team_alerts for a in items),
            key=lambda a: (a.created_at, a.pk),
            reverse=True,
        )[: SHOWN["alerts"]]
        notes_n, notes = follow_ups.get(m.pk, (0, []))
        sessions_n, due_sessions = sessions.get(m.pk, (0, []))
        for s in due_sessions:
            s.held = s.acknowledged_at or s.shared_at or s.created_at
            s.url = _link("coaching:session_detail", organization, session_id=s.public_id)
        volume = total_cur.get("interactions", 0)
        subject = (
            f"Yesterday at {organization.name}: {volume} interactions, "
            f"{metrics.fmt('avg_stars', metrics.avg_stars(total_cur))} stars"
        )
        out[m.pk] = DigestContent(
            m, organization, DigestKind.DAILY, day, day, subject, rows,
            best=best, worst=worst, alerts=open_alerts,
            alert_count=sum(n for n, _items in team_alerts),
            follow_ups=notes, session_follow_ups=due_sessions,
            follow_up_count=notes_n + sessions_n, links=links,
            kudos=_kudos_rows([kudos[tid] for tid in mine if tid in kudos]),
        )  # fmt: skip
    _name_rows(org_id, [c for c in out.values() if c is not None])
    return out


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
