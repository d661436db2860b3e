"""E-mails of the accounts area (invitations). Sent after the transaction commits."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from coachhub.tenancy.models import Invitation, Organization


def invitation_link(token: str) -> str:
    return f"{settings.SITE_URL}{reverse('invitation_accept', kwargs={'token': token})}"


def invitation_email_send(
    organization: Organization, invitation: Invitation, token: str, inviter: str
) -> None:
    """Queue the invitation e-mail for when the invitation row is committed.

    The token exists only here and in the e-mail (the database keeps its hash), so it cannot go
    through the outbox; if the mail server is down, the admin presses "Resend" (a new token).
    """
    context = {
        "organization": organization,
        "inviter": inviter,
        "role": {"agent": "an agent", "supervisor": "a supervisor", "admin": "an admin"}.get(
            invitation.role, invitation.get_role_display().lower()
        ),
        "team": invitation.team,
        "link": invitation_link(token),
        "expires_at": invitation.expires_at,
    }
    message = EmailMultiAlternatives(
        subject=f"Join {organization.name} on CoachHub",
        body=render_to_string("emails/invitation.txt", context),
        to=[invitation.email],
    )
    message.attach_alternative(render_to_string("emails/invitation.html", context), "text/html")
    transaction.on_commit(lambda: message.send(fail_silently=True))
