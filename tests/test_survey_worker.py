"""The survey sender against a REAL Celery worker and a real SMTP server on loopback: the
ingestion doorbell is rung on commit and the worker e-mails the customer; a request whose
doorbell was lost is sent by beat's survey sweep. (Committed rows: the worker only sees those.)
"""

from __future__ import annotations

import socket

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from coachhub.tenancy.context import tenant_context
from feedback.models import FeedbackRequest, RequestStatus, SurveyState
from feedback.tasks import surveys_sweep_task

from .survey_helpers import ingest
from .worker import Worker, _forget_unacked, wait_for, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


class Sink:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture(scope="module")
def smtp_sink():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    sink.port = port
    yield sink
    controller.stop()


@pytest.fixture(scope="module")
def mail_worker(django_db_setup, django_db_blocker, tmp_path_factory, smtp_sink):
    with django_db_blocker.unblock():
        env = worker_env(EMAIL_URL=f"smtp://127.0.0.1:{smtp_sink.port}")
    worker = Worker(env, tmp_path_factory.mktemp("survey-worker"))
    yield worker
    worker.stop()
    _forget_unacked(worker.queue)


def _state(fr):
    with tenant_context(fr.organization_id):
        row = FeedbackRequest.objects.get(organization_id=fr.organization_id, pk=fr.pk)
    return row.status, row.survey_state


def test_ingested_interaction_is_emailed_by_the_worker(cast, smtp_sink, mail_worker):
    mail_worker.ensure_running()
    assert not connection.in_atomic_block  # committed: the doorbell rings on commit
    fr = ingest(cast.org_a, cast.ann, email="worker-1@example.com")
    wait_for(
        lambda: _state(fr) == (RequestStatus.SENT, SurveyState.SENT),
        20,
        message=f"the worker sent the survey\n{mail_worker.log()[-3000:]}",
    )
    envelope = wait_for(
        lambda: next(
            (e for e in smtp_sink.envelopes if "worker-1@example.com" in e.rcpt_tos), None
        ),
        10,
        message="the SMTP server received it",
    )
    assert b"/s/" in envelope.content and b"?stars=5" in envelope.content


def test_a_request_whose_doorbell_was_lost_is_sent_by_the_sweep(cast, smtp_sink, mail_worker):
    mail_worker.stop()  # the doorbell rings while no worker listens ...
    fr = ingest(cast.org_a, cast.ann, email="worker-2@example.com")
    _forget_unacked(mail_worker.queue)  # ... and is lost with the broker's queue
    mail_worker.start()
    assert _state(fr) == (RequestStatus.SCHEDULED, SurveyState.PENDING)
    surveys_sweep_task.apply_async(queue=mail_worker.queue)  # what beat runs every 30 s
    wait_for(
        lambda: _state(fr) == (RequestStatus.SENT, SurveyState.SENT),
        20,
        message=f"the sweep sent the survey\n{mail_worker.log()[-3000:]}",
    )
    wait_for(
        lambda: any("worker-2@example.com" in e.rcpt_tos for e in smtp_sink.envelopes),
        10,
        message="the SMTP server received it",
    )
