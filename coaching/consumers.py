"""Outbox consumers of coaching (loaded in web and worker processes by ``load_consumers``).

``coaching.alerts`` evaluates the rules on every ``response.answered``; its writes (alerts, inbox
rows, channel deliveries) commit with the delivery's "done", so a redelivered or swept event
raises nothing twice. ``coaching.webhook_finished`` forwards ``response.finished`` to the
organization's outbound webhook.
"""

from coachhub.core.outbox import consumer

from .services import alerts


@consumer("response.answered", name="coaching.alerts")
def evaluate_alert_rules(event) -> None:
    alerts.response_evaluate(event.organization_id, event.data["response"])


@consumer("response.finished", name="coaching.webhook_finished")
def forward_response_finished(event) -> None:
    alerts.response_finished_forward(event)
