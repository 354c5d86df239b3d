"""All SQL of notification policies, and of cancelling the deliveries a policy no longer wants."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    exists,
    func,
    insert,
    literal,
    null,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from patron.server.db import keyset, tables

p = tables.notification_policy.c
d = tables.webhook_delivery.c


class Target(NamedTuple):
    """A live policy as the outbox matches it against an event."""

    policy_id: uuid.UUID
    channel: str
    recipients: list[str]
    notification_types: list[str] | None
    webhook_secret: str | None


def live_targets(tx: Connection, account_id: uuid.UUID) -> list[Target]:
    """The account's policies that are not deleted, oldest first."""
    query = (
        select(p.id, p.channel, p.recipients, p.notification_types, p.webhook_secret)
        .where(p.account_id == account_id, p.deleted_at.is_(None))
        .order_by(p.created_at, p.id)
    )
    return [
        Target(row.id, row.channel, list(row.recipients), _types(row.notification_types), row.webhook_secret)
        for row in tx.execute(query)
    ]


def _types(stored: Any) -> list[str] | None:
    return None if stored is None else list(stored)


class PolicyRow(NamedTuple):
    id: uuid.UUID
    account_id: uuid.UUID
    name: str
    channel: str
    recipients: list[str]
    notification_types: list[str] | None
    webhook_secret: str | None
    created_at: datetime


COLUMNS = tuple(p[name] for name in PolicyRow._fields)


def _row(found: Any) -> PolicyRow:
    row = PolicyRow._make(found)
    return row._replace(recipients=list(row.recipients), notification_types=_types(row.notification_types))


def insert_policy(tx: Connection, values: Mapping[str, Any]) -> None:
    tx.execute(insert(tables.notification_policy).values(**values))


def _live(account_id: uuid.UUID, policy_id: uuid.UUID) -> Select[Any]:
    return select(*COLUMNS).where(p.account_id == account_id, p.id == policy_id, p.deleted_at.is_(None))


def get(tx: Connection, account_id: uuid.UUID, policy_id: uuid.UUID) -> PolicyRow | None:
    found = tx.execute(_live(account_id, policy_id)).first()
    return None if found is None else _row(found)


def lock(tx: Connection, account_id: uuid.UUID, policy_id: uuid.UUID) -> PolicyRow | None:
    """The live policy with its row locked to the end of the transaction (None when there
    is none): a change computed from what it reads is then written before any other change
    of the policy reads it. PostgreSQL rechecks `deleted_at` once a lock it waited for is
    released, so a policy deleted meanwhile is None; SQLite ignores the lock (one writer at
    a time: `BEGIN IMMEDIATE`)."""
    found = tx.execute(_live(account_id, policy_id).with_for_update()).first()
    return None if found is None else _row(found)


def set_recipients(tx: Connection, account_id: uuid.UUID, policy_id: uuid.UUID, recipients: list[str]) -> None:
    statement = update(tables.notification_policy).where(p.account_id == account_id, p.id == policy_id)
    tx.execute(statement.values(recipients=recipients))


def set_types(tx: Connection, account_id: uuid.UUID, policy_id: uuid.UUID, types: list[str] | None) -> None:
    statement = update(tables.notification_policy).where(p.account_id == account_id, p.id == policy_id)
    tx.execute(statement.values(notification_types=stored_types(types)))


def stored_types(types: list[str] | None) -> Any:
    """The column's value: SQL NULL for every type (the JSON type would store None as the
    JSON `null`)."""
    return null() if types is None else types


def mark_deleted(tx: Connection, account_id: uuid.UUID, policy_id: uuid.UUID, now: datetime) -> bool:
    """Delete a live policy; False when it is not (or no longer) live."""
    statement = (
        update(tables.notification_policy)
        .where(p.account_id == account_id, p.id == policy_id, p.deleted_at.is_(None))
        .values(deleted_at=now)
    )
    return tx.execute(statement).rowcount == 1


def cancel_pending(
    tx: Connection, account_id: uuid.UUID, policy_id: uuid.UUID, now: datetime, *, recipient: str | None = None
) -> int:
    """Cancel the policy's deliveries still waiting to be sent (to `recipient` only, when
    given); how many were."""
    statement = update(tables.webhook_delivery).where(
        d.account_id == account_id, d.policy_id == policy_id, d.status == "pending"
    )
    if recipient is not None:
        statement = statement.where(d.recipient == recipient)
    return int(tx.execute(statement.values(status="cancelled", finished_at=now)).rowcount)


# Listing: newest first; cursors hold (created_at, id).
LIST_SORT = (
    keyset.SortColumn(p.created_at, "datetime", descending=True),
    keyset.SortColumn(p.id, "uuid", descending=True),
)


def _matches(tx: Connection, notification_type: str) -> ColumnElement[bool]:
    """A policy that matches `notification_type`: it has no list (every type) or lists it.
    No list is SQL NULL, or the JSON `null` a row copied back as JSON may hold (a snapshot
    restored on SQLite)."""
    column = p.notification_types
    if tx.dialect.name == "postgresql":
        every = func.jsonb_typeof(column) == "null"
        listed: ColumnElement[bool] = column.op("@>")(type_coerce([notification_type], JSONB))
    else:
        every = func.json_type(column) == "null"
        each = func.json_each(column).table_valued("value")
        listed = exists(select(literal(1)).select_from(each).where(each.c.value == notification_type))
    return column.is_(None) | every | listed


def _listed(tx: Connection, account_id: uuid.UUID, notification_type: str | None) -> Select[Any]:
    query = select(*COLUMNS).where(p.account_id == account_id, p.deleted_at.is_(None))
    return query if notification_type is None else query.where(_matches(tx, notification_type))


def page(
    tx: Connection,
    account_id: uuid.UUID,
    *,
    notification_type: str | None,
    limit: int,
    cursor: keyset.Cursor | None,
    codec: keyset.CursorCodec,
) -> keyset.Page[PolicyRow]:
    """One page of the account's live policies (those matching a type, when given), newest first."""
    segments = [keyset.Segment(_listed(tx, account_id, notification_type), LIST_SORT)]
    found = keyset.fetch_page(
        tx, segments, LIST_SORT, lambda r: (r.created_at, r.id), limit=limit, cursor=cursor, codec=codec
    )
    return keyset.Page([_row(row) for row in found.rows], found.after, found.before)


def count(tx: Connection, account_id: uuid.UUID, *, notification_type: str | None) -> int:
    query = _listed(tx, account_id, notification_type)
    return int(tx.execute(select(func.count()).select_from(query.subquery())).scalar_one())
