"""All SQL for customers and their custom properties."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Select, Table, and_, bindparam, case, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from patron.server.db import Record, bulk, tables

c = tables.customer.c
p = tables.custom_property.c
al = tables.customer_alias.c
ct = tables.contact.c

# Sorting by a custom property: customers without it come last, in either direction.
PROPERTY_MISSING = case((p.value.is_(None), 1), else_=0)
PROPERTY_VALUE = p.value

TRIGRAM = 3

COLUMNS = (
    c.account_id,
    c.id,
    c.legal_name,
    c.legal_name_key,
    c.url,
    c.label,
    c.tax_status,
    c.status,
    c.address_line1,
    c.address_line2,
    c.address_town,
    c.address_state,
    c.address_postcode,
    c.address_country,
    c.integration_ids,
    c.parent_id,
    c.created_at,
    c.updated_at,
    c.archived_at,
)


def insert_customer(tx: Connection, values: Mapping[str, Any]) -> None:
    tx.execute(insert(tables.customer).values(**values))


def update_customer(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID, values: Mapping[str, Any]) -> None:
    tx.execute(update(tables.customer).where(c.account_id == account_id, c.id == customer_id).values(**values))


_GET = select(*COLUMNS).where(c.account_id == bindparam("account_id"), c.id == bindparam("customer_id"))


def get(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID) -> Record | None:
    return tx.execute(_GET, {"account_id": account_id, "customer_id": customer_id}).first()


def exists(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID) -> bool:
    query = select(c.id).where(c.account_id == account_id, c.id == customer_id)
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


def list_query(
    account_id: uuid.UUID,
    *,
    dialect: str,
    legal_name: str | None,
    email: str | None,
    alias: str | None,
    alias_as_id: uuid.UUID | None,
    label: str | None,
    include_archived: bool,
    property_key: str | None,
) -> Select[Any]:
    """The customers matching the filters; `property_key` joins that custom property's value."""
    columns: list[Any] = list(COLUMNS)
    source: Any = tables.customer
    if property_key is not None:
        joined = tables.custom_property
        source = source.outerjoin(
            joined, and_(p.account_id == c.account_id, p.customer_id == c.id, p.key == property_key)
        )
        columns += [PROPERTY_VALUE.label("property_value"), PROPERTY_MISSING.label("property_missing")]
    query = select(*columns).select_from(source).where(c.account_id == account_id)
    if not include_archived:
        query = query.where(c.archived_at.is_(None))
    if legal_name is not None:
        # The LIKE decides exactly what matches; the trigram index only narrows the rows it
        # looks at (PostgreSQL picks its GIN index for this LIKE by itself; SQLite's FTS5
        # table needs the MATCH spelled out, and 3 characters or more).
        query = query.where(c.legal_name_key.like(f"%{_escape_like(legal_name)}%", escape="\\"))
        if dialect == "sqlite" and len(legal_name) >= TRIGRAM:
            phrase = '"' + legal_name.replace('"', '""') + '"'
            query = query.where(
                text(
                    "customers.rowid IN (SELECT rowid FROM customer_names WHERE customer_names MATCH :phrase)"
                ).bindparams(phrase=phrase)
            )
    if label is not None:
        query = query.where(c.label == label)
    if email is not None:
        # Driven from the contacts index: the few customers holding that email.
        query = query.where(
            c.id.in_(
                select(ct.customer_id).where(
                    ct.account_id == account_id, ct.email_key == email, ct.archived_at.is_(None)
                )
            )
        )
    if alias is not None:
        by_alias = c.id.in_(
            select(al.customer_id).where(al.account_id == account_id, al.value == alias, al.deleted_at.is_(None))
        )
        query = query.where(or_(by_alias, c.id == alias_as_id) if alias_as_id else by_alias)
    return query


def counts(tx: Connection, account_id: uuid.UUID) -> tuple[int, int]:
    """(live, total) customers of the account, from the counter row."""
    n = tables.customer_count.c
    row = tx.execute(select(n.live, n.total).where(n.account_id == account_id)).first()
    return (int(row.live), int(row.total)) if row else (0, 0)


def bump_counts(tx: Connection, account_id: uuid.UUID, *, live: int, total: int) -> None:
    """Add to the account's counters, creating its row on first use."""
    n = tables.customer_count.c
    changed = tx.execute(
        update(tables.customer_count)
        .where(n.account_id == account_id)
        .values(live=n.live + live, total=n.total + total)
    ).rowcount
    if changed == 0:
        upsert = sqlite_insert if tx.dialect.name == "sqlite" else postgresql_insert
        statement = upsert(tables.customer_count).values(account_id=account_id, live=live, total=total)
        tx.execute(
            statement.on_conflict_do_update(
                index_elements=["account_id"],
                set_={"live": n.live + live, "total": n.total + total},
            )
        )


def count(tx: Connection, query: Select[Any]) -> int:
    return int(tx.execute(select(func.count()).select_from(query.subquery())).scalar_one())


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- custom properties -----------------------------------------------------------------


def properties_of(
    tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, str]]:
    result: dict[uuid.UUID, dict[str, str]] = {i: {} for i in customer_ids}
    if not customer_ids:
        return result
    query = (
        select(p.customer_id, p.key, p.value)
        .where(p.account_id == account_id, p.customer_id.in_(customer_ids))
        .order_by(p.customer_id, p.key)
    )
    for row in tx.execute(query):
        result[row.customer_id][row.key] = row.value
    return result


def replace_properties(
    tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID, properties: Mapping[str, str]
) -> None:
    tx.execute(delete(tables.custom_property).where(p.account_id == account_id, p.customer_id == customer_id))
    if properties:
        tx.execute(
            insert(tables.custom_property),
            [
                {"account_id": account_id, "customer_id": customer_id, "key": key, "value": value}
                for key, value in properties.items()
            ],
        )


def property_keys(tx: Connection, account_id: uuid.UUID) -> list[str]:
    query = select(p.key).where(p.account_id == account_id).distinct().order_by(p.key)
    return list(tx.execute(query).scalars())


def insert_many(tx: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """One executemany for a batch of rows of `table` (bulk import)."""
    bulk.insert_rows(tx, table, rows)


def live_alias_owners(tx: Connection, account_id: uuid.UUID, values: Sequence[str]) -> dict[str, uuid.UUID]:
    """Which customer holds each of these alias values (bulk import), chunked for SQLite."""
    owners: dict[str, uuid.UUID] = {}
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        query = select(al.value, al.customer_id).where(
            al.account_id == account_id, al.value.in_(chunk), al.deleted_at.is_(None)
        )
        owners.update({row.value: row.customer_id for row in tx.execute(query)})
    return owners


def batch_after(tx: Connection, account_id: uuid.UUID, after: tuple[Any, uuid.UUID] | None, size: int) -> list[Record]:
    """The next `size` customers in creation order (export), archived ones included."""
    query = select(*COLUMNS).where(c.account_id == account_id)
    if after is not None:
        query = query.where(or_(c.created_at > after[0], and_(c.created_at == after[0], c.id > after[1])))
    return list(tx.execute(query.order_by(c.created_at, c.id).limit(size)))
