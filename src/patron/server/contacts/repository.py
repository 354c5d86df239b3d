"""All SQL for contacts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from patron.server.db import Record, tables
from patron.server.db.direct import Direct, Reads

c = tables.contact.c
COLUMNS = (
    c.id,
    c.customer_id,
    c.name,
    c.email,
    c.billing_preference,
    c.position,
    c.created_at,
    c.updated_at,
    c.archived_at,
)


_OF_CUSTOMERS = (
    select(*COLUMNS)
    .where(c.account_id == bindparam("account_id"), c.customer_id.in_(bindparam("customer_ids", expanding=True)))
    .order_by(c.customer_id, c.position, c.id)
)
_LIVE_OF_CUSTOMERS = _OF_CUSTOMERS.where(c.archived_at.is_(None))
# One customer (the common case), run on the driver (`direct`).
_ONE = (
    select(*COLUMNS)
    .where(c.account_id == bindparam("account_id"), c.customer_id == bindparam("customer_id"))
    .order_by(c.position, c.id)
)
_OF_CUSTOMER = Direct(_ONE)
_LIVE_OF_CUSTOMER = Direct(_ONE.where(c.archived_at.is_(None)))


def of_customer(reads: Reads, account_id: uuid.UUID, customer_id: uuid.UUID, *, include_archived: bool) -> list[Any]:
    one = _OF_CUSTOMER if include_archived else _LIVE_OF_CUSTOMER
    return one.all(reads, {"account_id": account_id, "customer_id": customer_id})


def of_customers(
    tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID], *, include_archived: bool
) -> list[Record]:
    if not customer_ids:
        return []
    if len(customer_ids) == 1:
        return of_customer(tx, account_id, customer_ids[0], include_archived=include_archived)
    query = _OF_CUSTOMERS if include_archived else _LIVE_OF_CUSTOMERS
    return list(tx.execute(query, {"account_id": account_id, "customer_ids": list(customer_ids)}))


def get(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID, contact_id: uuid.UUID) -> Record | None:
    query = select(*COLUMNS).where(c.account_id == account_id, c.customer_id == customer_id, c.id == contact_id)
    return tx.execute(query).first()


def next_position(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID) -> int:
    query = select(func.coalesce(func.max(c.position), -1)).where(
        c.account_id == account_id, c.customer_id == customer_id
    )
    return int(tx.execute(query).scalar_one()) + 1


def insert_contact(
    tx: Connection,
    *,
    account_id: uuid.UUID,
    customer_id: uuid.UUID,
    contact_id: uuid.UUID,
    name: str,
    email: str,
    email_key: str,
    billing_preference: str,
    position: int,
    now: datetime,
) -> None:
    tx.execute(
        insert(tables.contact).values(
            account_id=account_id,
            id=contact_id,
            customer_id=customer_id,
            name=name,
            email=email,
            email_key=email_key,
            billing_preference=billing_preference,
            position=position,
            created_at=now,
            updated_at=now,
        )
    )


def update_contact(tx: Connection, account_id: uuid.UUID, contact_id: uuid.UUID, **values: Any) -> None:
    tx.execute(update(tables.contact).where(c.account_id == account_id, c.id == contact_id).values(**values))


def archive(tx: Connection, account_id: uuid.UUID, contact_ids: Sequence[uuid.UUID], now: datetime) -> None:
    if contact_ids:
        tx.execute(
            update(tables.contact)
            .where(c.account_id == account_id, c.id.in_(contact_ids), c.archived_at.is_(None))
            .values(archived_at=now, updated_at=now)
        )
