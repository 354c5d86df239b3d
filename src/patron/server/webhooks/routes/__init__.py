"""routes of webhooks (docs/webhooks.md)."""
