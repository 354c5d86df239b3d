"""Receiving patron's (and Sequence's) webhooks: checking a delivery's signature, and a client
of an account's webhook log under `/_patron/` (patron only: Sequence has no such API)."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
import msgspec

from patron.client._client import ApiError
from patron.wire import models
from patron.wire import signature as _signature
from patron.wire import webhooks as wire

T = TypeVar("T")


def verify_signature(raw_body: bytes, header: str | None, secret: str, tolerance_s: float | None = 300) -> int:
    """Check a webhook's `Sequence-Signature` header against the exact bytes received (not
    JSON decoded and encoded again) with the policy's `webhookSecret`; returns the header's
    `t` (Unix milliseconds). Raises `SignatureError` when the header is missing or
    malformed, when `t` is more than `tolerance_s` seconds from now (None: any age) or when
    the signature does not match (compared in constant time)."""
    return _signature.verify(raw_body, header, secret, tolerance_s=tolerance_s)


class WebhookLog:
    """An account's webhook log on a patron server: its events (with the exact bodies sent),
    their deliveries and attempts, redelivery and, on a server that has it, flush.

        log = WebhookLog("http://127.0.0.1:8000/api", client_id, client_secret)
        page = log.list_events(type="CUSTOMER_CREATED", limit=10)

    `base_url` is the API's (`.../api`, as `Client` takes it) or the server's root."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float = 40.0,
        http: httpx.Client | None = None,
    ) -> None:
        root = base_url.rstrip("/").removesuffix("/api")
        self._http = http or httpx.Client(base_url=f"{root}/_patron", timeout=timeout)
        self._http.auth = httpx.BasicAuth(client_id, client_secret)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WebhookLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def list_events(
        self,
        *,
        type: str | list[str] | None = None,
        resource_id: str | None = None,
        created_after: str | None = None,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        wait: float | None = None,
    ) -> wire.EventPage:
        """A page of events, newest first (`type`: one or several). `pagination.before` leads
        to the events recorded since; with `wait`, the server holds an empty answer up to that
        many seconds for one to arrive."""
        given = {
            "type": type,
            "resourceId": resource_id,
            "createdAfter": created_after,
            "limit": limit,
            "after": after,
            "before": before,
            "wait": wait,
        }
        params = {name: value for name, value in given.items() if value is not None}
        return self._call("GET", "/events", wire.EventPage, params=params)

    def get_event(self, event_id: str) -> wire.EventWithDeliveries:
        return self._call("GET", f"/events/{event_id}", wire.EventWithDeliveries)

    def redeliver(
        self, event_id: str, *, policy_id: str | None = None, recipient: str | None = None
    ) -> wire.Redelivered:
        """New deliveries of the event to every live webhook policy taking it (or the one named)."""
        body = wire.RedeliverRequest(policy_id=policy_id, recipient=recipient)
        return self._call("POST", f"/events/{event_id}/redeliver", wire.Redelivered, body=body)

    def list_deliveries(self, **filters: Any) -> wire.DeliveryPage:
        """A page of deliveries, newest first; filters by the API's names (`eventId=...`)."""
        params = {name: value for name, value in filters.items() if value is not None}
        return self._call("GET", "/deliveries", wire.DeliveryPage, params=params)

    def get_delivery(self, delivery_id: str) -> wire.DeliveryWithAttempts:
        return self._call("GET", f"/deliveries/{delivery_id}", wire.DeliveryWithAttempts)

    def flush(self, *, every_pending: bool = False) -> Any:
        """Run the account's due deliveries now (`every_pending`: every pending one, retries
        not yet due too) and wait for the results (`POST /_patron/webhooks/flush`); the
        server's summary as JSON."""
        params = {"all": "true"} if every_pending else None
        return msgspec.json.decode(self._send("POST", "/webhooks/flush", params=params).content)

    def _call(self, method: str, path: str, kind: type[T], *, body: Any = None, params: Any = None) -> T:
        return msgspec.json.decode(self._send(method, path, body=body, params=params).content, type=kind)

    def _send(self, method: str, path: str, *, body: Any = None, params: Any = None) -> httpx.Response:
        content = msgspec.json.encode(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        response = self._http.request(method, path, content=content, params=params, headers=headers)
        if response.status_code >= 400:
            raise _error(response)
        return response


def _error(response: httpx.Response) -> ApiError:
    try:
        detail = msgspec.json.decode(response.content, type=models.ErrorBody).error
    except (msgspec.ValidationError, msgspec.DecodeError):
        return ApiError(response.status_code, "Error", response.text)
    return ApiError(response.status_code, detail.type, detail.message)
