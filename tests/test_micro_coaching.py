"""Micro-coaching: a note from a response, an alert or a QA review with one focus behaviour;
the agent is notified, reads it beside the interaction, acknowledges with a reply (event);
developmental notes schedule a follow-up; the praise:criticism ratio and uncoached agents;
the agent's saved list; who may see what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from coachhub.core.models import Event, Notification
from coachhub.tenancy.context import tenant_context
from coaching import selectors as sel
from coaching.models import CoachingNote, FocusBehaviour, FollowUp, NoteKind, SavedItem
from coaching.services import notes as svc

from .coaching_helpers import answered, run_outbox

pytestmark = pytest.mark.django_db

NEW = "/o/acme/coaching/notes/new/"


def behaviour(org, name="Empathy"):
    with tenant_context(org):
        return FocusBehaviour.objects.get(organization=org, name=name)


def write_note(author, agent, kind=NoteKind.PRAISE, **kw):
    with tenant_context(author.organization):
        return svc.note_create(
            author=author,
            agent=agent,
            kind=kind,
            behaviour=behaviour(author.organization),
            body=kw.pop("body", "Nice save on that refund."),
            **kw,
        )


def test_supervisor_coaches_on_a_response_and_the_agent_is_notified(cast, client_for):
    response = answered(cast.org_a, cast.ann, 2, answers={"comment": "slow"})
    client = client_for(cast.sam)
    page = client.get(f"{NEW}?response={response.public_id}").content.decode()
    assert "slow" in page and "Empathy" in page
    r = client.post(
        NEW,
        {
            "response": str(response.public_id),
            "kind": "developmental",
            "behaviour": str(behaviour(cast.org_a, "Ownership").public_id),
            "body": "Offer the callback before the customer asks.",
        },
    )
    assert r.status_code == 302
    with tenant_context(cast.org_a):
        note = CoachingNote.objects.get(organization=cast.org_a)
        [bell] = Notification.objects.filter(recipient=cast.ann, kind="coaching_note")
        follow = FollowUp.objects.get(note=note)
    assert (note.agent_id, note.author_id, note.kind) == (cast.ann.pk, cast.sam.pk, "developmental")
    assert note.interaction_id == response.interaction_id and note.response_id == response.pk
    assert bell.url.endswith(f"/notes/{note.public_id}/")
    delta = follow.due_at - note.created_at
    assert timedelta(days=1) <= delta <= timedelta(days=3)  # 1–2 working days later
    # The agent reads it beside the interaction.
    page = client_for(cast.ann).get(f"/o/acme/coaching/notes/{note.public_id}/").content.decode()
    assert (
        "Offer the callback" in page and "slow" in page and response.interaction.external_id in page
    )


def test_note_form_names_every_bad_field(cast, client_for):
    response = answered(cast.org_a, cast.ann, 2)
    r = client_for(cast.sam).post(
        NEW, {"response": str(response.public_id), "kind": "meh", "behaviour": "", "body": ""}
    )
    body = r.content.decode()
    assert r.status_code == 400
    assert "Write the note." in body and "Choose praise or developmental." in body
    assert "Choose one focus behaviour." in body


def test_acknowledging_records_the_event_and_tells_the_author(cast, client_for):
    note = write_note(cast.sam, cast.ann, NoteKind.DEVELOPMENTAL)
    url = f"/o/acme/coaching/notes/{note.public_id}/acknowledge/"
    assert client_for(cast.andy).post(url, {"reply": "x"}).status_code == 404  # not Andy's
    assert client_for(cast.sam).post(url).status_code == 403  # may see, may not acknowledge
    client_for(cast.ann).post(url, {"reply": "Will do, thanks"})
    client_for(cast.ann).post(url, {"reply": "twice"})  # once only
    with tenant_context(cast.org_a):
        note.refresh_from_db()
        events = list(
            Event.objects.filter(organization=cast.org_a, type="coaching.note_acknowledged")
        )
        replies = Notification.objects.filter(recipient=cast.sam, kind="coaching_reply").count()
    assert note.acknowledged_at and note.reply == "Will do, thanks"
    assert len(events) == 1 and events[0].data["note"] == str(note.public_id)
    assert replies == 1


def test_follow_up_appears_when_due_and_can_be_marked_done(cast, client_for):
    note = write_note(cast.sam, cast.ann, NoteKind.DEVELOPMENTAL, body="Slow down on the recap")
    with tenant_context(cast.org_a):
        assert sel.follow_ups_for(cast.sam) == []
        later = timezone.now() + timedelta(days=4)
        [follow] = sel.follow_ups_for(cast.sam, now=later)
        assert svc.follow_ups_remind(cast.org_a.pk, now=later) == 1
        assert svc.follow_ups_remind(cast.org_a.pk, now=later) == 0  # once
        FollowUp.objects.filter(pk=follow.pk).update(due_at=timezone.now())
    page = client_for(cast.sam).get("/o/acme/coaching/alerts/").content.decode()
    assert "Reconvene with" in page and "Slow down on the recap" in page
    r = client_for(cast.sam).post(f"/o/acme/coaching/follow-ups/{follow.public_id}/done/")
    assert r.status_code == 302
    with tenant_context(cast.org_a):
        assert sel.follow_ups_for(cast.sam) == []
    assert note.kind == "developmental"


def test_praise_ratio_and_agents_without_coaching(cast, client_for):
    for _ in range(5):
        write_note(cast.sam, cast.ann, NoteKind.PRAISE)
    write_note(cast.sam, cast.ann, NoteKind.DEVELOPMENTAL)
    with tenant_context(cast.org_a):
        ratio = sel.praise_ratio(cast.sam)
        uncoached = sel.uncoached_agents(cast.sam)
    assert (ratio["praise"], ratio["developmental"], ratio["ratio"], ratio["on_target"]) == (
        5,
        1,
        5.0,
        True,
    )
    assert [a.pk for a in uncoached] == [cast.andy.pk]  # Zoe is not Sam's
    page = client_for(cast.sam).get("/o/acme/coaching/notes/").content.decode()
    assert "5 : 1" in page and "Andy" in page


def test_coach_on_this_from_an_alert_acknowledges_it(cast, client_for):
    from coaching.models import Alert

    answered(cast.org_a, cast.ann, 1)
    run_outbox(cast.org_a)
    with tenant_context(cast.org_a):
        alert = Alert.objects.get(organization=cast.org_a)
    client = client_for(cast.sam)
    assert client.get(f"{NEW}?alert={alert.public_id}").status_code == 200
    client.post(
        NEW,
        {
            "alert": str(alert.public_id),
            "kind": "praise",
            "behaviour": str(behaviour(cast.org_a).public_id),
            "body": "You stayed calm.",
        },
    )
    with tenant_context(cast.org_a):
        alert.refresh_from_db()
        note = CoachingNote.objects.get(organization=cast.org_a)
    assert note.alert_id == alert.pk and alert.state == "acknowledged"


def test_coach_on_this_from_a_qa_review(cast, client_for):
    from qa.hooks import review_actions

    from .qa_factories import make_interaction, make_review, make_scorecard

    card = make_scorecard(cast.org_a, cast.alice)
    review = make_review(cast.sam, make_interaction(cast.org_a, cast.ann), card)
    with tenant_context(cast.org_a):
        [action] = [a for a in review_actions(review, cast.sam) if a["label"] == "Coach on this"]
        assert not [a for a in review_actions(review, cast.ann) if a["label"] == "Coach on this"]
    client = client_for(cast.sam)
    assert client.get(action["url"]).status_code == 200
    client.post(
        NEW,
        {
            "review": str(review.public_id),
            "kind": "praise",
            "behaviour": str(behaviour(cast.org_a).public_id),
            "body": "Great QA score.",
        },
    )
    with tenant_context(cast.org_a):
        note = CoachingNote.objects.get(organization=cast.org_a)
    assert note.review_public_id == review.public_id and note.agent_id == cast.ann.pk


def test_agents_save_responses_and_notes_for_their_next_one_to_one(cast, client_for):
    response = answered(cast.org_a, cast.ann, 5, answers={"comment": "Loved it"})
    note = write_note(cast.sam, cast.ann)
    client = client_for(cast.ann)
    client.post(f"/o/acme/coaching/saved/responses/{response.public_id}/")
    client.post(f"/o/acme/coaching/notes/{note.public_id}/save/")
    page = client.get("/o/acme/coaching/saved/").content.decode()
    assert "Loved it" in page and "Nice save on that refund." in page
    assert "Saved for 1:1" in client.get("/o/acme/feedback/mine/").content.decode()
    client.post(f"/o/acme/coaching/saved/responses/{response.public_id}/")  # toggles off
    with tenant_context(cast.org_a):
        assert SavedItem.objects.filter(member=cast.ann).count() == 1
    # Another agent's response: 404; supervisors have no saved list.
    andy = answered(cast.org_a, cast.andy, 5)
    assert client.post(f"/o/acme/coaching/saved/responses/{andy.public_id}/").status_code == 404
    assert client_for(cast.sam).get("/o/acme/coaching/saved/").status_code == 403


def test_an_agent_never_sees_another_agents_notes(cast, client_for):
    note = write_note(cast.sam, cast.ann, body="Only for Ann")
    assert client_for(cast.andy).get(f"/o/acme/coaching/notes/{note.public_id}/").status_code == 404
    assert (
        "Only for Ann" not in client_for(cast.andy).get("/o/acme/coaching/notes/").content.decode()
    )
    assert "Only for Ann" in client_for(cast.ann).get("/o/acme/coaching/notes/").content.decode()
    assert client_for(cast.ann).get(NEW).status_code == 403  # agents do not write notes
    # Other organization: 404.
    assert client_for(cast.bob).get(f"/o/acme/coaching/notes/{note.public_id}/").status_code == 404


def test_supervisor_cannot_coach_an_agent_outside_their_teams(cast, client_for):
    zoe = answered(cast.org_a, cast.zoe, 2)
    assert client_for(cast.sam).get(f"{NEW}?response={zoe.public_id}").status_code == 404
    assert client_for(cast.sam).get(f"{NEW}?agent={cast.zoe.public_id}").status_code == 404


def test_admin_manages_the_behaviour_catalogue(cast, client_for):
    client = client_for(cast.alice)
    client.post("/o/acme/coaching/behaviours/", {"name": "De-escalation"})
    b = behaviour(cast.org_a, "De-escalation")
    client.post(f"/o/acme/coaching/behaviours/{b.public_id}/toggle/")
    with tenant_context(cast.org_a):
        assert not FocusBehaviour.objects.get(pk=b.pk).is_active
    r = client.post("/o/acme/coaching/behaviours/", {"name": " "})
    assert r.status_code == 400 and "Enter a behaviour." in r.content.decode()
    assert client_for(cast.sam).get("/o/acme/coaching/behaviours/").status_code == 403
