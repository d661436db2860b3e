"""Outbox consumers of coaching (loaded in web and worker processes by ``load_consumers``).

``coaching.alerts`` evaluates the rules on every ``response.answered``; its writes (alerts, inbox
rows, channel deliveries) commit with the delivery's "done", so a redelivered or swept event
raises nothing twice. It is database-only work (channels are sent by their own tasks), so the
worker drains it in batches of ``ALERTS_BATCH`` (see coachhub/core/outbox.py): under a burst one
task claims and evaluates many ratings, reading the rules and recipients once.
``coaching.webhook_finished`` forwards ``response.finished`` to the organization's outbound
webhook.
"""

from coachhub.core.outbox import consumer

from .services import alerts

# A batch commits together: at ~5 ms a rating, 20 keep the first alert of a batch visible
# within ~0.1 s of the last while cutting the per-task overhead twentyfold under a backlog.
ALERTS_BATCH = 20


def _agent(event) -> int:
    """A batch evaluates its ratings agent by agent: rolling-average rules lock a state row per
    (rule, agent), so two batches lock them in the same order."""
    return event.data.get("agent_id") or 0


@consumer("response.answered", name="coaching.alerts", batch=ALERTS_BATCH, batch_order=_agent)
def evaluate_alert_rules(event) -> None:
    alerts.response_evaluate(event.organization_id, event.data["response"])


@consumer("response.finished", name="coaching.webhook_finished")
def forward_response_finished(event) -> None:
    alerts.response_finished_forward(event)
