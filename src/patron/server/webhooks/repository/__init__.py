"""repository of webhooks (docs/webhooks.md)."""
