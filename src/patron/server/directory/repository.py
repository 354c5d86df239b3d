"""All SQL for looking customers up by id."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Connection, select

from patron.server.db import tables

c = tables.customer.c


def exists(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID) -> bool:
    query = select(c.id).where(c.account_id == account_id, c.id == customer_id)
    return tx.execute(query).first() is not None


def lock(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID) -> bool:
    """Lock the customer's row to the end of the transaction; False when there is none.

    FOR NO KEY UPDATE, the lock an UPDATE of the row takes: rows that refer to the customer
    (contacts, aliases, members) can still be inserted meanwhile. SQLite ignores it (one
    writer at a time)."""
    query = select(c.id).where(c.account_id == account_id, c.id == customer_id).with_for_update(key_share=True)
    return tx.execute(query).first() is not None


def existing(tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if not customer_ids:
        return set()
    query = select(c.id).where(c.account_id == account_id, c.id.in_(customer_ids))
    return set(tx.execute(query).scalars())


def names(tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not customer_ids:
        return {}
    query = select(c.id, c.legal_name).where(c.account_id == account_id, c.id.in_(customer_ids))
    return {row.id: row.legal_name for row in tx.execute(query)}
