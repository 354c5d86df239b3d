"""All SQL for stored idempotent responses.

A key is claimed before the work runs and its answer recorded after, in the work's own
transaction: a crash or an error rolls back the claim with the work, so the key is free
again and nothing half-done is ever replayed. The statements are built once, at import,
with `bindparam`s: a keyed request pays for running them, not for building them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.exc import DBAPIError

from patron.server.db import tables, upsert
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


# Parameter names are not the columns': UPDATE reserves those for its SET clause.
_THIS_KEY = (k.account_id == bindparam("account"), k.key == bindparam("the_key"))
_PLACEHOLDER = {"request_hash": bindparam("digest"), "status": 0, "body": "", "created_at": bindparam("now")}
# A new key: inserted. A key in use: nothing, and no lock on its row (concurrent replays
# never queue); on PostgreSQL it waits while the transaction inserting it is still open.
_CLAIM = {
    name: insert(tables.idempotency_key)
    .values(account_id=bindparam("account"), key=bindparam("the_key"), **_PLACEHOLDER)
    .on_conflict_do_nothing(index_elements=["account_id", "key"])
    .returning(k.created_at)
    for name, insert in upsert.INSERTS.items()
}
_FIND = select(k.request_hash, k.status, k.body, k.created_at).where(*_THIS_KEY)
_TAKE_OVER = (
    update(tables.idempotency_key)
    .where(*_THIS_KEY, k.created_at <= bindparam("expired"))
    .values(**_PLACEHOLDER)
    .returning(k.created_at)
)
_RECORD = (
    update(tables.idempotency_key)
    .where(*_THIS_KEY)
    .values(status=bindparam("answer_status"), body=bindparam("answer_body"))
)
# The batch is a CTE, chosen once: as an `IN (subquery)`, PostgreSQL could run the limited
# subquery again per row and, skipping the rows it had just deleted, delete them all.
# Rows another transaction is purging are skipped on PostgreSQL, not waited for.
_OLDEST = (
    select(k.key)
    .where(k.account_id == bindparam("account"), k.created_at <= bindparam("expired"))
    .order_by(k.created_at)
    .limit(PURGE_BATCH)
    .with_for_update(skip_locked=True)
    .cte("oldest")
)
_PURGE = delete(tables.idempotency_key).where(k.account_id == bindparam("account"), k.key.in_(select(_OLDEST.c.key)))


def claim(
    tx: Connection, account_id: uuid.UUID, key: str, request_hash: str, now: datetime, expired: datetime
) -> Stored | None:
    """Take the key for this request: None when taken (new, or kept past `expired`), else
    the live key's stored answer. On PostgreSQL, a key another open transaction holds is
    a `Conflict` after `CLAIM_WAIT_MS`; SQLite writers never overlap."""
    arguments = {"account": account_id, "the_key": key, "digest": request_hash, "now": now, "expired": expired}
    if tx.dialect.name != "postgresql":
        return _claim(tx, arguments)
    tx.exec_driver_sql(f"SET LOCAL lock_timeout = '{CLAIM_WAIT_MS}ms'")
    try:
        stored = _claim(tx, arguments)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise _in_progress() from None
        raise
    if stored is None:  # the work runs next: its own waits are not bounded by the claim's
        tx.exec_driver_sql("SET LOCAL lock_timeout TO DEFAULT")
    return stored


def _claim(tx: Connection, arguments: dict[str, object]) -> Stored | None:
    if tx.execute(_CLAIM[tx.dialect.name], arguments).first() is not None:
        return None
    found = tx.execute(_FIND, arguments).first()
    if found is None:  # purged between the two statements: it had expired
        raise _in_progress()
    if found.created_at > arguments["expired"]:
        return Stored(found.request_hash, found.status, found.body)
    if tx.execute(_TAKE_OVER, arguments).first() is None:  # another request took it over
        raise _in_progress()
    return None


def _in_progress() -> Conflict:
    return Conflict("a request with this Idempotency-Key is in progress; retry it later")


def record(tx: Connection, account_id: uuid.UUID, key: str, status: int, body: str) -> None:
    """Store the answer of the request that claimed the key."""
    tx.execute(_RECORD, {"account": account_id, "the_key": key, "answer_status": status, "answer_body": body})


def purge(tx: Connection, account_id: uuid.UUID, expired: datetime) -> None:
    """Delete up to `PURGE_BATCH` of the account's keys kept past `expired`, oldest first."""
    tx.execute(_PURGE, {"account": account_id, "expired": expired})
