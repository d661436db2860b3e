"""The Celery app ``coachhub``: ``celery -A coachhub worker`` / ``celery -A coachhub beat``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coachhub.settings")

app = Celery("coachhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule(sender, **kwargs):
    from django.conf import settings

    sender.add_periodic_task(
        settings.OUTBOX_SWEEP_INTERVAL, sender.tasks["coachhub.outbox_sweep"].s(), name="outbox sweep"
    )
    sender.add_periodic_task(
        settings.HEARTBEAT_INTERVAL, sender.tasks["coachhub.heartbeat"].s(), name="worker heartbeat"
    )
