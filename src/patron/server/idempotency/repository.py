"""All SQL for stored idempotent responses.

A key is claimed before the work runs and its answer recorded after, in the work's own
transaction: a crash or an error rolls back the claim with the work, so the key is free
again and nothing half-done is ever replayed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

from patron.server.db import tables
from patron.server.errors import Conflict

k = tables.idempotency_key.c

# How long a claim waits on PostgreSQL for another transaction holding the same key
# (its request is still running) before answering 409: long enough to replay a request
# that is just committing, short enough that a racing retry is told at once.
CLAIM_WAIT_MS = 100
_LOCK_NOT_AVAILABLE = "55P03"
# Expired keys of an account deleted with each new one: the table holds about a day's
# keys, without a sweep, and no request pays for more than a few rows.
PURGE_BATCH = 10


class Stored(NamedTuple):
    """The first answer to a key's request."""

    request_hash: str
    status: int
    body: str


def claim(tx: Connection, account_id: uuid.UUID, key: str, request_hash: str, now: datetime, expired: datetime) -> bool:
    """Take the key for this request (new, or kept past `expired`): True when taken,
    False when a live key already holds an answer. On PostgreSQL a key another running
    transaction holds is a `Conflict` after `CLAIM_WAIT_MS`; SQLite writers never overlap."""
    values = {"request_hash": request_hash, "status": 0, "body": "", "created_at": now}
    upsert = sqlite_insert if tx.dialect.name == "sqlite" else postgresql_insert
    statement = (
        upsert(tables.idempotency_key)
        .values(account_id=account_id, key=key, **values)
        .on_conflict_do_update(index_elements=["account_id", "key"], set_=values, where=k.created_at <= expired)
        .returning(k.created_at)  # a row: inserted or taken over; none: a live key holds it
    )
    if tx.dialect.name != "postgresql":
        return tx.execute(statement).first() is not None
    tx.exec_driver_sql(f"SET LOCAL lock_timeout = '{CLAIM_WAIT_MS}ms'")
    try:
        taken = tx.execute(statement).first() is not None
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise Conflict("a request with this Idempotency-Key is in progress; retry it later") from None
        raise
    tx.exec_driver_sql("SET LOCAL lock_timeout TO DEFAULT")
    return taken


def find(tx: Connection, account_id: uuid.UUID, key: str) -> Stored | None:
    query = select(k.request_hash, k.status, k.body).where(k.account_id == account_id, k.key == key)
    row = tx.execute(query).first()
    return Stored._make(row) if row is not None else None


def record(tx: Connection, account_id: uuid.UUID, key: str, status: int, body: str) -> None:
    """Store the answer of the request that claimed the key."""
    where = (k.account_id == account_id, k.key == key)
    tx.execute(update(tables.idempotency_key).where(*where).values(status=status, body=body))


def purge(tx: Connection, account_id: uuid.UUID, expired: datetime) -> None:
    """Delete up to `PURGE_BATCH` of the account's keys kept past `expired`, oldest first
    (rows another transaction is deleting are skipped on PostgreSQL, not waited for). The
    batch is a CTE, chosen once: as an `IN (subquery)`, PostgreSQL could run the limited
    subquery again per row and, skipping the rows it had just deleted, delete them all."""
    oldest = (
        select(k.key)
        .where(k.account_id == account_id, k.created_at <= expired)
        .order_by(k.created_at)
        .limit(PURGE_BATCH)
        .with_for_update(skip_locked=True)
        .cte("oldest")
    )
    doomed = select(oldest.c.key)
    tx.execute(delete(tables.idempotency_key).where(k.account_id == account_id, k.key.in_(doomed)))
