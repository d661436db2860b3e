from coachhub.core.tasks import delivery_run_task, heartbeat_task, outbox_sweep_task  # noqa: F401
