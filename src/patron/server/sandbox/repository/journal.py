"""All SQL for the request journal (docs/sandbox.md): an account's recent requests, on its
primary key (account, time-ordered id), so the newest come first off the index and the
oldest go with one ranged DELETE."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, delete, insert, select

from patron.server.db import tables

r = tables.sandbox_request.c


class Entry(NamedTuple):
    id: uuid.UUID
    request_id: str
    at: datetime
    method: str
    path: str
    query: str
    status: int
    duration_ms: float
    request_body: str
    response_body: str


_COLUMNS = (
    r.id,
    r.request_id,
    r.at,
    r.method,
    r.path,
    r.query,
    r.status,
    r.duration_ms,
    r.request_body,
    r.response_body,
)
_INSERT = insert(tables.sandbox_request)


def without_waiting_for_the_disk(tx: Connection) -> None:
    """On PostgreSQL, let this transaction's commit return before its WAL reaches the disk
    (`SET LOCAL`: this transaction only). A crash may lose the last entries, never mix
    them up; what is committed is visible at once all the same. SQLite cannot change this
    within a transaction."""
    if tx.dialect.name == "postgresql":
        tx.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def insert_entry(tx: Connection, account_id: uuid.UUID, entry: Entry) -> None:
    tx.execute(_INSERT, {"account_id": account_id, **entry._asdict()})


def newest(tx: Connection, account_id: uuid.UUID, limit: int) -> list[Entry]:
    query = select(*_COLUMNS).where(r.account_id == account_id).order_by(r.id.desc()).limit(limit)
    return [Entry._make(row) for row in tx.execute(query)]


def keep_newest(tx: Connection, account_id: uuid.UUID, keep: int) -> int:
    """Delete the account's entries older than its `keep` newest; how many went."""
    boundary = (
        select(r.id).where(r.account_id == account_id).order_by(r.id.desc()).offset(keep - 1).limit(1)
    ).scalar_subquery()
    done = tx.execute(delete(tables.sandbox_request).where(r.account_id == account_id, r.id < boundary))
    return int(done.rowcount)
