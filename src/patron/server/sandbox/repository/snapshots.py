"""All SQL of snapshots: every row of an account's registry (`tables.ACCOUNT_DATA`) read,
cleared and written back generically, column by column (a table or a column added to that
list later is kept with no new code), and the stored snapshots themselves."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

import msgspec
from sqlalchemy import (
    Column,
    Connection,
    Table,
    Uuid,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from patron.server.db import tables, upsert
from patron.server.db.types import UTCDateTime

s = tables.sandbox_snapshot.c

FORMAT = 1
"""The version of the stored content (`Content`)."""


class Dumped(msgspec.Struct, frozen=True):
    """One table's rows: the column names (`account_id` left out) and the values in that order."""

    columns: list[str]
    rows: list[list[Any]]


class Content(msgspec.Struct, frozen=True):
    format: int
    tables: dict[str, Dumped]


def _columns(table: Table) -> list[Column[Any]]:
    return [column for column in table.columns if column.name != "account_id"]


def dump(tx: Connection, account_id: uuid.UUID) -> Content:
    """Every row of the account's registry, each table in primary-key order."""
    found = {}
    for table in tables.ACCOUNT_DATA:
        columns = _columns(table)
        query = select(*columns).where(table.c.account_id == account_id).order_by(*table.primary_key.columns)
        found[str(table.name)] = Dumped(
            [str(column.name) for column in columns], [list(row) for row in tx.execute(query)]
        )
    return Content(FORMAT, found)


def clear(tx: Connection, account_id: uuid.UUID) -> None:
    """Remove every row of the account's registry (each table before those it refers to)."""
    for table in tables.ACCOUNT_DATA:
        tx.execute(delete(table).where(table.c.account_id == account_id))


def restore(tx: Connection, account_id: uuid.UUID, content: Content) -> None:
    """Make the account's registry exactly what `dump` read. PostgreSQL: only the rows that
    differ are written (`_restore_changes`); elsewhere, and whenever that cannot be done,
    every row is removed and inserted again."""
    if tx.dialect.name == "postgresql" and _restorable_in_place(content):
        try:
            with tx.begin_nested():
                _restore_changes(tx, account_id, content)
            return
        except IntegrityError:
            # A change no in-place order can undo (a reference or a unique value moved
            # between rows): the savepoint is gone, start again from nothing.
            pass
    clear(tx, account_id)
    load(tx, account_id, content)


def load(tx: Connection, account_id: uuid.UUID, content: Content) -> None:
    """Insert what `dump` read into the (cleared) account, each table after those it refers
    to. A column the table no longer has is dropped; one it gained since takes its default."""
    for table in reversed(tables.ACCOUNT_DATA):
        dumped = content.tables.get(table.name)
        if dumped is not None and dumped.rows:
            if tx.dialect.name == "postgresql":
                source = _source(tx, table, account_id, dumped)
                tx.execute(insert(table).from_select(source.c.keys(), select(*source.c)))
            else:
                _insert_many(tx, table, account_id, dumped)


def _insert_many(tx: Connection, table: Table, account_id: uuid.UUID, dumped: Dumped) -> None:
    """One INSERT run for every row (the driver's executemany: SQLite's is a loop in C)."""
    kept = [(at, name, _reader(table.c[name])) for at, name in enumerate(dumped.columns) if name in table.c]
    rows = [{"account_id": account_id, **{name: read(row[at]) for at, name, read in kept}} for row in dumped.rows]
    tx.execute(insert(table), rows)


def _source(tx: Connection, table: Table, account_id: uuid.UUID, dumped: Dumped) -> Any:
    """The dumped rows as a table in a PostgreSQL statement: one JSON document that
    `jsonb_populate_recordset` turns into rows of the table's type (each value converted by
    its column's type, by name), so a table's rows take one statement, where psycopg's
    executemany (a statement per row, pipelined) made a restore 1.8 times as slow."""
    kept = [(at, name) for at, name in enumerate(dumped.columns) if name in table.c]
    names = ["account_id", *(name for _, name in kept)]
    owner = str(account_id)
    document = _ENCODER.encode(
        [dict(zip(names, (owner, *(row[at] for at, _ in kept)), strict=True)) for row in dumped.rows]
    )
    row_type: ColumnElement[Any] = literal_column(f"NULL::{tx.dialect.identifier_preparer.format_table(table)}")
    records = func.jsonb_populate_recordset(row_type, cast(bindparam("rows", document.decode()), JSONB))
    return records.table_valued(*names).alias("source")


def _restorable_in_place(content: Content) -> bool:
    """The snapshot has the tables' columns as they are now (one saved before a schema
    change is restored from nothing, so that a column gained since takes its default)."""
    return all(
        content.tables[table.name].columns == [str(column.name) for column in _columns(table)]
        for table in tables.ACCOUNT_DATA
        if table.name in content.tables
    )


def _restore_changes(tx: Connection, account_id: uuid.UUID, content: Content) -> None:
    """Rows are matched by primary key: those the snapshot lacks are deleted (children
    first), those that differ are updated in place, those missing are inserted (parents
    first). A restore to a state the account is close to (the common case: a test's few
    writes since) writes a few rows instead of all: deleting and inserting every row again
    left as many dead rows each time, and restores slowed down run after run until
    autovacuum came by (270 ms to 800 ms over 40 restores of 1,000 customers)."""
    for table in tables.ACCOUNT_DATA:
        dumped = content.tables.get(table.name)
        statement = delete(table).where(table.c.account_id == account_id)
        keys = [column.name for column in table.primary_key.columns if column.name != "account_id"]
        if dumped is not None and dumped.rows and not keys:
            continue  # the account's one row (its counters): updated below
        if dumped is not None and dumped.rows:
            source = _source(tx, table, account_id, dumped)
            # NOT IN, not NOT EXISTS: a hashed subplan whatever the statistics say (stale ones
            # made a nested loop that read the whole document once per row: 250 ms).
            kept = tuple_(*(table.c[name] for name in keys)).not_in(select(*(source.c[name] for name in keys)))
            statement = statement.where(kept)
        tx.execute(statement)
    for table in reversed(tables.ACCOUNT_DATA):
        dumped = content.tables.get(table.name)
        if dumped is not None and dumped.rows:
            _upsert_changed(tx, table, _source(tx, table, account_id, dumped))


def _upsert_changed(tx: Connection, table: Table, source: Any) -> None:
    """Insert the rows the table lacks and update those that differ, in one statement (one
    reading of the document); a row equal to the snapshot's is left as it is."""
    keys = [column.name for column in table.primary_key.columns]
    values = [column.name for column in source.c if column.name not in keys]
    statement = postgresql_insert(table).from_select(source.c.keys(), select(*source.c))
    if not values:
        tx.execute(statement.on_conflict_do_nothing(index_elements=keys))
        return
    excluded = statement.excluded
    differs = tuple_(*(table.c[name] for name in values)).is_distinct_from(tuple_(*(excluded[name] for name in values)))
    changed = {name: excluded[name] for name in values}
    tx.execute(statement.on_conflict_do_update(index_elements=keys, set_=changed, where=differs))


def _same(value: Any) -> Any:
    return value


def _reader(column: Column[Any]) -> Callable[[Any], Any]:
    """How a value of `column` comes back from JSON: ids and times as strings, the rest as is."""
    if isinstance(column.type, Uuid):
        return lambda value: None if value is None else uuid.UUID(value)
    if isinstance(column.type, UTCDateTime):
        return lambda value: None if value is None else datetime.fromisoformat(value)
    return _same


def pack(content: Content) -> bytes:
    """The stored form: msgspec JSON (ids and times as strings), zlib-compressed."""
    return zlib.compress(_ENCODER.encode(content), _LEVEL)


def unpack(packed: bytes) -> Content:
    return _DECODER.decode(zlib.decompress(packed))


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Content)
# zlib's fastest level: a tenth of the size of the JSON, in a fraction of level 6's time.
_LEVEL = 1


# --- the stored snapshots ---------------------------------------------------------------


class SnapshotRow(NamedTuple):
    name: str
    created_at: datetime
    customers: int


def insert_snapshot(tx: Connection, account_id: uuid.UUID, row: SnapshotRow, packed: bytes) -> bool:
    """Store a snapshot; False when the account already has one of that name (the primary
    key decides)."""
    values = {"account_id": account_id, **row._asdict(), "content": packed}
    statement = upsert.insert(tx, tables.sandbox_snapshot).values(values).on_conflict_do_nothing()
    # RETURNING, not the row count: SQLAlchemy reports no count for an INSERT on psycopg.
    return tx.execute(statement.returning(s.name)).first() is not None


def count_snapshots(tx: Connection, account_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(tables.sandbox_snapshot).where(s.account_id == account_id)
    return int(tx.execute(query).scalar_one())


def list_snapshots(tx: Connection, account_id: uuid.UUID) -> list[SnapshotRow]:
    query = select(s.name, s.created_at, s.customers).where(s.account_id == account_id)
    return [SnapshotRow._make(row) for row in tx.execute(query.order_by(s.created_at, s.name))]


def packed_content(tx: Connection, account_id: uuid.UUID, name: str) -> bytes | None:
    query = select(s.content).where(s.account_id == account_id, s.name == name)
    found = tx.execute(query).scalar_one_or_none()
    return bytes(found) if found is not None else None


def delete_snapshot(tx: Connection, account_id: uuid.UUID, name: str) -> bool:
    statement = delete(tables.sandbox_snapshot).where(s.account_id == account_id, s.name == name)
    return tx.execute(statement).rowcount == 1
