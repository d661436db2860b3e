"""The Celery app ``coachhub``: ``celery -A coachhub worker`` / ``celery -A coachhub beat``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coachhub.settings")

app = Celery("coachhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule(sender, **kwargs):
    """Beat's schedule. Tasks are named, not looked up: at finalize time the autodiscovered task
    modules may not be imported yet (a lookup raised NotRegistered, which Celery swallowed,
    leaving beat with an empty schedule). A periodic message expires after one interval so a
    backlog (worker down for an hour) does not run a hundred sweeps in a row."""
    from django.conf import settings

    for name, task, interval in (
        ("outbox sweep", "coachhub.outbox_sweep", settings.OUTBOX_SWEEP_INTERVAL),
        ("worker heartbeat", "coachhub.heartbeat", settings.HEARTBEAT_INTERVAL),
        # Alert notifications (e-mail, Slack, webhook) left pending; due coaching follow-ups.
        ("coaching sweep", "coaching.sweep", settings.OUTBOX_SWEEP_INTERVAL),
        # Surveys: send what is due, finish answered ones, expire unanswered ones.
        (
            "survey sweep",
            "feedback.surveys_sweep",
            getattr(settings, "SURVEY_SWEEP_INTERVAL", 30.0),
        ),
        # Daily digests / weekly recaps: one task per organization whose digest time has come.
        ("digests fan-out", "coaching.digests_fan_out", 300.0),
        # 1:1 follow-ups that became due; goals met or past their due date (event once).
        ("sessions sweep", "coaching.sessions_sweep", 300.0),
        # CSV checks/imports whose doorbell was lost (a running one ignores the extra ring).
        ("csv import sweep", "feedback.csv_imports_sweep", 120.0),
    ):
        sender.add_periodic_task(
            interval, sender.signature(task, options={"expires": interval}), name=name
        )
