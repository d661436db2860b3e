"""Micro-coaching: a short note with one focus behaviour, praise or developmental, written from a
response, an alert or a QA review; the agent is notified, reads it beside the interaction and
acknowledges it (``coaching.note_acknowledged`` event); developmental notes schedule a follow-up
1–2 days later in the supervisor's inbox. Agents keep a "save for my next 1:1" list."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from coachhub.core.notifications import notify
from coachhub.core.outbox import event_record
from coachhub.tenancy.models import Membership

from ..models import CoachingNote, FocusBehaviour, FollowUp, NoteKind, SavedItem

EVENT_NOTE_ACKNOWLEDGED = "coaching.note_acknowledged"
EVENT_NOTE_CREATED = "coaching.note_created"
EVENT_ITEM_SAVED = "coaching.item_saved"
MAX_NOTE = 2000
MAX_REPLY = 2000
FOLLOW_UP_AFTER = timedelta(days=1)  # due the next day; the inbox shows it until day 2 ends


class NoteInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def note_path(note: CoachingNote) -> str:
    return f"/o/{note.organization.slug}/coaching/notes/{note.public_id}/"


def follow_up_due(created_at, organization_tz=None):
    """1–2 days later: the next working morning-ish moment, simply ``created + 1 day``, but never
    on a weekend (Friday's note is followed up on Monday)."""
    due = created_at + FOLLOW_UP_AFTER
    while due.weekday() >= 5:
        due += timedelta(days=1)
    return due


@transaction.atomic
def note_create(
    *,
    author: Membership,
    agent: Membership,
    kind: str,
    behaviour: FocusBehaviour | None,
    body: str,
    interaction=None,
    response=None,
    alert=None,
    review_public_id=None,
    now=None,
) -> CoachingNote:
    errors = {}
    body = (body or "").strip()
    if not body:
        errors["body"] = "Write the note."
    elif len(body) > MAX_NOTE:
        errors["body"] = f"At most {MAX_NOTE} characters."
    if kind not in NoteKind.values:
        errors["kind"] = "Choose praise or developmental."
    if behaviour is None or not behaviour.is_active:
        errors["behaviour"] = "Choose one focus behaviour."
    if errors:
        raise NoteInvalid(errors)
    now = now or timezone.now()
    note = CoachingNote.objects.create(
        organization_id=author.organization_id,
        author=author,
        agent=agent,
        kind=kind,
        behaviour=behaviour,
        body=body,
        interaction=interaction,
        response=response,
        alert=alert,
        review_public_id=review_public_id,
        created_at=now,
    )
    if kind == NoteKind.DEVELOPMENTAL:
        FollowUp.objects.create(
            organization_id=author.organization_id,
            note=note,
            supervisor=author,
            due_at=follow_up_due(now),
        )
    label = "Praise" if kind == NoteKind.PRAISE else "Coaching"
    notify(
        agent,
        "coaching_note",
        f"{label} from {author.display_name}: {behaviour.name}",
        body=body[:300],
        url=note_path(note),
    )
    event_record(
        author.organization_id,
        EVENT_NOTE_CREATED,
        {
            "note": str(note.public_id),
            "kind": kind,
            "behaviour": behaviour.name,
            "agent_id": agent.pk,
            "author_id": author.pk,
        },
    )
    return note


@transaction.atomic
def note_acknowledge(note: CoachingNote, agent: Membership, reply: str = "", now=None) -> bool:
    """The agent read it (once; a second acknowledge changes nothing)."""
    reply = (reply or "").strip()
    if len(reply) > MAX_REPLY:
        raise NoteInvalid({"reply": f"At most {MAX_REPLY} characters."})
    now = now or timezone.now()
    updated = CoachingNote.objects.filter(
        organization_id=note.organization_id, pk=note.pk, agent=agent, acknowledged_at__isnull=True
    ).update(acknowledged_at=now, reply=reply)
    if not updated:
        return False
    event_record(
        note.organization_id,
        EVENT_NOTE_ACKNOWLEDGED,
        {
            "note": str(note.public_id),
            "kind": note.kind,
            "behaviour_id": note.behaviour_id,
            "agent_id": note.agent_id,
            "author_id": note.author_id,
            "replied": bool(reply),
            # recognition's "acknowledged within a day" badge compares these two
            "created_at": note.created_at.isoformat(),
            "acknowledged_at": now.isoformat(),
        },
    )
    if reply:
        notify(
            note.author,
            "coaching_reply",
            f"{agent.display_name} replied to your note",
            body=reply[:300],
            url=note_path(note),
        )
    return True


@transaction.atomic
def follow_up_done(follow_up: FollowUp, now=None) -> bool:
    return bool(
        FollowUp.objects.filter(
            organization_id=follow_up.organization_id, pk=follow_up.pk, done_at__isnull=True
        ).update(done_at=now or timezone.now())
    )


def follow_ups_remind(organization_id: int, now=None) -> int:
    """Bell notification for follow-ups that became due (once each: ``reminded_at`` claims it)."""
    now = now or timezone.now()
    n = 0
    due = FollowUp.objects.select_related(
        "note__agent__user", "note__organization", "supervisor"
    ).filter(
        organization_id=organization_id,
        done_at__isnull=True,
        reminded_at__isnull=True,
        due_at__lte=now,
    )
    for follow_up in due[:500]:
        with transaction.atomic():
            claimed = FollowUp.objects.filter(
                organization_id=organization_id, pk=follow_up.pk, reminded_at__isnull=True
            ).update(reminded_at=now)
            if claimed:
                notify(
                    follow_up.supervisor,
                    "coaching_follow_up",
                    f"Follow up with {follow_up.note.agent.display_name}",
                    body=follow_up.note.body[:300],
                    url=note_path(follow_up.note),
                )
                n += 1
    return n


@transaction.atomic
def saved_toggle(member: Membership, *, response=None, note=None, review=None) -> bool:
    """Save (True) or un-save (False) a response, note or QA review for the member's next 1:1.
    Who may save what is the caller's check (views; ``sessions.review_save_toggle``)."""
    qs = SavedItem.objects.filter(organization_id=member.organization_id, member=member)
    if response is not None:
        qs = qs.filter(response=response)
    elif note is not None:
        qs = qs.filter(note=note)
    else:
        qs = qs.filter(review=review)
    if qs.exists():
        qs.delete()
        return False
    try:
        with transaction.atomic():
            SavedItem.objects.create(
                organization_id=member.organization_id,
                member=member,
                response=response,
                note=note,
                review=review,
            )
    except IntegrityError:
        return True  # a double click: saved once
    if member.is_agent:
        # recognition's "first item saved for a 1:1" badge listens for this (by name)
        event_record(member.organization_id, EVENT_ITEM_SAVED, {"member_id": member.pk})
    return True


@transaction.atomic
def behaviour_add(organization, name: str) -> FocusBehaviour:
    name = (name or "").strip()[:60]
    if not name:
        raise NoteInvalid({"name": "Enter a behaviour."})
    last = FocusBehaviour.objects.filter(organization=organization).order_by("-position").first()
    behaviour, created = FocusBehaviour.objects.get_or_create(
        organization=organization,
        name=name,
        defaults={"position": (last.position + 1) if last else 0},
    )
    if not created and not behaviour.is_active:
        behaviour.is_active = True
        behaviour.save(update_fields=["is_active"])
    return behaviour


@transaction.atomic
def behaviour_toggle(behaviour: FocusBehaviour) -> None:
    FocusBehaviour.objects.filter(
        organization_id=behaviour.organization_id, pk=behaviour.pk
    ).update(is_active=not behaviour.is_active)
