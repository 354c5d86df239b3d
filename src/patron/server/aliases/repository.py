"""All SQL for customer aliases."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from patron.server.db import Record, tables
from patron.server.errors import Conflict

a = tables.customer_alias.c

COLUMNS = (a.id, a.account_id, a.customer_id, a.value, a.label, a.created_at, a.deleted_at)


def insert_alias(
    tx: Connection,
    *,
    account_id: uuid.UUID,
    alias_id: uuid.UUID,
    customer_id: uuid.UUID,
    value: str,
    label: str | None,
    now: datetime,
) -> None:
    """Insert a live alias; the unique index decides races, a loser gets `Conflict`."""
    statement = insert(tables.customer_alias).values(
        account_id=account_id,
        id=alias_id,
        customer_id=customer_id,
        value=value,
        label=label,
        created_at=now,
    )
    try:
        with tx.begin_nested():
            tx.execute(statement)
    except IntegrityError:
        raise Conflict(f"the alias {value!r} is already in use") from None


def get_alias(tx: Connection, account_id: uuid.UUID, alias_id: uuid.UUID) -> Record | None:
    query = select(*COLUMNS).where(a.account_id == account_id, a.id == alias_id, a.deleted_at.is_(None))
    return tx.execute(query).first()


def live_values_of(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID) -> set[str]:
    query = select(a.value).where(a.account_id == account_id, a.customer_id == customer_id, a.deleted_at.is_(None))
    return set(tx.execute(query).scalars())


def aliases_of(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID) -> list[Record]:
    query = (
        select(*COLUMNS)
        .where(a.account_id == account_id, a.customer_id == customer_id, a.deleted_at.is_(None))
        .order_by(a.created_at, a.id)
    )
    return list(tx.execute(query))


_CUSTOMER_OF_VALUE = select(a.customer_id).where(
    a.account_id == bindparam("account_id"), a.value == bindparam("value"), a.deleted_at.is_(None)
)


def customer_of_value(tx: Connection, account_id: uuid.UUID, value: str) -> uuid.UUID | None:
    return tx.execute(_CUSTOMER_OF_VALUE, {"account_id": account_id, "value": value}).scalar()


def set_label(tx: Connection, account_id: uuid.UUID, alias_id: uuid.UUID, label: str | None) -> None:
    tx.execute(update(tables.customer_alias).where(a.account_id == account_id, a.id == alias_id).values(label=label))


def mark_deleted(tx: Connection, account_id: uuid.UUID, alias_id: uuid.UUID, now: datetime) -> bool:
    statement = (
        update(tables.customer_alias)
        .where(a.account_id == account_id, a.id == alias_id, a.deleted_at.is_(None))
        .values(deleted_at=now)
    )
    return tx.execute(statement).rowcount == 1


def list_query(account_id: uuid.UUID, *, value: str | None) -> Select[Any]:
    query = select(*COLUMNS).where(a.account_id == account_id, a.deleted_at.is_(None))
    if value is not None:
        query = query.where(a.value == value)
    return query


def count(tx: Connection, query: Select[Any]) -> int:
    return int(tx.execute(select(func.count()).select_from(query.subquery())).scalar_one())


def sort_columns() -> Sequence[Any]:
    return (a.created_at, a.id)


def live_values_for(
    tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """Every live alias value of each customer, oldest first (export)."""
    result: dict[uuid.UUID, list[str]] = {ident: [] for ident in customer_ids}
    if customer_ids:
        query = (
            select(a.customer_id, a.value)
            .where(a.account_id == account_id, a.customer_id.in_(customer_ids), a.deleted_at.is_(None))
            .order_by(a.customer_id, a.created_at, a.id)
        )
        for row in tx.execute(query):
            result[row.customer_id].append(row.value)
    return result
