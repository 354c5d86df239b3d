"""All SQL for stored idempotent responses."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from patron.server.db import tables
from patron.server.errors import Conflict

k = tables.idempotency_key.c


class Stored(NamedTuple):
    """The first answer to a key's request."""

    request_hash: str
    status: int
    body: str
    created_at: datetime


def find(tx: Connection, account_id: uuid.UUID, key: str) -> Stored | None:
    query = select(k.request_hash, k.status, k.body, k.created_at).where(k.account_id == account_id, k.key == key)
    row = tx.execute(query).first()
    return Stored._make(row) if row is not None else None


def forget(tx: Connection, account_id: uuid.UUID, key: str) -> None:
    tx.execute(delete(tables.idempotency_key).where(k.account_id == account_id, k.key == key))


def store(
    tx: Connection, *, account_id: uuid.UUID, key: str, request_hash: str, status: int, body: str, now: datetime
) -> None:
    statement = insert(tables.idempotency_key).values(
        account_id=account_id, key=key, request_hash=request_hash, status=status, body=body, created_at=now
    )
    try:
        with tx.begin_nested():
            tx.execute(statement)
    except IntegrityError:
        raise Conflict("another request with this Idempotency-Key is in progress; retry it") from None
