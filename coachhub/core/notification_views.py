"""The bell, the list, mark read and the e-mail opt-in (under /o/<org>/notifications/)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import notifications as svc


def _bell_context(member):
    return svc.bell_context(member)


def notification_bell(request, org):
    """The header's bell: polled by htmx, so it renders alone (no layout)."""
    response = render(request, "core/notifications/_bell.html", _bell_context(request.member))
    response["Cache-Control"] = "no-store"
    return response


def notification_list(request, org):
    member = request.member
    page = Paginator(svc.notifications_for(member), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "core/notifications/list.html",
        {"page": page, "unread": svc.unread_count(member)},
    )


@require_POST
def notification_read(request, org, notification_id):
    notification = svc.get_notification_for(request.member, notification_id)
    svc.notification_mark_read(notification)
    if request.POST.get("open") and notification.url:
        return redirect(svc.safe_local_url(notification.url) or "notification_list", org=org)
    if request.htmx:
        return render(request, "core/notifications/_bell.html", _bell_context(request.member))
    return redirect("notification_list", org=org)


@require_POST
def notification_read_all(request, org):
    count = svc.notifications_mark_all_read(request.member)
    if request.htmx:
        return render(request, "core/notifications/_bell.html", _bell_context(request.member))
    messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} as read.")
    return redirect("notification_list", org=org)


@require_POST
def notification_email_toggle(request, org):
    enabled = request.POST.get("email_notifications") in ("on", "true", "1")
    svc.email_notifications_set(request.member, enabled)
    messages.success(
        request,
        "E-mail notifications are on." if enabled else "E-mail notifications are off.",
    )
    return redirect("notification_list", org=org)
