"""All SQL for contacts."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, case, func, insert, select, update

from patron.server.db import tables

c = tables.contact.c


class ContactRow(NamedTuple):
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    email: str
    billing_preference: str
    position: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


COLUMNS = tuple(c[name] for name in ContactRow._fields)

_OF_CUSTOMERS = (
    select(*COLUMNS)
    .where(c.account_id == bindparam("account_id"), c.customer_id.in_(bindparam("customer_ids", expanding=True)))
    .order_by(c.customer_id, c.position, c.id)
)
_LIVE_OF_CUSTOMERS = _OF_CUSTOMERS.where(c.archived_at.is_(None))
# One customer (the common case): no IN list to expand.
_OF_CUSTOMER = (
    select(*COLUMNS)
    .where(c.account_id == bindparam("account_id"), c.customer_id == bindparam("customer_id"))
    .order_by(c.position, c.id)
)
_LIVE_OF_CUSTOMER = _OF_CUSTOMER.where(c.archived_at.is_(None))


def of_customers(
    tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID], *, include_archived: bool
) -> list[ContactRow]:
    """The contacts of these customers, by customer, in their order."""
    if not customer_ids:
        return []
    if len(customer_ids) == 1:
        one = _OF_CUSTOMER if include_archived else _LIVE_OF_CUSTOMER
        rows = tx.execute(one, {"account_id": account_id, "customer_id": customer_ids[0]})
    else:
        many = _OF_CUSTOMERS if include_archived else _LIVE_OF_CUSTOMERS
        rows = tx.execute(many, {"account_id": account_id, "customer_ids": list(customer_ids)})
    return [ContactRow._make(row) for row in rows]


def get(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID, contact_id: uuid.UUID) -> ContactRow | None:
    query = select(*COLUMNS).where(c.account_id == account_id, c.customer_id == customer_id, c.id == contact_id)
    row = tx.execute(query).first()
    return ContactRow._make(row) if row is not None else None


def count_of(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID) -> tuple[int, int]:
    """How many contacts the customer has: (live, archived ones included)."""
    live = func.count(case((c.archived_at.is_(None), 1)))
    query = select(live, func.count()).where(c.account_id == account_id, c.customer_id == customer_id)
    row = tx.execute(query).one()
    return int(row[0]), int(row[1])


def next_position(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID) -> int:
    query = select(func.coalesce(func.max(c.position), -1)).where(
        c.account_id == account_id, c.customer_id == customer_id
    )
    return int(tx.execute(query).scalar_one()) + 1


def insert_contact(tx: Connection, values: Mapping[str, Any]) -> None:
    """Insert a contact row built by `db.rows.contact`."""
    tx.execute(insert(tables.contact).values(**values))


def update_contact(tx: Connection, account_id: uuid.UUID, contact_id: uuid.UUID, **values: Any) -> None:
    tx.execute(update(tables.contact).where(c.account_id == account_id, c.id == contact_id).values(**values))


def archive(tx: Connection, account_id: uuid.UUID, contact_ids: Sequence[uuid.UUID], now: datetime) -> None:
    if contact_ids:
        tx.execute(
            update(tables.contact)
            .where(c.account_id == account_id, c.id.in_(contact_ids), c.archived_at.is_(None))
            .values(archived_at=now, updated_at=now)
        )
