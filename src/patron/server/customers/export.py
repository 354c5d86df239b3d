"""Export: every customer of an account in creation order, a batch at a time, each batch
read in the transaction its caller gives (so an export of any size holds neither a long
transaction nor more than one batch in memory)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from patron.server.aliases import service as aliases
from patron.server.customers import service
from patron.server.customers.repository import records
from patron.wire import models as wire

# Where a batch ended: (createdAt, id) of its last customer.
Position = tuple[datetime, uuid.UUID]


@dataclass(frozen=True)
class Batch:
    """Customers with their live alias values; `end` is where the next batch starts (None
    when this one is empty: the export is complete)."""

    customers: list[tuple[wire.Customer, list[str]]]
    end: Position | None


def batch(tx: Connection, account_id: uuid.UUID, *, after: Position | None, size: int = 1000) -> Batch:
    """The next `size` customers after `after` (archived ones included)."""
    rows = records.batch_after(tx, account_id, after, size)
    if not rows:
        return Batch([], None)
    customers = service.full(tx, account_id, rows)
    held = aliases.values_of(tx, account_id, [row.id for row in rows])
    return Batch(
        [(customer, held[row.id]) for customer, row in zip(customers, rows, strict=True)],
        (rows[-1].created_at, rows[-1].id),
    )
