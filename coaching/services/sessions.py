"""1:1 coaching sessions: a supervisor prepares one for one agent (saved items, a 30-day metric
snapshot agent vs team, ONE focus behaviour, a category with its prompts), shares it; the agent
adds a self-assessment and topics and acknowledges; the supervisor records GROW notes, kudos to
open and close, action items and private coach-only notes; a follow-up is due 1–2 days after a
session with developmental content; the session is closed; the agent may rate it.

States: draft → shared → acknowledged → followed_up → closed (acknowledged → closed directly
only when there was no developmental content). Every other move is refused. A transition is a
conditional UPDATE on the expected state, so two concurrent clicks move it once.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from coachhub.core.notifications import notify
from coachhub.core.outbox import event_record
from coachhub.tenancy.models import Membership
from feedback import metrics
from feedback.selectors import rollup_totals

from ..models import FocusBehaviour
from ..models_sessions import (
    ActionItem,
    CoachingSession,
    SessionCategory,
    SessionItem,
    SessionPrivateNote,
    SessionState,
)
from ..selectors_sessions import saved_for_session
from .notes import follow_up_due, saved_toggle

S = SessionState
TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.SHARED},
    S.SHARED: {S.ACKNOWLEDGED},
    S.ACKNOWLEDGED: {S.FOLLOWED_UP, S.CLOSED},
    S.FOLLOWED_UP: {S.CLOSED},
    S.CLOSED: set(),
}
STAMP = {
    S.SHARED: "shared_at",
    S.ACKNOWLEDGED: "acknowledged_at",
    S.FOLLOWED_UP: "followed_up_at",
    S.CLOSED: "closed_at",
}
SNAPSHOT_DAYS = 30
SNAPSHOT_METRICS = ("avg_stars", "csat", "fcr", "nps", "response_rate")
MAX_TEXT = 5000
EVENT_SESSION_SHARED = "coaching.session_shared"
EVENT_SESSION_CLOSED = "coaching.session_closed"


class SessionInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def session_path(session: CoachingSession) -> str:
    return f"/o/{session.organization.slug}/coaching/sessions/{session.public_id}/"


def may_coach(supervisor: Membership, agent: Membership) -> bool:
    if agent.pk == supervisor.pk or not agent.is_agent:
        return False
    if supervisor.is_admin:
        return True
    return supervisor.is_supervisor and agent.team_id in supervisor.led_team_ids


def metric_snapshot(agent: Membership, today) -> dict:
    """The agent's KPIs vs the team's over the last 30 local days, today included (rollups)."""
    start, end = today - timedelta(days=SNAPSHOT_DAYS - 1), today
    own = metrics.compute(
        rollup_totals(agent.organization, start=start, end=end, agent_ids=[agent.pk])
    )
    team = (
        metrics.compute(
            rollup_totals(agent.organization, start=start, end=end, team_ids=[agent.team_id])
        )
        if agent.team_id
        else {}
    )
    rows = []
    for m in SNAPSHOT_METRICS:
        rows.append(
            {
                "metric": m,
                "label": metrics.METRIC_LABELS[m],
                "agent": own.get(m),
                "agent_n": own.get(f"{m}_n", 0),
                "team": team.get(m),
                "team_n": team.get(f"{m}_n", 0),
                "agent_text": metrics.fmt(m, own.get(m)),
                "team_text": metrics.fmt(m, team.get(m)),
            }
        )
    return {"start": start.isoformat(), "end": end.isoformat(), "rows": rows}


def _clean(value, field: str, errors: dict, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        errors[field] = f"At most {limit} characters."
    return value


def _one_behaviour(organization, behaviour_ids, errors: dict) -> FocusBehaviour | None:
    ids = [b for b in (behaviour_ids or []) if str(b).strip()]
    if len(ids) > 1:
        errors["behaviour"] = "One focus behaviour per session: choose only one."
        return None
    if not ids:
        return None
    behaviour = (
        FocusBehaviour.objects.filter(
            organization_id=organization.pk, public_id=ids[0], is_active=True
        ).first()
        if _is_uuid(ids[0])
        else None
    )
    if behaviour is None:
        errors["behaviour"] = "Choose a focus behaviour from the catalogue."
    return behaviour


def _is_uuid(value) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _category(organization, raw, errors: dict, keep=None) -> SessionCategory | None:
    """An active category of the organization (``keep``: the session's current category, kept
    even after an admin deactivated it)."""
    if not raw:
        return None
    category = None
    if _is_uuid(raw):
        category = SessionCategory.objects.filter(
            organization_id=organization.pk, public_id=raw
        ).first()
        if category is not None and not category.is_active and category != keep:
            category = None
    if category is None:
        errors["category"] = "Choose an active category."
    return category


@transaction.atomic
def session_prepare(
    *,
    supervisor: Membership,
    agent: Membership,
    behaviour_ids=(),
    category_id=None,
    purpose: str = "",
    scheduled_for=None,
    now=None,
) -> CoachingSession:
    now = now or timezone.now()
    errors: dict[str, str] = {}
    if not may_coach(supervisor, agent):
        errors["agent"] = "Choose an agent of a team you lead."
    behaviour = _one_behaviour(supervisor.organization, behaviour_ids, errors)
    category = _category(supervisor.organization, category_id, errors)
    purpose = _clean(purpose, "purpose", errors)
    if errors:
        raise SessionInvalid(errors)
    today = timezone.localdate(now, supervisor.organization.tz)
    session = CoachingSession.objects.create(
        organization_id=supervisor.organization_id,
        supervisor=supervisor,
        agent=agent,
        behaviour=behaviour,
        category=category,
        purpose=purpose,
        prompts=category.prompts if category else "",
        scheduled_for=scheduled_for,
        metric_snapshot=metric_snapshot(agent, today),
        created_at=now,
        updated_at=now,
    )
    # Items the agent saved for their 1:1, and the supervisor's saved items about this agent
    # (responses, notes, QA reviews). Who sees a review item is decided when it is shown.
    SessionItem.objects.bulk_create(
        [
            SessionItem(
                organization_id=agent.organization_id,
                session=session,
                saved_by_id=s.member_id,
                response_id=s.response_id,
                note_id=s.note_id,
                review_id=s.review_id,
            )
            for s in saved_for_session(supervisor, agent).order_by("created_at", "id")
        ]
    )
    return session


def _require_supervisor(session: CoachingSession, member: Membership) -> None:
    if member.pk != session.supervisor_id:
        raise SessionInvalid({"session": "Only the session's coach can do this."})


def transition(session: CoachingSession, to: str, actor: Membership, now=None) -> None:
    """Move the session to ``to`` if the state machine and the actor allow it."""
    now = now or timezone.now()
    if to not in TRANSITIONS.get(session.state, set()):
        raise SessionInvalid(
            {"state": f"A {session.get_state_display().lower()} session cannot become {to}."}
        )
    if to == S.ACKNOWLEDGED:
        if actor.pk != session.agent_id:
            raise SessionInvalid({"state": "Only the agent acknowledges the session."})
    else:
        _require_supervisor(session, actor)
    if to == S.CLOSED and session.state == S.ACKNOWLEDGED and session.developmental:
        raise SessionInvalid(
            {"state": "This session had developmental feedback: follow up before closing."}
        )
    updates = {"state": to, STAMP[to]: now, "updated_at": now}
    with transaction.atomic():
        moved = CoachingSession.objects.filter(
            organization_id=session.organization_id, pk=session.pk, state=session.state
        ).update(**updates)
        if not moved:
            raise SessionInvalid({"state": "The session changed meanwhile: reload the page."})
        for k, v in updates.items():
            setattr(session, k, v)
        if to == S.SHARED:
            # The agent's bell (and e-mail when opted in): purpose only, never private notes.
            notify(
                session.agent,
                "coaching_session",
                f"{session.supervisor.display_name} prepared your 1:1",
                body="Add your self-assessment and topics before the meeting.",
                url=session_path(session),
            )
            event_record(
                session.organization_id,
                EVENT_SESSION_SHARED,
                {"session": str(session.public_id), "agent_id": session.agent_id},
            )
        elif to == S.ACKNOWLEDGED:
            notify(
                session.supervisor,
                "coaching_session",
                f"{session.agent.display_name} acknowledged the 1:1",
                url=session_path(session),
            )
        elif to == S.CLOSED:
            event_record(
                session.organization_id,
                EVENT_SESSION_CLOSED,
                {
                    "session": str(session.public_id),
                    "agent_id": session.agent_id,
                    "supervisor_id": session.supervisor_id,
                },
            )


@transaction.atomic
def session_update_prep(
    session, actor, *, behaviour_ids=(), category_id=None, purpose="", scheduled_for=None
):
    _require_supervisor(session, actor)
    if session.state not in (S.DRAFT, S.SHARED):
        raise SessionInvalid({"state": "The preparation is fixed once acknowledged."})
    errors: dict[str, str] = {}
    behaviour = _one_behaviour(session.organization, behaviour_ids, errors)
    category = _category(session.organization, category_id, errors, keep=session.category)
    purpose = _clean(purpose, "purpose", errors)
    if errors:
        raise SessionInvalid(errors)
    if category != session.category or session.prompts is None:
        # A new category brings its template as it is now; the same one keeps the copy.
        session.prompts = category.prompts if category else ""
    session.behaviour, session.category, session.purpose = behaviour, category, purpose
    session.scheduled_for = scheduled_for
    session.updated_at = timezone.now()
    session.save(
        update_fields=[
            "behaviour",
            "category",
            "prompts",
            "purpose",
            "scheduled_for",
            "updated_at",
        ]
    )


@transaction.atomic
def session_agent_prepare(session, agent, *, self_assessment: str, topics: str) -> None:
    if agent.pk != session.agent_id:
        raise SessionInvalid({"session": "Only the agent adds a self-assessment."})
    if session.state not in (S.SHARED, S.ACKNOWLEDGED):
        raise SessionInvalid({"state": "The self-assessment is open while the session is shared."})
    errors: dict[str, str] = {}
    session.self_assessment = _clean(self_assessment, "self_assessment", errors)
    session.agent_topics = _clean(topics, "agent_topics", errors)
    if errors:
        raise SessionInvalid(errors)
    session.updated_at = timezone.now()
    session.save(update_fields=["self_assessment", "agent_topics", "updated_at"])


GROW_FIELDS = (
    "grow_goal",
    "grow_reality",
    "grow_options",
    "grow_will",
    "kudos_open",
    "kudos_close",
)


@transaction.atomic
def session_record(session, actor, data: dict, developmental: bool, now=None) -> None:
    """GROW notes, kudos to open and close, developmental content (→ follow-up due)."""
    _require_supervisor(session, actor)
    if session.state == S.CLOSED:
        raise SessionInvalid({"state": "A closed session cannot change."})
    now = now or timezone.now()
    errors: dict[str, str] = {}
    for f in GROW_FIELDS:
        setattr(session, f, _clean(data.get(f), f, errors))
    if errors:
        raise SessionInvalid(errors)
    session.developmental = bool(developmental)
    if session.developmental and session.follow_up_due_at is None:
        session.follow_up_due_at = follow_up_due(now)
    if not session.developmental and session.followed_up_at is None:
        session.follow_up_due_at = None
    session.updated_at = now
    session.save(update_fields=[*GROW_FIELDS, "developmental", "follow_up_due_at", "updated_at"])


@transaction.atomic
def private_note_add(session, actor, body: str) -> SessionPrivateNote:
    _require_supervisor(session, actor)
    errors: dict[str, str] = {}
    body = _clean(body, "body", errors)
    if not body and not errors:
        errors["body"] = "Write the note."
    if errors:
        raise SessionInvalid(errors)
    return SessionPrivateNote.objects.create(
        organization_id=session.organization_id, session=session, author=actor, body=body
    )


@transaction.atomic
def action_add(session, actor, *, text: str, owner_id, due_date=None) -> ActionItem:
    if actor.pk not in (session.supervisor_id,):
        raise SessionInvalid({"session": "Only the session's coach adds action items."})
    if session.state == S.CLOSED:
        raise SessionInvalid({"state": "A closed session cannot change."})
    errors: dict[str, str] = {}
    text = _clean(text, "text", errors, 300)
    if not text and "text" not in errors:
        errors["text"] = "Describe the action."
    owners = {
        str(session.agent.public_id): session.agent,
        str(session.supervisor.public_id): session.supervisor,
    }
    owner = owners.get(str(owner_id or ""))
    if owner is None:
        errors["owner"] = "The agent or the coach owns it."
    if errors:
        raise SessionInvalid(errors)
    return ActionItem.objects.create(
        organization_id=session.organization_id,
        session=session,
        text=text,
        owner=owner,
        due_date=due_date,
    )


@transaction.atomic
def action_toggle(action: ActionItem, actor: Membership) -> None:
    session = action.session
    if actor.pk not in (session.supervisor_id, session.agent_id):
        raise SessionInvalid({"session": "Only the agent and the coach tick action items."})
    ActionItem.objects.filter(organization_id=action.organization_id, pk=action.pk).update(
        done_at=None if action.done_at else timezone.now()
    )


@transaction.atomic
def session_rate(session, agent, rating, comment: str = "", now=None) -> None:
    if agent.pk != session.agent_id:
        raise SessionInvalid({"session": "Only the agent rates the session."})
    if session.state in (S.DRAFT, S.SHARED):
        raise SessionInvalid({"rating": "Rate the session after it took place."})
    if session.rated_at is not None:
        raise SessionInvalid({"rating": "You already rated this session."})
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    errors: dict[str, str] = {}
    if not 1 <= rating <= 5:
        errors["rating"] = "Choose 1 to 5."
    comment = _clean(comment, "comment", errors, 1000)
    if errors:
        raise SessionInvalid(errors)
    now = now or timezone.now()
    rated = CoachingSession.objects.filter(
        organization_id=session.organization_id, pk=session.pk, rated_at__isnull=True
    ).update(rating=rating, rating_comment=comment, rated_at=now)
    if not rated:
        raise SessionInvalid({"rating": "You already rated this session."})
    session.rating, session.rating_comment, session.rated_at = rating, comment, now


def session_follow_ups_remind(organization_id: int, now=None) -> int:
    """Bell reminder (once each) for sessions whose follow-up became due."""
    now = now or timezone.now()
    n = 0
    due = (
        CoachingSession.objects.select_related("agent__user", "supervisor", "organization")
        .filter(
            organization_id=organization_id,
            follow_up_due_at__lte=now,
            followed_up_at__isnull=True,
            follow_up_reminded_at__isnull=True,
        )
        .exclude(state=S.CLOSED)
    )
    for session in due[:500]:
        with transaction.atomic():
            claimed = CoachingSession.objects.filter(
                organization_id=organization_id, pk=session.pk, follow_up_reminded_at__isnull=True
            ).update(follow_up_reminded_at=now)
            if claimed:
                notify(
                    session.supervisor,
                    "coaching_follow_up",
                    f"Follow up on the 1:1 with {session.agent.display_name}",
                    body="Reconvene: empathise, reassure, express confidence, offer support.",
                    url=session_path(session),
                )
                n += 1
    return n


# --- QA reviews saved for a 1:1 ------------------------------------------------------------------


class SaveNotAllowed(Exception):
    """The member may see the review but is not someone who brings it to a 1:1."""


def may_save_review(member: Membership, review) -> bool:
    """The reviewed agent saves their own review; a supervisor (or admin) who coaches the
    reviewed agent saves it for that agent's next 1:1. Reviewers who coach nobody do not."""
    if member.is_agent:
        return review.agent_id == member.pk
    return may_coach(member, review.agent)


def review_save_toggle(member: Membership, review) -> bool:
    """Save (True) or un-save (False) a QA review for a 1:1. ``review`` comes from qa's
    ``get_review_for(member, ...)``, so the member may see it (another organization's or
    another agent's review is a 404 before this)."""
    from qa.models import ReviewStatus

    if review.status != ReviewStatus.SUBMITTED:
        raise SessionInvalid({"review": "Only a submitted review can be saved for a 1:1."})
    if not may_save_review(member, review):
        raise SaveNotAllowed("Only the reviewed agent or their coach saves a review for a 1:1.")
    return saved_toggle(member, review=review)


# --- coaching categories and their templates (admins) --------------------------------------------

MAX_PROMPTS = 20
MAX_PROMPT = 300


def _category_values(organization, values: dict, category=None) -> tuple[dict, dict]:
    errors: dict[str, str] = {}
    name = " ".join((values.get("name") or "").split())
    if not name:
        errors["name"] = "Name the category."
    elif len(name) > 60:
        errors["name"] = "At most 60 characters."
    elif (
        SessionCategory.objects.filter(organization_id=organization.pk, name__iexact=name)
        .exclude(pk=category.pk if category else None)
        .exists()
    ):
        errors["name"] = "A category with this name exists."
    raw = values.get("prompts") or ""
    prompts = [line.strip() for line in raw.splitlines() if line.strip()]
    too_long = [i for i, p in enumerate(prompts, 1) if len(p) > MAX_PROMPT]
    if len(raw) > MAX_TEXT:
        errors["prompts"] = f"At most {MAX_TEXT} characters."
    elif too_long:
        errors["prompts"] = f"Prompt {too_long[0]} is longer than {MAX_PROMPT} characters."
    elif len(prompts) > MAX_PROMPTS:
        errors["prompts"] = f"At most {MAX_PROMPTS} prompts (one per line)."
    clean = {"name": name, "prompts": "\n".join(prompts)}
    if "is_active" in values:
        clean["is_active"] = bool(values["is_active"])
    return clean, errors


@transaction.atomic
def category_save(organization, values: dict, category: SessionCategory | None = None):
    """Create (``category`` None) or edit a coaching category and its template prompts. Every
    field is checked before anything is written; sessions keep the prompts they were prepared
    with."""
    clean, errors = _category_values(organization, values, category)
    if errors:
        raise SessionInvalid(errors)
    if category is None:
        return SessionCategory.objects.create(organization=organization, **clean)
    for k, v in clean.items():
        setattr(category, k, v)
    try:
        with transaction.atomic():
            category.save(update_fields=list(clean))
    except IntegrityError as exc:  # a concurrent rename to the same name
        raise SessionInvalid({"name": "A category with this name exists."}) from exc
    return category


@transaction.atomic
def category_set_active(category: SessionCategory, active: bool) -> None:
    """Deactivate (no longer offered when preparing; sessions keep it) or use again."""
    SessionCategory.objects.filter(organization_id=category.organization_id, pk=category.pk).update(
        is_active=active
    )
    category.is_active = active
