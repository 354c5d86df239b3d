"""Receiving patron's (and Sequence's) webhooks: checking a delivery's signature, and a client
of an account's webhook log under `/_patron/` (patron only: Sequence has no such API)."""

from __future__ import annotations

from patron.client import _log
from patron.client._exec import SyncExecutor
from patron.client._methods import Methods, operation, pages
from patron.wire import signature as _signature


def verify_signature(raw_body: bytes, header: str | None, secret: str, tolerance_s: float | None = 300) -> int:
    """Check a webhook's `Sequence-Signature` header against the exact bytes received (not
    JSON decoded and encoded again) with the policy's `webhookSecret`; returns the header's
    `t` (Unix milliseconds). Raises `SignatureError` when the header is missing or
    malformed, when `t` is more than `tolerance_s` seconds from now (None: any age) or when
    the signature does not match (compared in constant time)."""
    return _signature.verify(raw_body, header, secret, tolerance_s=tolerance_s)


class WebhookLog(SyncExecutor, Methods):
    """An account's webhook log on a patron server: its events (with the exact bodies sent),
    their deliveries and attempts, redelivery and, on a server that has it, flush.

        log = WebhookLog("http://127.0.0.1:8000/api", client_id, client_secret)
        page = log.list_events(type="CUSTOMER_CREATED", limit=10)

    `base_url` is the API's (`.../api`, as `Client` takes it) or the server's root; the
    rest is as for `Client` (`http=`, `retries=`, the same errors)."""

    DEFAULT_TIMEOUT = 40.0
    """Long enough for a `list_events(wait=30)`."""

    list_events = operation(_log.list_events)
    iter_events = pages(_log.list_events)
    get_event = operation(_log.get_event)
    redeliver = operation(_log.redeliver)
    list_deliveries = operation(_log.list_deliveries)
    iter_deliveries = pages(_log.list_deliveries)
    get_delivery = operation(_log.get_delivery)
    flush = operation(_log.flush)

    @classmethod
    def _locate(cls, base_url: str) -> str:
        root = base_url.rstrip("/").removesuffix("/_patron").removesuffix("/api")
        return f"{root}/_patron"
