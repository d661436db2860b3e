"""Writes of coaching, split by sub-domain: ``rules`` (matching and validation), ``alerts``
(evaluation on ``response.answered``, the inbox's state changes), ``transports`` (e-mail, Slack,
webhook: one method each), ``webhooks`` (channel deliveries: send, retry, sweep; the outbound
webhook's settings), ``notes`` (micro-coaching, follow-ups, saved items), ``defaults``."""
