"""Sequence's notification policies: which events reach which recipients (docs/webhooks.md)."""
