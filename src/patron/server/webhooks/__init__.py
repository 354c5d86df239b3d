"""Webhooks: the transactional outbox, its dispatcher and the delivery log (docs/webhooks.md)."""
