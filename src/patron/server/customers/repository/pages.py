"""SQL for listing customers: filters, sorts, counts and keyset pages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
)

from patron.server.customers.repository.records import COLUMNS, CustomerRow, as_customer
from patron.server.db import keyset, plan, tables
from patron.server.db.snapshot import Snapshot

c = tables.customer.c
p = tables.custom_property.c
al = tables.customer_alias.c
ct = tables.contact.c


@dataclass(frozen=True)
class Filters:
    """What a listing keeps: `legal_name` and `email` casefolded, `alias` a live alias value
    or (`alias_as_id`) the customer's id; `nothing` matches no customer at all."""

    legal_name: str | None = None
    email: str | None = None
    alias: str | None = None
    alias_as_id: uuid.UUID | None = None
    label: str | None = None
    include_archived: bool = False
    nothing: bool = False

    @property
    def any(self) -> bool:
        """True when a filter narrows the account's customers."""
        return self.nothing or any(f is not None for f in (self.legal_name, self.email, self.alias, self.label))


SortKey = Literal["createdAt", "legalName", "property"]

# Sorting by a custom property (`_by_property`): customers without it come last, in either
# direction; cursors hold (missing, value, id).
PROPERTY_MISSING: ColumnElement[int] = literal_column("property_missing")
PROPERTY_VALUE: ColumnElement[str] = literal_column("property_value")


@dataclass(frozen=True)
class Sort:
    key: SortKey
    descending: bool
    property_key: str | None = None  # with key "property"

    def columns(self) -> tuple[keyset.SortColumn, ...]:
        """The sort as cursor columns (the last one unique)."""
        last = keyset.SortColumn(c.id, "uuid", self.descending)
        if self.key == "createdAt":
            return keyset.SortColumn(c.created_at, "datetime", self.descending), last
        if self.key == "legalName":
            return keyset.SortColumn(c.legal_name_key, "str", self.descending), last
        return (
            keyset.SortColumn(PROPERTY_MISSING, "int", descending=False),
            keyset.SortColumn(PROPERTY_VALUE, "str", self.descending, nullable=True),
            last,
        )

    def key_of(self, row: Any) -> tuple[Any, ...]:
        if self.key == "createdAt":
            return row.created_at, row.id
        if self.key == "legalName":
            return row.legal_name_key, row.id
        return row.property_missing, row.property_value, row.id


TRIGRAM = 3


def _matching(tx: Connection, account_id: uuid.UUID, filters: Filters, *, name_index: bool) -> Select[Any]:
    """The customers matching the filters.

    `name_index=False` leaves SQLite's trigram index out of a legal-name filter: for a
    fragment most names hold, walking the sort index and testing each name finds a page
    sooner than collecting every match to sort them.
    """
    query = select(*COLUMNS).where(c.account_id == account_id)
    if filters.nothing:
        # patron keeps no billing schedules: no customer has an ACTIVE billing status.
        query = query.where(false())
    if not filters.include_archived:
        query = query.where(c.archived_at.is_(None))
    if filters.legal_name is not None:
        query = _named(query, filters.legal_name, trigrams=name_index and tx.dialect.name == "sqlite")
    if filters.label is not None:
        query = query.where(c.label == filters.label)
    if filters.email is not None:
        # Driven from the contacts index: the few customers holding that email.
        held = select(ct.customer_id).where(
            ct.account_id == account_id, ct.email_key == filters.email, ct.archived_at.is_(None)
        )
        query = query.where(c.id.in_(held))
    if filters.alias is not None:
        owner = select(al.customer_id).where(
            al.account_id == account_id, al.value == filters.alias, al.deleted_at.is_(None)
        )
        by_alias = c.id.in_(owner)
        query = query.where(or_(by_alias, c.id == filters.alias_as_id) if filters.alias_as_id else by_alias)
    return query


def _named(query: Select[Any], fragment: str, *, trigrams: bool) -> Select[Any]:
    # The LIKE decides exactly what matches; the trigram index only narrows the rows it
    # looks at (PostgreSQL picks its GIN index for this LIKE by itself; SQLite's FTS5
    # table needs the MATCH spelled out, and 3 characters or more).
    query = query.where(c.legal_name_key.like(f"%{_escape_like(fragment)}%", escape="\\"))
    if trigrams and len(fragment) >= TRIGRAM:
        phrase = '"' + fragment.replace('"', '""') + '"'
        query = query.where(
            text("customers.rowid IN (SELECT rowid FROM customer_names WHERE customer_names MATCH :phrase)").bindparams(
                phrase=phrase
            )
        )
    return query


def count(tx: Connection, account_id: uuid.UUID, filters: Filters) -> int:
    """How many customers match (read through the filters' own indexes)."""
    query = _matching(tx, account_id, filters, name_index=True)
    return int(tx.execute(select(func.count()).select_from(query.subquery())).scalar_one())


def page(
    tx: Connection,
    account_id: uuid.UUID,
    filters: Filters,
    sort: Sort,
    *,
    dense: bool,
    limit: int,
    cursor: keyset.Cursor | None,
    codec: keyset.CursorCodec,
) -> keyset.Page[CustomerRow]:
    """One page of the matching customers in `sort` order; rows are `CustomerRow`s.

    `dense`: the filters match a good share of the account, so the page is read by walking
    the sort's index and testing each row; otherwise the filters' indexes find the few
    matches, which are sorted."""
    query = _matching(tx, account_id, filters, name_index=not dense)
    columns = sort.columns()
    if sort.key == "property":
        assert sort.property_key is not None
        segments = _by_property(query, account_id, sort.property_key, descending=sort.descending, dense=dense)
    else:
        segments = [keyset.Segment(query, columns)]
    found = keyset.fetch_page(tx, segments, columns, sort.key_of, limit=limit, cursor=cursor, codec=codec)
    return keyset.Page([as_customer(row) for row in found.rows], found.after, found.before)


@cache
def direct_plan(sort: Sort, include_archived: bool) -> keyset.DirectPlan:
    """The unfiltered listing in a column sort (createdAt, legalName), as statements
    compiled once: the account's customers (live ones unless `include_archived`)."""
    query = select(*COLUMNS).where(c.account_id == bindparam("account_id", type_=c.account_id.type))
    if not include_archived:
        query = query.where(c.archived_at.is_(None))
    return keyset.DirectPlan([keyset.Segment(query, sort.columns())])


def direct_page(
    reads: Snapshot,
    account_id: uuid.UUID,
    sort: Sort,
    *,
    include_archived: bool,
    limit: int,
    cursor: keyset.Cursor | None,
    codec: keyset.CursorCodec,
) -> keyset.Page[CustomerRow]:
    """`page` without filters in a column sort, on a snapshot: the same rows and cursors."""
    found_plan = direct_plan(sort, include_archived)
    reader = keyset.DirectReader(reads, found_plan, {"account_id": account_id})
    found = keyset.fetch_page(
        reader, found_plan.segments, sort.columns(), sort.key_of, limit=limit, cursor=cursor, codec=codec
    )
    return keyset.Page([as_customer(row) for row in found.rows], found.after, found.before)


def _by_property(
    query: Select[Any], account_id: uuid.UUID, key: str, *, descending: bool, dense: bool
) -> list[keyset.Segment]:
    """`query` sorted by custom property `key`, as two runs: the customers holding it by
    (value, id), then the others by id. Rows carry `property_missing` (0, 1: the run) and
    `property_value`. When `dense`, the first run is read in the order of the property index
    and the second in the order of the primary key: no sort at any size."""
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


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
