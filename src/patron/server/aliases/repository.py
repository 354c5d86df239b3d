"""All SQL for customer aliases."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Select, String, Uuid, bindparam, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from patron.server.db import keyset, tables
from patron.server.errors import Conflict

a = tables.customer_alias.c


class AliasRow(NamedTuple):
    id: uuid.UUID
    account_id: uuid.UUID
    customer_id: uuid.UUID
    value: str
    label: str | None
    created_at: datetime
    deleted_at: datetime | None


COLUMNS = tuple(a[name] for name in AliasRow._fields)


def insert_alias(tx: Connection, values: Mapping[str, Any]) -> None:
    """Insert a live alias built by `db.rows.alias`; the unique index decides races, a
    loser gets `Conflict`."""
    statement = insert(tables.customer_alias).values(**values)
    value = values["value"]
    try:
        with tx.begin_nested():
            tx.execute(statement)
    except IntegrityError:
        raise Conflict(f"the alias {value!r} is already in use") from None


def get_alias(tx: Connection, account_id: uuid.UUID, alias_id: uuid.UUID) -> AliasRow | None:
    query = select(*COLUMNS).where(a.account_id == account_id, a.id == alias_id, a.deleted_at.is_(None))
    row = tx.execute(query).first()
    return AliasRow._make(row) if row is not None else None


def live_values_of(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID) -> set[str]:
    query = select(a.value).where(a.account_id == account_id, a.customer_id == customer_id, a.deleted_at.is_(None))
    return set(tx.execute(query).scalars())


def count_live_of(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID) -> int:
    query = select(func.count()).where(a.account_id == account_id, a.customer_id == customer_id, a.deleted_at.is_(None))
    return int(tx.execute(query).scalar_one())


def aliases_of(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID) -> list[AliasRow]:
    query = (
        select(*COLUMNS)
        .where(a.account_id == account_id, a.customer_id == customer_id, a.deleted_at.is_(None))
        .order_by(a.created_at, a.id)
    )
    return [AliasRow._make(row) for row in tx.execute(query)]


def set_label(tx: Connection, account_id: uuid.UUID, alias_id: uuid.UUID, label: str | None) -> None:
    tx.execute(update(tables.customer_alias).where(a.account_id == account_id, a.id == alias_id).values(label=label))


def mark_deleted(tx: Connection, account_id: uuid.UUID, alias_id: uuid.UUID, now: datetime) -> bool:
    statement = (
        update(tables.customer_alias)
        .where(a.account_id == account_id, a.id == alias_id, a.deleted_at.is_(None))
        .values(deleted_at=now)
    )
    return tx.execute(statement).rowcount == 1


# Listing: newest first; cursors hold (created_at, id).
LIST_SORT = (
    keyset.SortColumn(a.created_at, "datetime", descending=True),
    keyset.SortColumn(a.id, "uuid", descending=True),
)


def _listed(account_id: uuid.UUID, value: str | None) -> Select[Any]:
    query = select(*COLUMNS).where(a.account_id == account_id, a.deleted_at.is_(None))
    return query if value is None else query.where(a.value == value)


def page(
    tx: Connection,
    account_id: uuid.UUID,
    *,
    value: str | None,
    limit: int,
    cursor: keyset.Cursor | None,
    codec: keyset.CursorCodec,
) -> keyset.Page[AliasRow]:
    """One page of the account's live aliases (of one value, when given), newest first."""
    segments = [keyset.Segment(_listed(account_id, value), LIST_SORT)]
    found = keyset.fetch_page(
        tx, segments, LIST_SORT, lambda r: (r.created_at, r.id), limit=limit, cursor=cursor, codec=codec
    )
    return keyset.Page([AliasRow._make(row) for row in found.rows], found.after, found.before)


def count(tx: Connection, account_id: uuid.UUID, *, value: str | None) -> int:
    query = _listed(account_id, value)
    return int(tx.execute(select(func.count()).select_from(query.subquery())).scalar_one())


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


# One query, one parameter for a whole import batch: a JSON array on SQLite, an array on
# PostgreSQL (thousands of bound values cost more to pass than the lookup itself).
_LIVE_ALIAS_OWNERS = {
    "sqlite": text(
        "SELECT value, customer_id FROM customer_aliases WHERE account_id = :account_id "
        "AND value IN (SELECT j.value FROM json_each(:values) AS j) AND deleted_at IS NULL"
    ),
    "postgresql": text(
        "SELECT value, customer_id FROM customer_aliases WHERE account_id = :account_id "
        "AND value = ANY(:values) AND deleted_at IS NULL"
    ),
}


def owners_of(tx: Connection, account_id: uuid.UUID, values: Sequence[str]) -> dict[str, uuid.UUID]:
    """Which customer holds each of these live alias values."""
    if not values:
        return {}
    sqlite = tx.dialect.name == "sqlite"
    statement = (
        _LIVE_ALIAS_OWNERS[tx.dialect.name]
        .bindparams(bindparam("account_id", type_=Uuid))
        .columns(value=String, customer_id=Uuid)
    )
    rows = tx.execute(
        statement, {"account_id": account_id, "values": json.dumps(list(values)) if sqlite else list(values)}
    )
    return {row.value: row.customer_id for row in rows}
