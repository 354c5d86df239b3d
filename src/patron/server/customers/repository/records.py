"""SQL for one customer at a time: its row, its writes, the by-alias read, the account's
counters and export batches."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, and_, bindparam, insert, or_, select, update

from patron.server.db import rows as db_rows
from patron.server.db import tables, upsert
from patron.server.db.snapshot import Direct, Snapshot

c = tables.customer.c
p = tables.custom_property.c
al = tables.customer_alias.c
ct = tables.contact.c


class CustomerRow(NamedTuple):
    """A row of the customers table, as every read of a customer returns it."""

    id: uuid.UUID
    legal_name: str
    legal_name_key: str
    url: str | None
    label: str | None
    tax_status: str
    status: str
    address_line1: str
    address_line2: str | None
    address_town: str
    address_state: str | None
    address_postcode: str
    address_country: str
    integration_ids: list[db_rows.StoredLink]
    parent_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class CustomerContactRow(NamedTuple):
    """A customer with one of its live contacts (the `contact_` columns, None without one)."""

    customer: CustomerRow
    contact_id: uuid.UUID | None
    contact_name: str | None
    contact_email: str | None
    contact_billing_preference: str | None


COLUMNS = tuple(c[name] for name in CustomerRow._fields)


def as_customer(row: Row[Any] | Sequence[Any]) -> CustomerRow:
    return CustomerRow._make(row[: len(COLUMNS)])


def insert_customer(tx: Connection, values: Mapping[str, Any]) -> None:
    """Insert a customer row built by `db.rows.customer`."""
    tx.execute(insert(tables.customer).values(**values))


def update_customer(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID, values: Mapping[str, Any]) -> None:
    tx.execute(update(tables.customer).where(c.account_id == account_id, c.id == customer_id).values(**values))


def archive_customer(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID, now: datetime) -> int:
    """Archive a live customer; returns the rows changed (0: archived already, or none).
    The condition decides: of two racing archives, the second finds nothing to change."""
    statement = (
        update(tables.customer)
        .where(c.account_id == account_id, c.id == customer_id, c.archived_at.is_(None))
        .values(archived_at=now, updated_at=now)
    )
    return int(tx.execute(statement).rowcount)


_GET = select(*COLUMNS).where(c.account_id == bindparam("account_id"), c.id == bindparam("customer_id"))


def get(tx: Connection, account_id: uuid.UUID, customer_id: uuid.UUID) -> CustomerRow | None:
    row = tx.execute(_GET, {"account_id": account_id, "customer_id": customer_id}).first()
    return as_customer(row) if row is not None else None


def get_many(tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]) -> list[CustomerRow]:
    """The customers with these ids (in id order; unknown ids are left out)."""
    query = select(*COLUMNS).where(c.account_id == account_id, c.id.in_(customer_ids)).order_by(c.id)
    return [as_customer(row) for row in tx.execute(query)] if customer_ids else []


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
# The alias's customer as a scalar subquery (the live value is unique, so one row at most):
# the customer is then found by its primary key and its contacts by their index whatever
# the planner's statistics say. As a join, PostgreSQL statistics taken while the tables were
# small (`serve` on a new database) made the planner walk every customer of the account
# against every contact (a quarter of a second at 1,600 customers, growing as the square).
_ALIAS_OWNER = (
    select(al.customer_id)
    .where(al.account_id == bindparam("account_id"), al.value == bindparam("value"), al.deleted_at.is_(None))
    .scalar_subquery()
)
_BY_ALIAS = Direct(_WITH_CONTACTS.where(c.account_id == bindparam("account_id"), c.id == _ALIAS_OWNER))
_BY_ID = Direct(_WITH_CONTACTS.where(c.account_id == bindparam("account_id"), c.id == bindparam("customer_id")))


def _with_contacts(rows: Sequence[Sequence[Any]]) -> list[CustomerContactRow]:
    n = len(COLUMNS)
    return [CustomerContactRow(as_customer(row), *row[n:]) for row in rows]


def by_alias_with_contacts(reads: Snapshot, account_id: uuid.UUID, value: str) -> list[CustomerContactRow]:
    """The customer holding the live alias `value`, a row per live contact (see above)."""
    return _with_contacts(_BY_ALIAS.all(reads, {"account_id": account_id, "value": value}))


def by_id_with_contacts(reads: Snapshot, account_id: uuid.UUID, customer_id: uuid.UUID) -> list[CustomerContactRow]:
    return _with_contacts(_BY_ID.all(reads, {"account_id": account_id, "customer_id": customer_id}))


# --- counters ----------------------------------------------------------------------------

_COUNTS = select(tables.customer_count.c.live, tables.customer_count.c.total).where(
    tables.customer_count.c.account_id == bindparam("account_id")
)


def counts(tx: Connection, account_id: uuid.UUID) -> tuple[int, int]:
    """(live, total) customers of the account, from the counter row."""
    row = tx.execute(_COUNTS, {"account_id": account_id}).first()
    return (int(row.live), int(row.total)) if row else (0, 0)


class ListingFacts(NamedTuple):
    """What a listing of the account needs to know before it reads a page."""

    live: int
    total: int
    organized: bool
    """Some customer is in an organization (an organization always has its owner)."""
    with_properties: bool
    """Some customer has a custom property."""


_HAS_ORGANIZATION = select(tables.organization.c.id).where(
    tables.organization.c.account_id == tables.customer_count.c.account_id
)
_HAS_PROPERTY = select(p.key).where(p.account_id == tables.customer_count.c.account_id)
FACTS = Direct(
    select(
        tables.customer_count.c.live,
        tables.customer_count.c.total,
        _HAS_ORGANIZATION.exists().label("organized"),
        _HAS_PROPERTY.exists().label("with_properties"),
    ).where(tables.customer_count.c.account_id == bindparam("account_id"))
)


def listing_facts(reads: Snapshot, account_id: uuid.UUID) -> ListingFacts:
    """The counters and whether organizations or custom properties are to be read, in one
    statement (each EXISTS one step of a primary key)."""
    row = FACTS.first(reads, {"account_id": account_id})
    if row is None:  # no customer was ever created
        return ListingFacts(0, 0, organized=False, with_properties=False)
    return ListingFacts(int(row.live), int(row.total), bool(row.organized), bool(row.with_properties))


def bump_counts(tx: Connection, account_id: uuid.UUID, *, live: int, total: int) -> None:
    """Add to the account's counters, creating its row on first use."""
    n = tables.customer_count.c
    changed = tx.execute(
        update(tables.customer_count)
        .where(n.account_id == account_id)
        .values(live=n.live + live, total=n.total + total)
    ).rowcount
    if changed == 0:
        statement = upsert.insert(tx, tables.customer_count).values(account_id=account_id, live=live, total=total)
        tx.execute(
            statement.on_conflict_do_update(
                index_elements=["account_id"],
                set_={"live": n.live + live, "total": n.total + total},
            )
        )


def batch_after(
    tx: Connection, account_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, size: int
) -> list[CustomerRow]:
    """The next `size` customers in creation order (export), archived ones included."""
    query = select(*COLUMNS).where(c.account_id == account_id)
    if after is not None:
        query = query.where(or_(c.created_at > after[0], and_(c.created_at == after[0], c.id > after[1])))
    return [as_customer(row) for row in tx.execute(query.order_by(c.created_at, c.id).limit(size))]
