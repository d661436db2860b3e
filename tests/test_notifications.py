"""notify(): the bell's row, its count, mark read, and e-mail through the outbox for those who
opted in."""

import pytest
from django.core import mail
from django.urls import reverse

from coachhub.core import notifications
from coachhub.core.models import Delivery, Event, Notification
from coachhub.core.outbox import delivery_run
from coachhub.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def url(name, org="acme", **kw):
    return reverse(name, kwargs={"org": org, **kw})


def notify(member, title="New coaching note", **kw):
    with tenant_context(member.organization_id):
        return notifications.notify(member, "coaching.note", title, **kw)


def run_deliveries(org):
    with tenant_context(org):
        pending = list(Delivery.objects.filter(status="pending").values_list("id", flat=True))
    return [delivery_run(org.pk, pk) for pk in pending]


def test_notify_creates_a_row_for_the_member(cast):
    n = notify(cast.ann, body="Sam left you a note.", url="/o/acme/")
    with tenant_context(cast.org_a):
        row = Notification.objects.get(pk=n.pk)
    assert (row.recipient_id, row.kind, row.title, row.url, row.read_at) == (
        cast.ann.pk,
        "coaching.note",
        "New coaching note",
        "/o/acme/",
        None,
    )


@pytest.mark.parametrize(
    "bad", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"]
)
def test_notify_drops_links_that_leave_the_site(cast, bad):
    assert notify(cast.ann, url=bad).url == ""


def test_bell_shows_the_unread_count(cast, client_for):
    for i in range(3):
        notify(cast.ann, title=f"Note {i}")
    notify(cast.andy)
    client = client_for(cast.ann)
    response = client.get(url("notification_bell"))
    assert response.status_code == 200
    assert response.context["bell_count"] == 3
    assert "Notifications: 3 unread" in response.content.decode()
    assert (
        "Notifications: 3 unread" in client.get(url("org_home")).content.decode()
    )  # in the header


def test_bell_query_count_is_small(cast, client_for):
    from tests.conftest import assert_num_queries_at_most

    for i in range(8):
        notify(cast.ann, title=f"Note {i}")
    client = client_for(cast.ann)
    # Every page's: session, user, the organization's context entered with the membership
    # (here inside the test's transaction: its setting read before and put back after); the
    # bell's: one (the unread count is a window over the newest). The first request on a
    # connection also PREPAREs the entering statements.
    client.get(url("notification_bell"))
    with assert_num_queries_at_most(8):
        client.get(url("notification_bell"))


def test_mark_read_and_mark_all_read(cast, client_for):
    first, second, third = (notify(cast.ann, title=t) for t in ("a", "b", "c"))
    client = client_for(cast.ann)
    assert client.post(url("notification_read", notification_id=first.public_id)).status_code == 302
    assert client.get(url("notification_bell")).context["bell_count"] == 2
    assert client.post(url("notification_read_all")).status_code == 302
    assert client.get(url("notification_bell")).context["bell_count"] == 0
    with tenant_context(cast.org_a):
        assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_mark_read_is_a_post(cast, client_for):
    n = notify(cast.ann)
    assert (
        client_for(cast.ann).get(url("notification_read", notification_id=n.public_id)).status_code
        == 405
    )


def test_opening_a_notification_marks_it_read_and_follows_its_link(cast, client_for):
    n = notify(cast.ann, url="/o/acme/me/")
    response = client_for(cast.ann).post(
        url("notification_read", notification_id=n.public_id), {"open": "1"}
    )
    assert response.status_code == 302 and response["Location"] == "/o/acme/me/"


def test_another_members_notification_is_404(cast, client_for):
    theirs = notify(cast.andy)
    client = client_for(cast.ann)
    assert (
        client.post(url("notification_read", notification_id=theirs.public_id)).status_code == 404
    )
    client.post(url("notification_read_all"))
    with tenant_context(cast.org_a):
        assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_notification_of_another_organization_is_404(cast, client_for):
    theirs = notify(cast.bea)
    response = client_for(cast.alice).post(
        url("notification_read", notification_id=theirs.public_id)
    )
    assert response.status_code == 404


def test_list_shows_only_my_notifications(cast, client_for):
    notify(cast.ann, title="For Ann")
    notify(cast.andy, title="For Andy")
    page = client_for(cast.ann).get(url("notification_list")).content.decode()
    assert "For Ann" in page and "For Andy" not in page


def test_email_is_sent_through_the_outbox_when_opted_in(cast, settings):
    settings.SITE_URL = "https://coachhub.example"
    n = notify(cast.ann, title="Great job!", body="A customer gave you 5 stars.", url="/o/acme/me/")
    assert mail.outbox == []  # not in the caller's transaction: a consumer sends it
    with tenant_context(cast.org_a):
        event = Event.objects.get(type=notifications.EVENT_CREATED)
        assert event.data == {"notification_id": n.pk}
    assert run_deliveries(cast.org_a) == ["done"]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ann@acme.test"] and "Great job!" in message.subject
    assert "https://coachhub.example/o/acme/me/" in message.body
    assert "5 stars" in message.alternatives[0][0]
    with tenant_context(cast.org_a):
        assert Notification.objects.get(pk=n.pk).emailed_at is not None
    # A repeated doorbell sends nothing more.
    with tenant_context(cast.org_a):
        delivery = Delivery.objects.get()
    assert delivery_run(cast.org_a.pk, delivery.pk) == "already-done"
    assert len(mail.outbox) == 1


def test_no_email_when_opted_out(cast, client_for):
    client = client_for(cast.ann)
    assert client.post(url("notification_email_toggle"), {}).status_code == 302
    with tenant_context(cast.org_a):
        cast.ann.refresh_from_db()
    assert not cast.ann.email_notifications
    notify(cast.ann)
    with tenant_context(cast.org_a):
        assert not Event.objects.exists()
    run_deliveries(cast.org_a)
    assert mail.outbox == []
    client.post(url("notification_email_toggle"), {"email_notifications": "on"})
    with tenant_context(cast.org_a):
        cast.ann.refresh_from_db()
    notify(cast.ann)
    run_deliveries(cast.org_a)
    assert len(mail.outbox) == 1


def test_opting_out_after_the_event_still_sends_nothing(cast):
    notify(cast.ann)
    with tenant_context(cast.org_a):
        notifications.email_notifications_set(cast.ann, False)
    assert run_deliveries(cast.org_a) == ["done"]
    assert mail.outbox == []


def test_customer_text_in_a_notification_is_escaped(cast, client_for):
    notify(cast.ann, title="<script>alert(1)</script>")
    page = client_for(cast.ann).get(url("notification_list")).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_layout_costs_a_fixed_few_round_trips(cast, client_for):
    """Every signed-in page pays for its layout: the organization entered with the membership,
    team and profile in one round trip, the switcher in one (plus putting the user setting
    back), the bell in one — however many notifications and organizations there are."""
    from tests.conftest import assert_num_queries_at_most
    from tests.factories import make_member

    client = client_for(cast.ann)
    client.get(url("my_profile"))
    with assert_num_queries_at_most(30) as few:
        page = client.get(url("my_profile")).content.decode()
    assert "Notifications: 0 unread" in page
    sql = [q["sql"] for q in few.captured_queries]
    assert sum("tenancy_member_load" in s for s in sql) == 1
    assert not any(s.startswith('SELECT "coachhub_organization"') for s in sql)  # not again
    assert not any('FROM "coachhub_agentprofile"' in s for s in sql)  # read with the member
    assert sum("coachhub_notification" in s for s in sql) == 1  # count and newest together
    assert sum("app.current_user" in s for s in sql) == 2  # switcher, then the setting back

    for i in range(8):
        notify(cast.ann, title=f"Note {i}")
    make_member(cast.org_b, "agent", user=cast.ann.user)  # a second organization to switch to
    with assert_num_queries_at_most(len(few.captured_queries)):
        page = client.get(url("my_profile")).content.decode()
    assert "Notifications: 8 unread" in page
    assert cast.org_b.name in page  # in the switcher
