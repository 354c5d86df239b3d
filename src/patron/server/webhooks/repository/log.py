"""All SQL of an account's webhook log (docs/webhooks.md): its events newest first, their
deliveries and each delivery's attempts, read on the account's own keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Select, select

from patron.server.db import keyset, tables

e = tables.webhook_event.c
d = tables.webhook_delivery.c
a = tables.webhook_attempt.c


class EventRow(NamedTuple):
    id: uuid.UUID
    created_at: datetime
    notification_type: str
    resource_type: str
    resource_id: uuid.UUID
    body: bytes


class DeliveryRow(NamedTuple):
    id: uuid.UUID
    event_id: uuid.UUID
    policy_id: uuid.UUID
    recipient: str
    channel: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    redelivery: bool
    created_at: datetime
    finished_at: datetime | None


class AttemptRow(NamedTuple):
    number: int
    started_at: datetime
    signed_at_ms: int
    request_headers: Any
    status_code: int | None
    response_headers: Any
    response_excerpt: str | None
    duration_ms: float
    error: str | None


_EVENT = (e.id, e.created_at, e.notification_type, e.resource_type, e.resource_id, e.body)
_DELIVERY = tuple(getattr(d, name) for name in DeliveryRow._fields)
_ATTEMPT = tuple(getattr(a, name) for name in AttemptRow._fields)

# Newest first. Events by (created_at, id), their index; deliveries by id alone: a UUIDv7
# minted by the same clock as created_at, so the primary key serves the order.
EVENT_SORT = (
    keyset.SortColumn(e.created_at, "datetime", descending=True),
    keyset.SortColumn(e.id, "uuid", descending=True),
)
DELIVERY_SORT = (keyset.SortColumn(d.id, "uuid", descending=True),)


@dataclass(frozen=True)
class EventFilters:
    types: Sequence[str] = ()
    resource_id: uuid.UUID | None = None
    created_after: datetime | None = None


@dataclass(frozen=True)
class DeliveryFilters:
    event_id: uuid.UUID | None = None
    policy_id: uuid.UUID | None = None
    recipient: str | None = None
    status: str | None = None


def _events(account_id: uuid.UUID, filters: EventFilters) -> Select[Any]:
    query = select(*_EVENT).where(e.account_id == account_id)
    if filters.types:
        query = query.where(e.notification_type.in_(filters.types))
    if filters.resource_id is not None:
        query = query.where(e.resource_id == filters.resource_id)
    if filters.created_after is not None:
        query = query.where(e.created_at > filters.created_after)
    return query


def events_page(
    tx: Connection,
    account_id: uuid.UUID,
    filters: EventFilters,
    *,
    limit: int,
    cursor: keyset.Cursor | None,
    codec: keyset.CursorCodec,
) -> keyset.Page[EventRow]:
    segments = [keyset.Segment(_events(account_id, filters), EVENT_SORT)]
    found = keyset.fetch_page(tx, segments, EVENT_SORT, event_key, limit=limit, cursor=cursor, codec=codec)
    return keyset.Page([EventRow._make(row) for row in found.rows], found.after, found.before)


def event_key(row: Any) -> tuple[Any, ...]:
    return (row.created_at, row.id)


def event(tx: Connection, account_id: uuid.UUID, event_id: uuid.UUID) -> EventRow | None:
    row = tx.execute(select(*_EVENT).where(e.account_id == account_id, e.id == event_id)).first()
    return None if row is None else EventRow._make(row)


def _deliveries(account_id: uuid.UUID, filters: DeliveryFilters) -> Select[Any]:
    query = select(*_DELIVERY).where(d.account_id == account_id)
    wanted = {
        d.event_id: filters.event_id,
        d.policy_id: filters.policy_id,
        d.recipient: filters.recipient,
        d.status: filters.status,
    }
    for column, value in wanted.items():
        if value is not None:
            query = query.where(column == value)
    return query


def deliveries_page(
    tx: Connection,
    account_id: uuid.UUID,
    filters: DeliveryFilters,
    *,
    limit: int,
    cursor: keyset.Cursor | None,
    codec: keyset.CursorCodec,
) -> keyset.Page[DeliveryRow]:
    segments = [keyset.Segment(_deliveries(account_id, filters), DELIVERY_SORT)]
    found = keyset.fetch_page(tx, segments, DELIVERY_SORT, lambda r: (r.id,), limit=limit, cursor=cursor, codec=codec)
    return keyset.Page([DeliveryRow._make(row) for row in found.rows], found.after, found.before)


def deliveries_of(tx: Connection, account_id: uuid.UUID, event_id: uuid.UUID, limit: int) -> list[DeliveryRow]:
    """An event's newest `limit` deliveries, newest first."""
    query = (
        select(*_DELIVERY).where(d.account_id == account_id, d.event_id == event_id).order_by(d.id.desc()).limit(limit)
    )
    return [DeliveryRow._make(row) for row in tx.execute(query)]


def delivery(tx: Connection, account_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryRow | None:
    row = tx.execute(select(*_DELIVERY).where(d.account_id == account_id, d.id == delivery_id)).first()
    return None if row is None else DeliveryRow._make(row)


def attempts_of(tx: Connection, account_id: uuid.UUID, delivery_id: uuid.UUID) -> list[AttemptRow]:
    """Every attempt of a delivery, first first (as many as the retry schedule has steps)."""
    query = select(*_ATTEMPT).where(a.account_id == account_id, a.delivery_id == delivery_id).order_by(a.number)
    return [AttemptRow._make(row) for row in tx.execute(query)]
