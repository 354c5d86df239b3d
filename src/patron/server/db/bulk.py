"""Fast multi-row inserts for bulk import.

On SQLite, values are converted to their stored form here, once per value, and handed to
the driver's executemany: SQLAlchemy's per-value bind processing would otherwise cost more
than the insert itself. The stored forms are exactly those SQLAlchemy writes (UUID as 32
hex digits, timestamps as `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, JSON as text), so rows
written here read back like any other. PostgreSQL takes the ordinary path.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Connection, Table, Uuid, bindparam, insert

from patron.server.db.types import UTCDateTime


def _uuid(value: Any) -> Any:
    return value.hex if isinstance(value, uuid.UUID) else value


@lru_cache(maxsize=4096)
def _time(value: Any) -> Any:
    # Cached: a batch stamps many rows and columns with the same few instants.
    if value is None:
        return None
    moment = value.astimezone(UTC) if value.tzinfo else value
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}"
    )


def _json(value: Any) -> Any:
    return None if value is None else json.dumps(value)


def _converter(column_type: Any) -> Callable[[Any], Any] | None:
    if isinstance(column_type, Uuid):
        return _uuid
    if isinstance(column_type, UTCDateTime):
        return _time
    if isinstance(column_type, JSON):
        return _json
    return None


def insert_rows(tx: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (each holding every column of `table`) in one executemany."""
    if not rows:
        return
    if tx.dialect.name == "postgresql":
        _copy_rows(tx, table, rows)
        return
    if tx.dialect.name != "sqlite":
        tx.execute(insert(table), list(rows))
        return
    statement = insert(table).values({column.name: bindparam(column.name) for column in table.columns})
    compiled = statement.compile(dialect=tx.dialect)
    names = list(compiled.positiontup or [])
    converters = [_converter(table.columns[name].type) for name in names]
    plan = list(zip(names, converters, strict=True))
    values = [tuple([convert(row[name]) if convert else row[name] for name, convert in plan]) for row in rows]
    tx.exec_driver_sql(str(compiled), values)


def _copy_rows(tx: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """PostgreSQL: COPY the rows in, inside the caller's transaction."""
    from psycopg import sql
    from psycopg.types.json import Jsonb

    names = [column.name for column in table.columns]
    wrap = [isinstance(column.type, JSON) for column in table.columns]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(name) for name in names)
    )
    driver = tx.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [
                    Jsonb(row[name]) if is_json and row[name] is not None else row[name]
                    for name, is_json in zip(names, wrap, strict=True)
                ]
            )
