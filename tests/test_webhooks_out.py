"""Outbound webhooks and Slack: signed as the contract says, event ids for dedupe, retries on
network errors and 5xx only with every attempt recorded, Slack escaping, the admin page."""

from __future__ import annotations

import json
import uuid

import pytest
from django.utils import timezone

from coachhub.tenancy.context import tenant_context
from coaching.models import ChannelDelivery, DeliveryAttempt, OutboundWebhook
from coaching.services import alerts as alert_svc
from coaching.services import webhooks as svc
from coaching.services.transports import slack_escape, webhook_signature

from .coaching_helpers import answered, run_outbox, send_channel_deliveries
from .http_receivers import Receiver, signature_valid

pytestmark = pytest.mark.django_db


def deliveries(org, **filters):
    with tenant_context(org):
        return list(ChannelDelivery.objects.filter(organization=org, **filters).order_by("id"))


def use_channels(org, *channels):
    from coaching.models import AlertRule

    with tenant_context(org):
        AlertRule.objects.filter(organization=org, is_default=True).update(channels=list(channels))


def make_due(org):
    with tenant_context(org):
        ChannelDelivery.objects.filter(organization=org, state="pending").update(
            next_attempt_at=timezone.now()
        )


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    import hashlib
    import hmac

    header = webhook_signature("s3cret", 1700000000, b'{"a":1}')
    expected = hmac.new(b"s3cret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_slack_escapes_control_characters():
    assert slack_escape("<!channel> & <b>") == "&lt;!channel&gt; &amp; &lt;b&gt;"


def test_alert_is_posted_to_slack_and_the_signed_webhook(cast):
    use_channels(cast.org_a, "slack", "webhook")
    with Receiver() as slack, Receiver() as hook:
        with tenant_context(cast.org_a):
            alert_svc.slack_target_set(cast.org_a, url=slack.url)
            endpoint = svc.webhook_save(cast.org_a, url=hook.url)
        answered(cast.org_a, cast.ann, 1, answers={"comment": "<@here> & <script>"})
        run_outbox(cast.org_a)
        assert sorted(send_channel_deliveries(cast.org_a)) == ["delivered", "delivered"]
        [slack_post] = slack.json_bodies()
        assert "&lt;@here&gt; &amp; &lt;script&gt;" in slack_post["blocks"][0]["text"]["text"]
        assert "<script>" not in json.dumps(slack_post)
        [hook_req] = hook.ok()
        assert signature_valid(endpoint.secret, hook_req)
        body = json.loads(hook_req["body"])
        assert body["type"] == "alert.created" and body["organization"] == "acme"
        assert set(body) == {"id", "type", "created_at", "organization", "data"}
        uuid.UUID(body["id"])
        assert body["data"]["reason"].startswith("1-star")


def test_finished_response_is_forwarded_to_the_webhook(cast):
    from feedback.services import survey

    with Receiver() as hook:
        with tenant_context(cast.org_a):
            endpoint = svc.webhook_save(cast.org_a, url=hook.url)
        response = answered(cast.org_a, cast.ann, 5)
        with tenant_context(cast.org_a):
            survey.survey_finish(response.request)
        run_outbox(cast.org_a)
        send_channel_deliveries(cast.org_a)
        [req] = hook.ok()
        assert signature_valid(endpoint.secret, req)
        body = json.loads(req["body"])
        assert body["type"] == "response.finished"
        assert body["data"]["response"] == str(response.public_id)
        assert "agent_id" not in body["data"]  # internal ids never leave


def test_receiver_500_three_times_then_200_is_delivered_once_after_four_attempts(cast):
    use_channels(cast.org_a, "webhook")
    with Receiver(statuses=[500, 500, 500]) as hook:
        with tenant_context(cast.org_a):
            svc.webhook_save(cast.org_a, url=hook.url)
        answered(cast.org_a, cast.ann, 1)
        run_outbox(cast.org_a)
        outcomes = []
        for _ in range(6):
            make_due(cast.org_a)
            outcomes += send_channel_deliveries(cast.org_a)
        assert outcomes == ["retry", "retry", "retry", "delivered"]
        assert len(hook.ok()) == 1
    [d] = deliveries(cast.org_a)
    assert (d.state, d.attempts, d.last_status_code) == ("delivered", 4, 200)
    with tenant_context(cast.org_a):
        codes = list(
            DeliveryAttempt.objects.filter(delivery=d).values_list("status_code", flat=True)
        )
    assert codes == [500, 500, 500, 200]


def test_4xx_is_permanent_and_network_errors_are_retried(cast):
    use_channels(cast.org_a, "webhook")
    with Receiver(statuses=[410]) as hook:
        with tenant_context(cast.org_a):
            svc.webhook_save(cast.org_a, url=hook.url)
        answered(cast.org_a, cast.ann, 1)
        run_outbox(cast.org_a)
        assert send_channel_deliveries(cast.org_a) == ["failed"]
    [d] = deliveries(cast.org_a)
    assert (d.state, d.attempts, d.last_status_code) == ("failed", 1, 410)
    # A closed port: a network error, retried.
    with tenant_context(cast.org_a):
        svc.webhook_save(cast.org_a, url="http://127.0.0.1:9/nothing")
    answered(cast.org_a, cast.andy, 1)
    run_outbox(cast.org_a)
    assert send_channel_deliveries(cast.org_a) == ["retry"]
    d = deliveries(cast.org_a, state="pending")[0]
    assert d.last_status_code is None and "network error" in d.last_error


def test_gives_up_after_the_maximum_attempts(cast, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 5
    use_channels(cast.org_a, "webhook")
    with Receiver(default=503) as hook:
        with tenant_context(cast.org_a):
            svc.webhook_save(cast.org_a, url=hook.url)
        answered(cast.org_a, cast.ann, 1)
        run_outbox(cast.org_a)
        for _ in range(7):
            make_due(cast.org_a)
            send_channel_deliveries(cast.org_a)
        assert len(hook.requests) == 5
    [d] = deliveries(cast.org_a)
    assert (d.state, d.attempts) == ("failed", 5)


def test_duplicate_doorbell_sends_once(cast):
    use_channels(cast.org_a, "webhook")
    with Receiver() as hook:
        with tenant_context(cast.org_a):
            svc.webhook_save(cast.org_a, url=hook.url)
        answered(cast.org_a, cast.ann, 1)
        run_outbox(cast.org_a)
        [d] = deliveries(cast.org_a)
        assert svc.delivery_send(cast.org_a.pk, d.pk) == "delivered"
        assert svc.delivery_send(cast.org_a.pk, d.pk) == "already-delivered"
        assert len(hook.requests) == 1


# --- the admin page ------------------------------------------------------------------------


def test_admin_sets_url_rotates_secret_and_sends_a_test_event(cast, client_for):
    client = client_for(cast.alice)
    base = "/o/acme/coaching/integrations/"
    with Receiver() as hook:
        r = client.post(base, {"form": "webhook", "url": hook.url, "is_active": "on"})
        assert r.status_code == 302
        with tenant_context(cast.org_a):
            first = OutboundWebhook.objects.get(organization=cast.org_a).secret
        r = client.post(base + "webhook/rotate/")
        page = client.get(base).content.decode()
        with tenant_context(cast.org_a):
            endpoint = OutboundWebhook.objects.get(organization=cast.org_a)
        assert endpoint.secret != first and endpoint.secret in page  # shown once after rotating
        assert endpoint.secret not in client.get(base).content.decode()
        client.post(base + "webhook/test/")
        send_channel_deliveries(cast.org_a)
        [req] = hook.ok()
        assert signature_valid(endpoint.secret, req)
        assert json.loads(req["body"])["type"] == "ping"
    page = client.get(base).content.decode()
    assert "Delivered" in page and "ping" in page and "200" in page


def test_integrations_page_names_the_bad_field(cast, client_for):
    client = client_for(cast.alice)
    r = client.post("/o/acme/coaching/integrations/", {"form": "webhook", "url": "ftp://x"})
    assert r.status_code == 400 and "Enter an http(s) URL." in r.content.decode()
    r = client.post("/o/acme/coaching/integrations/", {"form": "slack", "slack_url": "http://x"})
    assert r.status_code == 400 and "incoming-webhook URL" in r.content.decode()


@pytest.mark.parametrize("who", ["sam", "ann"])
def test_only_admins_manage_webhooks(cast, client_for, who):
    client = client_for(getattr(cast, who))
    assert client.get("/o/acme/coaching/integrations/").status_code == 403
    assert client.post("/o/acme/coaching/integrations/webhook/test/").status_code == 403
    assert client.get("/o/acme/coaching/rules/").status_code == 403


def test_failed_delivery_can_be_retried_by_an_admin(cast, client_for):
    use_channels(cast.org_a, "webhook")
    with Receiver(statuses=[400]) as hook:
        with tenant_context(cast.org_a):
            svc.webhook_save(cast.org_a, url=hook.url)
        answered(cast.org_a, cast.ann, 1)
        run_outbox(cast.org_a)
        assert send_channel_deliveries(cast.org_a) == ["failed"]
        [d] = deliveries(cast.org_a)
        r = client_for(cast.alice).post(
            f"/o/acme/coaching/integrations/deliveries/{d.public_id}/retry/"
        )
        assert r.status_code == 302
        assert send_channel_deliveries(cast.org_a) == ["delivered"]


def test_email_channel_mails_the_team_lead_who_opted_in(cast):
    from django.core import mail

    use_channels(cast.org_a, "email")
    answered(cast.org_a, cast.ann, 1, answers={"comment": "never again"})
    mail.outbox.clear()
    run_outbox(cast.org_a)
    assert send_channel_deliveries(cast.org_a) == ["delivered"]
    [message] = mail.outbox
    assert message.to == ["sam@acme.test"] and "1-star" in message.subject
    assert "never again" in message.body and "/o/acme/coaching/alerts/" in message.body
