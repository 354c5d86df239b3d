"""The operations of an account's webhook log under `/_patron` (patron's own API, not
Sequence's), described once as `_api`'s are; `WebhookLog` runs them."""

from __future__ import annotations

from collections.abc import Sequence

from patron.client._op import Op, query, segment
from patron.wire import webhooks as wire


def list_events(
    *,
    type: str | Sequence[str] | None = None,
    resource_id: str | None = None,
    created_after: str | None = None,
    limit: int | None = None,
    after: str | None = None,
    before: str | None = None,
    wait: float | None = None,
) -> Op[wire.EventPage]:
    """A page of events, newest first (`type`: one or several). `pagination.before` leads
    to the events recorded since; with `wait`, the server holds an empty answer up to that
    many seconds for one to arrive."""
    filters = query(type=type, resourceId=resource_id, createdAfter=created_after, wait=wait)
    return Op("GET", "/events", wire.EventPage, {**filters, **query(limit=limit, after=after, before=before)})


def get_event(event_id: str) -> Op[wire.EventWithDeliveries]:
    """An event with its deliveries."""
    return Op("GET", f"/events/{segment(event_id)}", wire.EventWithDeliveries)


def redeliver(event_id: str, *, policy_id: str | None = None, recipient: str | None = None) -> Op[wire.Redelivered]:
    """New deliveries of the event to every live webhook policy taking it (or the one named)."""
    body = wire.RedeliverRequest(policy_id=policy_id, recipient=recipient)
    return Op("POST", f"/events/{segment(event_id)}/redeliver", wire.Redelivered, body=body)


def list_deliveries(
    *,
    event_id: str | None = None,
    policy_id: str | None = None,
    recipient: str | None = None,
    status: wire.DeliveryStatus | None = None,
    limit: int | None = None,
    after: str | None = None,
    before: str | None = None,
) -> Op[wire.DeliveryPage]:
    """A page of deliveries, newest first: only the event's, the policy's, the recipient's
    or those in `status` when given."""
    filters = query(eventId=event_id, policyId=policy_id, recipient=recipient, status=status)
    return Op("GET", "/deliveries", wire.DeliveryPage, {**filters, **query(limit=limit, after=after, before=before)})


def get_delivery(delivery_id: str) -> Op[wire.DeliveryWithAttempts]:
    """A delivery with every attempt."""
    return Op("GET", f"/deliveries/{segment(delivery_id)}", wire.DeliveryWithAttempts)


def flush(*, every_pending: bool = False) -> Op[wire.Flushed]:
    """Run the account's due deliveries now (`every_pending`: every pending one, retries
    not yet due too) and wait for the results (`POST /_patron/webhooks/flush`)."""
    return Op("POST", "/webhooks/flush", wire.Flushed, query(all=every_pending or None))
