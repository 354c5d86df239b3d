"""SQL for custom properties."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from functools import cache

from sqlalchemy import Connection, bindparam, delete, insert, select

from patron.server.db import rows as db_rows
from patron.server.db import tables
from patron.server.db.snapshot import Direct, Snapshot

c = tables.customer.c
p = tables.custom_property.c
al = tables.customer_alias.c
ct = tables.contact.c


_PROPERTIES_OF = (
    select(p.customer_id, p.key, p.value)
    .where(p.account_id == bindparam("account_id"), p.customer_id.in_(bindparam("customer_ids", expanding=True)))
    .order_by(p.customer_id, p.key)
)


def of_customers(
    source: Connection | Snapshot, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, str]]:
    """Each customer's properties, in one statement: on a snapshot, one compiled once per
    page size (its ids bound one by one: `Direct` takes no expanding IN)."""
    result: dict[uuid.UUID, dict[str, str]] = {i: {} for i in customer_ids}
    if not customer_ids:
        return result
    if isinstance(source, Snapshot):
        params = {"account_id": account_id, **{f"id_{i}": value for i, value in enumerate(customer_ids)}}
        rows = _direct_of(len(customer_ids)).all(source, params)
    else:
        rows = list(source.execute(_PROPERTIES_OF, {"account_id": account_id, "customer_ids": list(customer_ids)}))
    for row in rows:
        result[row.customer_id][row.key] = row.value
    return result


@cache
def _direct_of(count: int) -> Direct:
    """`_PROPERTIES_OF` for `count` customers, their ids bound one by one."""
    ids = [bindparam(f"id_{i}", type_=p.customer_id.type) for i in range(count)]
    query = (
        select(p.customer_id, p.key, p.value)
        .where(p.account_id == bindparam("account_id"), p.customer_id.in_(ids))
        .order_by(p.customer_id, p.key)
    )
    return Direct(query)


def replace(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID, properties: Mapping[str, str]) -> None:
    tx.execute(delete(tables.custom_property).where(p.account_id == account_id, p.customer_id == customer_id))
    if properties:
        rows = [
            db_rows.custom_property(account_id=account_id, customer_id=customer_id, key=key, value=value)
            for key, value in properties.items()
        ]
        tx.execute(insert(tables.custom_property), rows)


def keys(tx: Connection, account_id: uuid.UUID) -> list[str]:
    query = select(p.key).where(p.account_id == account_id).distinct().order_by(p.key)
    return list(tx.execute(query).scalars())
