"""All SQL for customers and their custom properties."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    Uuid,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from patron.server.db import Record, bulk, keyset, plan, tables
from patron.server.db.direct import Direct, Reads

c = tables.customer.c
p = tables.custom_property.c
al = tables.customer_alias.c
ct = tables.contact.c

# Sorting by a custom property (`by_property`): customers without it come last, in either
# direction; cursors hold (missing, value, id).
PROPERTY_MISSING: ColumnElement[int] = literal_column("property_missing")
PROPERTY_VALUE: ColumnElement[str] = literal_column("property_value")

TRIGRAM = 3

COLUMNS = (
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


# Run on the driver (`direct`): every read of one customer goes through these.
_GET = Direct(select(*COLUMNS).where(c.account_id == bindparam("account_id"), c.id == bindparam("customer_id")))


def get(reads: Reads, account_id: uuid.UUID, customer_id: uuid.UUID) -> Any | None:
    return _GET.first(reads, {"account_id": account_id, "customer_id": customer_id})


# By alias (or by id), with the live contacts: one statement, so one consistent read on any
# database, one row per contact (ordered), or one row with no contact.
_WITH_CONTACTS = (
    select(
        *COLUMNS,
        ct.id.label("contact_id"),
        ct.name.label("contact_name"),
        ct.email.label("contact_email"),
        ct.billing_preference.label("contact_billing_preference"),
    )
    .outerjoin(
        tables.contact,
        and_(ct.account_id == c.account_id, ct.customer_id == c.id, ct.archived_at.is_(None)),
    )
    .order_by(ct.position, ct.id)
)
_BY_ALIAS = Direct(
    _WITH_CONTACTS.join(tables.customer_alias, and_(al.account_id == c.account_id, al.customer_id == c.id)).where(
        al.account_id == bindparam("account_id"), al.value == bindparam("value"), al.deleted_at.is_(None)
    )
)
_BY_ID = Direct(_WITH_CONTACTS.where(c.account_id == bindparam("account_id"), c.id == bindparam("customer_id")))


def by_alias_with_contacts(reads: Reads, account_id: uuid.UUID, value: str) -> list[Any]:
    """The customer holding the live alias `value`, a row per live contact (see above)."""
    return _BY_ALIAS.all(reads, {"account_id": account_id, "value": value})


def by_id_with_contacts(reads: Reads, account_id: uuid.UUID, customer_id: uuid.UUID) -> list[Any]:
    return _BY_ID.all(reads, {"account_id": account_id, "customer_id": customer_id})


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
    name_index: bool = True,
) -> Select[Any]:
    """The customers matching the filters.

    `name_index=False` leaves SQLite's trigram index out of a legal-name filter: for a
    fragment most names hold, walking the sort index and testing each name finds a page
    sooner than collecting every match to sort them.
    """
    query = select(*COLUMNS).where(c.account_id == account_id)
    if not include_archived:
        query = query.where(c.archived_at.is_(None))
    if legal_name is not None:
        # The LIKE decides exactly what matches; the trigram index only narrows the rows it
        # looks at (PostgreSQL picks its GIN index for this LIKE by itself; SQLite's FTS5
        # table needs the MATCH spelled out, and 3 characters or more).
        query = query.where(c.legal_name_key.like(f"%{_escape_like(legal_name)}%", escape="\\"))
        if dialect == "sqlite" and len(legal_name) >= TRIGRAM and name_index:
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


def by_property(
    query: Select[Any], account_id: uuid.UUID, key: str, *, descending: bool, dense: bool
) -> list[keyset.Segment]:
    """`query` sorted by custom property `key`, as two runs: the customers holding it by
    (value, id), then the others by id. Rows carry `property_missing` (0, 1: the run) and
    `property_value`. When `dense` (the filters match a good share of the account), the
    first run is read in the order of the property index and the second in the order of
    the primary key: no sort at any size. Otherwise the filters' indexes find the few
    matches, which are sorted."""
    joined = and_(p.account_id == account_id, p.key == key, c.account_id == p.account_id, c.id == p.customer_id)
    source: Any = (
        plan.OuterFirst(tables.custom_property, tables.customer, joined)
        if dense
        else tables.customer.join(tables.custom_property, joined)
    )
    held = query.select_from(source).add_columns(
        p.value.label("property_value"), literal_column("0").label("property_missing")
    )
    lacking = query.where(
        ~select(p.key).where(p.account_id == account_id, p.customer_id == c.id, p.key == key).exists()
    ).add_columns(null().label("property_value"), literal_column("1").label("property_missing"))
    return [
        keyset.Segment(
            held,
            (keyset.SortColumn(p.value, "str", descending), keyset.SortColumn(p.customer_id, "uuid", descending)),
            within=lambda key: (key[1], key[2]),
        ),
        keyset.Segment(lacking, (keyset.SortColumn(c.id, "uuid", descending),), within=lambda key: (key[2],)),
    ]


_COUNTS = select(tables.customer_count.c.live, tables.customer_count.c.total).where(
    tables.customer_count.c.account_id == bindparam("account_id")
)


def counts(tx: Connection, account_id: uuid.UUID) -> tuple[int, int]:
    """(live, total) customers of the account, from the counter row."""
    row = tx.execute(_COUNTS, {"account_id": account_id}).first()
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


_PROPERTIES_OF = (
    select(p.customer_id, p.key, p.value)
    .where(p.account_id == bindparam("account_id"), p.customer_id.in_(bindparam("customer_ids", expanding=True)))
    .order_by(p.customer_id, p.key)
)


def properties_of(
    tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, str]]:
    result: dict[uuid.UUID, dict[str, str]] = {i: {} for i in customer_ids}
    if not customer_ids:
        return result
    for row in tx.execute(_PROPERTIES_OF, {"account_id": account_id, "customer_ids": list(customer_ids)}):
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


# --- bulk import --------------------------------------------------------------------------

LoadRow = bulk.Row


@dataclass(frozen=True)
class Loaders:
    """Bulk inserts into the tables an imported customer fills. Rows hold ids as 32 hex
    digits, JSON from `document` and timestamps from `moment`."""

    dialect: str
    customer: bulk.Loader
    contact: bulk.Loader
    alias: bulk.Loader
    property: bulk.Loader

    def moment(self, value: datetime) -> Any:
        return bulk.moment(self.dialect, value)

    @staticmethod
    def document(value: Any) -> str:
        return bulk.document(value)


def loaders(dialect: str) -> Loaders:
    return Loaders(
        dialect=dialect,
        # customers has row triggers on SQLite (the trigram name index): staged
        customer=bulk.Loader(tables.customer, dialect, staged=True),
        contact=bulk.Loader(tables.contact, dialect),
        alias=bulk.Loader(tables.customer_alias, dialect),
        property=bulk.Loader(tables.custom_property, dialect),
    )


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


def live_alias_owners(tx: Connection, account_id: uuid.UUID, values: Sequence[str]) -> dict[str, uuid.UUID]:
    """Which customer holds each of these alias values (bulk import)."""
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


def batch_after(tx: Connection, account_id: uuid.UUID, after: tuple[Any, uuid.UUID] | None, size: int) -> list[Record]:
    """The next `size` customers in creation order (export), archived ones included."""
    query = select(*COLUMNS).where(c.account_id == account_id)
    if after is not None:
        query = query.where(or_(c.created_at > after[0], and_(c.created_at == after[0], c.id > after[1])))
    return list(tx.execute(query.order_by(c.created_at, c.id).limit(size)))
