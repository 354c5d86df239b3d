"""All SQL of the test clock: an account's `frozen_at` (NULL: the wall clock)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, select, update

from patron.server.db import tables

a = tables.account.c


class AccountClock(NamedTuple):
    frozen_at: datetime | None


def read(tx: Connection, account_id: uuid.UUID) -> AccountClock | None:
    """The account's clock; None when there is no such account."""
    row = tx.execute(select(a.frozen_at).where(a.id == account_id)).first()
    return AccountClock._make(row) if row is not None else None


def lock(tx: Connection, account_id: uuid.UUID) -> AccountClock | None:
    """`read`, with the account's row locked to the end of the transaction (PostgreSQL;
    a SQLite writer holds the whole database already): racing advances run one after the
    other, each from the time the one before it stored."""
    query = select(a.frozen_at).where(a.id == account_id).with_for_update()
    row = tx.execute(query).first()
    return AccountClock._make(row) if row is not None else None


def set_frozen(tx: Connection, account_id: uuid.UUID, moment: datetime | None) -> bool:
    """Stop the account's time at `moment` (None: back to the wall clock); False when
    there is no such account."""
    statement = update(tables.account).where(a.id == account_id).values(frozen_at=moment)
    return bool(tx.execute(statement).rowcount)
