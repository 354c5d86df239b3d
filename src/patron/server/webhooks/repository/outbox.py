"""All SQL of the outbox's write path: the digests of what was last announced, and the
events and deliveries a write records in its own transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, insert, update

from patron.server.db import tables, upsert

d = tables.announced_customer.c


_HOLD = {
    name: make(tables.announced_customer)
    .values(account_id=bindparam("a"), customer_id=bindparam("c"), digest=None)
    # On a conflict the digest is set to itself: the row is locked, its value returned as it was.
    .on_conflict_do_update(index_elements=["account_id", "customer_id"], set_={"digest": d.digest})
    .returning(d.customer_id, d.digest)
    for name, make in upsert.INSERTS.items()
}


def hold(tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """The digest each customer was last announced with (None: never), each row locked to
    the end of the transaction, in id order (so writes announcing the same customers never
    deadlock); a missing row is created empty. Taken before rendering, so a racing write
    that announces one of them commits first and its change is in what this one renders."""
    if not customer_ids:
        return {}
    rows = [{"a": account_id, "c": i} for i in sorted(customer_ids)]
    return dict(tx.execute(_HOLD[tx.dialect.name], rows).tuples().all())


_STORE = (
    update(tables.announced_customer)
    .where(d.account_id == bindparam("a"), d.customer_id == bindparam("c"))
    .values(digest=bindparam("digest"))
)


def store_digests(tx: Connection, account_id: uuid.UUID, digests: Mapping[uuid.UUID, str]) -> None:
    if digests:
        tx.execute(_STORE, [{"a": account_id, "c": i, "digest": v} for i, v in digests.items()])


def insert_events(tx: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        tx.execute(insert(tables.webhook_event), list(rows))


def insert_deliveries(tx: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        tx.execute(insert(tables.webhook_delivery), list(rows))
