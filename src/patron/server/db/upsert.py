"""`INSERT ... ON CONFLICT` on either database: the statement that lets the database decide
a race on a unique key (SQLite and PostgreSQL spell the clause alike)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Table
from sqlalchemy.dialects.postgresql import Insert as PostgresqlInsert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

INSERTS: dict[str, Callable[[Table], PostgresqlInsert | SqliteInsert]] = {
    "sqlite": sqlite_insert,
    "postgresql": postgresql_insert,
}
"""Each dialect's INSERT that takes an ON CONFLICT clause, by dialect name (for statements
built once, at import, per dialect)."""


def insert(tx: Connection, table: Table) -> PostgresqlInsert | SqliteInsert:
    """An INSERT into `table` that takes `on_conflict_do_nothing` / `on_conflict_do_update`."""
    return INSERTS[tx.dialect.name](table)
