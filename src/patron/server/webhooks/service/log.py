"""An account's webhook log (docs/webhooks.md): its events with the exact bodies sent, their
deliveries with every attempt, and redelivery of an event, in the transaction the edge gives."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
from sqlalchemy import Connection

from patron.server import clock, validation
from patron.server.auth import Principal
from patron.server.db.keyset import CursorCodec, Page, read_cursor
from patron.server.errors import InvalidInput, NotFound
from patron.server.notifications import service as notifications
from patron.server.notifications.service import Target
from patron.server.webhooks.repository import log as repository
from patron.server.webhooks.repository import outbox as outbox_rows
from patron.server.webhooks.repository.log import DeliveryFilters, DeliveryRow, EventFilters, EventRow
from patron.server.webhooks.service import outbox
from patron.wire import webhooks as wire
from patron.wire.enums import NotificationChannel, NotificationType

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
EVENT_DELIVERIES = 100
"""Deliveries shown with an event (its newest); `GET /_patron/deliveries?eventId=` pages them all."""
_BEGINNING = (datetime(1970, 1, 1, tzinfo=UTC), uuid.UUID(int=0))
"""The key before every event: the tail cursor of an empty log."""


def list_events(
    tx: Connection,
    who: Principal,
    key: bytes,
    *,
    types: Sequence[str] = (),
    resource_id: str | None = None,
    created_after: str | None = None,
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
    before: str | None = None,
) -> wire.EventPage:
    """A page of the account's events, newest first. `pagination.before` always leads to the
    events newer than the page (from the newest page too: the tail of the log)."""
    filters = EventFilters(
        types=sorted({_type(value) for value in types}),
        resource_id=None if resource_id is None else validation.reference(resource_id, "resourceId"),
        created_after=None if created_after is None else _moment(created_after, "createdAfter"),
    )
    codec = CursorCodec(key, ["events", who.account_id, *filters.types, filters.resource_id, filters.created_after])
    cursor = read_cursor(codec, after=after, before=before, columns=repository.EVENT_SORT)
    page = repository.events_page(tx, who.account_id, filters, limit=_limit(limit), cursor=cursor, codec=codec)
    tail = page.before
    if tail is None and (cursor is None or cursor.direction == "before"):
        tail = _tail(codec, page, before)
    return wire.EventPage(items=[_event(row) for row in page.rows], pagination=wire.Cursors(page.after, tail))


def _tail(codec: CursorCodec, page: Page[EventRow], before: str | None) -> str:
    """The cursor of the events newer than the newest page: past its first row, else where
    the caller already stood, else before the first event ever."""
    if page.rows:
        return codec.encode("before", repository.event_key(page.rows[0]), repository.EVENT_SORT)
    return before or codec.encode("before", _BEGINNING, repository.EVENT_SORT)


def get_event(tx: Connection, who: Principal, event_id: str) -> wire.EventWithDeliveries:
    row = _found_event(tx, who, event_id)
    deliveries = repository.deliveries_of(tx, who.account_id, row.id, EVENT_DELIVERIES)
    return wire.EventWithDeliveries(**_event_fields(row), deliveries=[_delivery(d) for d in deliveries])


def list_deliveries(
    tx: Connection,
    who: Principal,
    key: bytes,
    *,
    event_id: str | None = None,
    policy_id: str | None = None,
    recipient: str | None = None,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
    before: str | None = None,
) -> wire.DeliveryPage:
    """A page of the account's deliveries, newest first."""
    if status is not None and status not in wire.DELIVERY_STATUSES:
        raise InvalidInput("status", f"must be one of {', '.join(wire.DELIVERY_STATUSES)}")
    filters = DeliveryFilters(
        event_id=None if event_id is None else validation.reference(event_id, "eventId"),
        policy_id=None if policy_id is None else validation.reference(policy_id, "policyId"),
        recipient=recipient,
        status=status,
    )
    context = ["deliveries", who.account_id, filters.event_id, filters.policy_id, recipient, status]
    codec = CursorCodec(key, context)
    cursor = read_cursor(codec, after=after, before=before, columns=repository.DELIVERY_SORT)
    page = repository.deliveries_page(tx, who.account_id, filters, limit=_limit(limit), cursor=cursor, codec=codec)
    return wire.DeliveryPage(
        items=[_delivery(row) for row in page.rows], pagination=wire.Cursors(page.after, page.before)
    )


def get_delivery(tx: Connection, who: Principal, delivery_id: str) -> wire.DeliveryWithAttempts:
    ident = validation.parse_id(delivery_id, "delivery")
    row = repository.delivery(tx, who.account_id, ident)
    if row is None:
        raise NotFound("delivery", delivery_id)
    attempts = [_attempt(attempt) for attempt in repository.attempts_of(tx, who.account_id, row.id)]
    return wire.DeliveryWithAttempts(**_delivery_fields(row), attempts=attempts)


def redeliver(tx: Connection, who: Principal, event_id: str, request: wire.RedeliverRequest) -> wire.Redelivered:
    """New pending deliveries of the event, due now: one per recipient of each live webhook
    policy taking its type (or only the policy and the recipient named). The same event, so
    the same `webhook-id` and the same body, whatever became of its earlier deliveries."""
    event = _found_event(tx, who, event_id)
    targets = _chosen(notifications.targets(tx, who.account_id, event.notification_type), event, request)
    rows = outbox.deliveries_of(
        {"account_id": who.account_id, "id": event.id}, targets, clock.utc_now(), redelivery=True
    )
    outbox_rows.insert_deliveries(tx, rows)
    return wire.Redelivered(
        items=[_delivery(DeliveryRow(**{name: row[name] for name in DeliveryRow._fields})) for row in rows]
    )


def _chosen(targets: Sequence[Target], event: EventRow, request: wire.RedeliverRequest) -> list[Target]:
    """The live webhook policies taking the event, narrowed to what the request names; a
    name that narrows to nothing is refused (a 400 naming it)."""
    chosen = [target for target in targets if target.channel == NotificationChannel.WEBHOOK]
    takes = f"takes {event.notification_type} events"
    if request.policy_id is not None:
        policy_id = validation.reference(request.policy_id, "policyId")
        chosen = [target for target in chosen if target.policy_id == policy_id]
        if not chosen:
            raise InvalidInput("policyId", f"no live WEBHOOK policy with id {request.policy_id} {takes}")
    if request.recipient is not None:
        chosen = [t._replace(recipients=[request.recipient]) for t in chosen if request.recipient in t.recipients]
        if not chosen:
            raise InvalidInput("recipient", f"no live WEBHOOK policy {takes} with this recipient")
    return chosen


def _found_event(tx: Connection, who: Principal, event_id: str) -> EventRow:
    row = repository.event(tx, who.account_id, validation.parse_id(event_id, "event"))
    if row is None:
        raise NotFound("event", event_id)
    return row


def _type(value: str) -> str:
    try:
        return NotificationType(value).value
    except ValueError:
        raise InvalidInput("type", f"{value!r} is not a notification type") from None


def _moment(value: str, field: str) -> datetime:
    """An ISO 8601 date-time (`Z` or an offset; none means UTC)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, f"{value!r} is not an ISO 8601 date-time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def _event_fields(row: EventRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "created_at": clock.iso(row.created_at),
        "notification_type": NotificationType(row.notification_type),
        "resource_type": row.resource_type,
        "resource_id": str(row.resource_id),
        # The stored bytes as they are: the answer holds exactly what every delivery sends.
        "body": cast(Any, msgspec.Raw(row.body)),
        "raw_body": bytes(row.body).decode(),
    }


def _event(row: EventRow) -> wire.Event:
    return wire.Event(**_event_fields(row))


def _delivery_fields(row: DeliveryRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "event_id": str(row.event_id),
        "policy_id": str(row.policy_id),
        "recipient": row.recipient,
        "channel": NotificationChannel(row.channel),
        "status": row.status,
        "attempt_count": row.attempts,
        "redelivery": row.redelivery,
        "created_at": clock.iso(row.created_at),
        "next_attempt_at": clock.maybe_iso(row.next_attempt_at) if row.status == "pending" else None,
        "finished_at": clock.maybe_iso(row.finished_at),
        "last_status": row.last_status,
        "last_error": row.last_error,
    }


def _delivery(row: DeliveryRow) -> wire.Delivery:
    return wire.Delivery(**_delivery_fields(row))


def _attempt(row: repository.AttemptRow) -> wire.Attempt:
    return wire.Attempt(
        number=row.number,
        started_at=clock.iso(row.started_at),
        t=row.signed_at_ms,
        request_headers=_headers(row.request_headers) or {},
        duration_ms=row.duration_ms,
        status_code=row.status_code,
        response_headers=_headers(row.response_headers),
        response_excerpt=row.response_excerpt,
        error=row.error,
    )


def _headers(stored: Any) -> dict[str, str] | None:
    """Headers as stored: a mapping, or a list of (name, value) pairs (a repeated name's
    values joined with `, `, as HTTP allows)."""
    if stored is None:
        return None
    pairs = stored.items() if isinstance(stored, dict) else stored
    found: dict[str, str] = {}
    for name, value in pairs:
        found[name] = f"{found[name]}, {value}" if name in found else str(value)
    return found
