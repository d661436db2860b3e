"""Kudos: praise tied to one behaviour, given by a supervisor or a peer."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from coachhub.core.notifications import notify
from coachhub.core.outbox import event_record
from coachhub.tenancy.models import Membership

from .. import selectors
from ..models import Kudos

EVENT_KUDOS_GIVEN = "recognition.kudos_given"
MAX_MESSAGE = 500


class KudosInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


@transaction.atomic
def kudos_give(
    giver: Membership,
    recipient: Membership | None,
    *,
    behaviour: str,
    message: str,
    response=None,
    review=None,
    now=None,
) -> Kudos:
    """Give kudos. Supervisors (and admins) give to agents they lead; agents to their peers.
    Notifies the recipient in-app and records ``recognition.kudos_given`` (first-kudos badge)."""
    errors: dict[str, str] = {}
    message = (message or "").replace("\r\n", "\n").strip()
    if (
        recipient is None
        or not selectors.kudos_recipients_for(giver).filter(pk=recipient.pk).exists()
    ):
        errors["recipient"] = "Choose an agent you can give kudos to."
    if behaviour not in selectors.behaviours(giver.organization):
        errors["behaviour"] = "Choose one of the listed behaviours."
    if not message:
        errors["message"] = "Say what they did."
    elif len(message) > MAX_MESSAGE:
        errors["message"] = f"At most {MAX_MESSAGE} characters."
    if response is not None and (recipient is None or response.agent_id != recipient.pk):
        errors["response"] = "That response is not about this agent."
    if review is not None and (recipient is None or review.agent_id != recipient.pk):
        errors["review"] = "That review is not about this agent."
    if errors:
        raise KudosInvalid(errors)
    kudos = Kudos.objects.create(
        organization_id=giver.organization_id,
        giver=giver,
        recipient=recipient,
        from_supervisor=giver.is_admin or giver.is_supervisor,
        behaviour=behaviour,
        message=message,
        response=response,
        review=review,
        created_at=now or timezone.now(),
    )
    notify(
        recipient,
        "kudos",
        f"Kudos from {giver.display_name}: {behaviour}",
        body=message[:300],
        url=reverse("recognition:mine", kwargs={"org": giver.organization.slug}),
    )
    event_record(
        giver.organization_id,
        EVENT_KUDOS_GIVEN,
        {"kudos": str(kudos.public_id), "recipient_id": recipient.pk, "giver_id": giver.pk},
    )
    return kudos
