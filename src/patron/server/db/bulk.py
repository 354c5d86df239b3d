"""Fast multi-row inserts for bulk import.

A `Loader` takes rows of one table whose values are already in the form the database
stores (ids as 32 hex digits, JSON as text, timestamps from `moment`), so building a row
costs one C call, and it can run on another thread than the insert. It inserts a batch the
fastest way the database offers:

- SQLite: the driver's executemany. The values are exactly what SQLAlchemy writes (UUID as
  32 hex digits, timestamps as `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, JSON as text), so the
  rows read back like any other. A table with row triggers (customers: the trigram name
  index) is staged in a temporary table and moved with one INSERT ... SELECT: fired from
  one statement, the trigger costs a tenth of what it costs fired from each row of an
  executemany (FTS5 flushes its pending terms at every statement).
- PostgreSQL: COPY (text format: the server parses ids and JSON), inside the caller's
  transaction.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Connection, Engine, MetaData, Table, bindparam, delete, event, insert, select
from sqlalchemy.schema import CreateTable

# SQLite page cache for the importing connection (KiB): the index pages a batch touches
# stay in memory for the next batch instead of being read back from the file.
SQLITE_LOAD_CACHE_KIB = 131_072
# WAL pages before SQLite checkpoints: fewer, larger checkpoints during a load.
SQLITE_LOAD_CHECKPOINT_PAGES = 16_384

Row = tuple[Any, ...]


def moment(dialect: str, value: datetime) -> Any:
    """A timestamp in the form a `Loader` takes: SQLite's stored text (naive UTC, like
    `types.UTCDateTime`), the aware datetime elsewhere."""
    if dialect != "sqlite":
        return value
    utc = value.astimezone(UTC) if value.tzinfo else value
    return utc.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def document(value: Any) -> str:
    """A JSON column's value in the form a `Loader` takes."""
    return json.dumps(value)


class Loader:
    """Bulk inserts into one table on one dialect (see the module docstring); `staged` for a
    table with row triggers."""

    def __init__(self, table: Table, dialect: str, *, staged: bool = False) -> None:
        self.table = table
        self.dialect = dialect
        self.names = [column.name for column in table.columns]
        self._row = operator.itemgetter(*self.names)
        self._inserts: dict[str, str] = {}
        self._stage = (
            Table(
                f"load_{table.name}",
                MetaData(),
                *(Column(column.name, column.type) for column in table.columns),
                prefixes=["TEMPORARY"],
            )
            if staged and dialect == "sqlite"
            else None
        )

    def row(self, values: Mapping[str, Any]) -> Row:
        """One row from every column of the table by name, values in stored form."""
        row: Row = self._row(values)
        return row

    def insert(self, tx: Connection, rows: Sequence[Row]) -> None:
        if not rows:
            return
        if self.dialect == "postgresql":
            self._copy(tx, rows)
        elif self.dialect == "sqlite":
            self._executemany(tx, rows)
        else:
            raise NotImplementedError(f"bulk loads into {self.dialect}")

    def _executemany(self, tx: Connection, rows: Sequence[Row]) -> None:
        if self._stage is None:
            tx.exec_driver_sql(self._insert(tx, self.table), list(rows))
            return
        tx.execute(CreateTable(self._stage, if_not_exists=True))
        tx.execute(delete(self._stage))
        tx.exec_driver_sql(self._insert(tx, self._stage), list(rows))
        tx.execute(insert(self.table).from_select(self.names, select(*self._stage.c)))
        tx.execute(delete(self._stage))

    def _insert(self, tx: Connection, table: Table) -> str:
        """INSERT of every column, positional, compiled once per table."""
        if table.name not in self._inserts:
            statement = insert(table).values({name: bindparam(name) for name in self.names})
            self._inserts[table.name] = str(statement.compile(dialect=tx.dialect))
        return self._inserts[table.name]

    def _copy(self, tx: Connection, rows: Sequence[Row]) -> None:
        from psycopg import sql

        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(self.table.name), sql.SQL(", ").join(sql.Identifier(name) for name in self.names)
        )
        driver = tx.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)


def tune_engine_for_load(engine: Engine) -> None:
    """Settings for an engine that only loads (the import command), on each of its
    connections: on SQLite a larger page cache, fewer WAL checkpoints, and commits that do
    not wait for the disk (`synchronous = NORMAL`: in WAL mode the disk is synced at
    checkpoints only); on PostgreSQL, commits that do not wait for their WAL to reach the
    disk (`synchronous_commit = off`). A crash or power loss can lose the last batches of
    an import, never corrupt anything, and running the import again restores them.
    Connections the engine opened before (migrations) are closed, so every later one is
    tuned."""

    @event.listens_for(engine, "connect")
    def _for_load(dbapi_connection: Any, _record: Any) -> None:
        if engine.dialect.name == "sqlite":
            dbapi_connection.execute(f"PRAGMA cache_size=-{SQLITE_LOAD_CACHE_KIB}")
            dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={SQLITE_LOAD_CHECKPOINT_PAGES}")
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        elif engine.dialect.name == "postgresql":
            dbapi_connection.execute("SET synchronous_commit = off")
            dbapi_connection.commit()

    engine.dispose()
