"""service of webhooks (docs/webhooks.md)."""
