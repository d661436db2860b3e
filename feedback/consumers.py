"""feedback's outbox consumers, imported in every process by ``outbox.load_consumers()``.

Each consumer lives next to its service; importing the module registers it.
"""

from .services import zendesk  # noqa: F401  (feedback.inbound_process: webhook delivery → interaction)
