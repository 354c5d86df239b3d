"""All SQL of the operator's accounts: the listing, the lock every reset, delete and snapshot
takes first, and what a reset and a delete remove."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, Table, delete, select, update

from patron.server.db import locks, tables

a = tables.account.c
cr = tables.credential.c

RESET: tuple[Table, ...] = (
    *tables.ACCOUNT_DATA,
    tables.idempotency_key,
    tables.sandbox_fault,
    tables.sandbox_request,
    *tables.WEBHOOK_LOG,
)
"""What a reset removes: the registry and the notification policies, the idempotency keys,
the faults, the journal and the webhook events with their deliveries (each before the
tables it refers to); credentials and snapshots stay."""


class ListedAccount(NamedTuple):
    id: uuid.UUID
    name: str
    created_at: datetime
    frozen_at: datetime | None


def page(tx: Connection, *, after: uuid.UUID | None, limit: int) -> list[ListedAccount]:
    """Accounts in creation order (their ids are time-ordered), after the id `after`."""
    query = select(a.id, a.name, a.created_at, a.frozen_at)
    if after is not None:
        query = query.where(a.id > after)
    return [ListedAccount._make(row) for row in tx.execute(query.order_by(a.id).limit(limit))]


def live_client_ids(tx: Connection, account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The unrevoked client ids of each account, oldest first."""
    query = (
        select(cr.account_id, cr.client_id)
        .where(cr.account_id.in_(account_ids), cr.revoked_at.is_(None))
        .order_by(cr.account_id, cr.created_at, cr.client_id)
    )
    found: dict[uuid.UUID, list[str]] = defaultdict(list)
    for account_id, client_id in tx.execute(query) if account_ids else ():
        found[account_id].append(client_id)
    return found


def exists(tx: Connection, account_id: uuid.UUID, *, lock: bool = False) -> bool:
    """Does the account exist? `lock`: and hold its row until the transaction ends (on
    PostgreSQL; SQLite's writers take turns anyway). `FOR NO KEY UPDATE`: rows that refer
    to the account are not held up."""
    query = select(a.id).where(a.id == account_id)
    if lock:
        query = query.with_for_update(key_share=True)
    return tx.execute(query).first() is not None


def lock(tx: Connection, account_id: uuid.UUID) -> int | None:
    """Take the account's write lock alone, then lock its row and its customers' rows; the
    number of customers, or None when there is no such account.

    On PostgreSQL every API write holds the write lock shared from its first statement
    (`accounts.service.begin_write`), so this waits for the writes in flight, and writes
    arriving later wait for this transaction, before either holds any row: what follows
    (a reset, a delete, a snapshot's reads) sees every write committed before it and none
    after, and never deadlocks with one. The row locks hold off what writes outside the
    API (an import, the webhook dispatcher's bookkeeping) would change meanwhile. SQLite
    runs one writer at a time anyway (neither lock is even said there)."""
    locks.exclusive(tx, locks.ACCOUNT, account_id)
    if tx.execute(select(a.id).where(a.id == account_id).with_for_update()).first() is None:
        return None
    c = tables.customer.c
    held = tx.execute(select(c.id).where(c.account_id == account_id).order_by(c.id).with_for_update())
    return len(held.all())


def reset(tx: Connection, account_id: uuid.UUID) -> None:
    """Remove what `RESET` names and put the account's test clock back to the wall clock."""
    for table in RESET:
        tx.execute(delete(table).where(table.c.account_id == account_id))
    tx.execute(update(tables.account).where(a.id == account_id).values(frozen_at=None))


def clear_idempotency_keys(tx: Connection, account_id: uuid.UUID) -> None:
    key = tables.idempotency_key
    tx.execute(delete(key).where(key.c.account_id == account_id))


def delete_account(tx: Connection, account_id: uuid.UUID) -> None:
    """The account and every row of every table that holds an `account_id`, each table
    before the tables it refers to (so a table added later goes too, with no new code)."""
    for table in reversed(tables.metadata.sorted_tables):
        if "account_id" in table.c:
            tx.execute(delete(table).where(table.c.account_id == account_id))
    tx.execute(delete(tables.account).where(a.id == account_id))
