"""SQL for custom properties."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, bindparam, delete, insert, select

from patron.server.db import rows as db_rows
from patron.server.db import tables

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
    tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, str]]:
    result: dict[uuid.UUID, dict[str, str]] = {i: {} for i in customer_ids}
    if not customer_ids:
        return result
    for row in tx.execute(_PROPERTIES_OF, {"account_id": account_id, "customer_ids": list(customer_ids)}):
        result[row.customer_id][row.key] = row.value
    return result


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
