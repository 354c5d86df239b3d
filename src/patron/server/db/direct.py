"""Statements run on the database driver directly, for the reads every request makes.

SQLAlchemy Core costs 40-60 µs per statement on top of the driver's 5-10 µs (building the
execution context, events, result metadata), and a pooled transaction about 40 µs more.
On the hottest paths (authentication, get by alias) that overhead was most of a request.

- `Direct(select)` compiles a statement once per dialect, with SQLAlchemy's own bind and
  result processors for its column types, so rows hold exactly the values `tx.execute`
  would give (UUIDs, aware UTC datetimes, parsed JSON), as named tuples. It runs in any
  transaction: a SQLAlchemy `Connection` (on its driver connection) or a `Snapshot`.
- `Snapshot` is where the hottest reads run. On SQLite it is a plain driver connection
  kept per thread (outside the pool: no checkout), read-only (`PRAGMA query_only`), in a
  deferred transaction, which in WAL mode reads one consistent snapshot. On PostgreSQL it
  is a connection from a small pool of its own, in autocommit (each statement its own
  transaction: one round trip, no BEGIN/COMMIT) and without a ping before checkout (a
  connection the server closed is replaced and the statement run again).

Failures surface as SQLAlchemy's `DBAPIError`, so the transaction boundary classifies them
as usual (a lost database is a 503).
"""

from __future__ import annotations

import sqlite3
import threading
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: tuple[str, ...] | None  # bind names in order (qmark), None for named styles
    binds: Mapping[str, Processor]
    results: tuple[Processor, ...]
    row: Callable[..., Any]


class Direct:
    """A SELECT compiled once per dialect and run on the driver (see the module docstring).
    Its bind parameters are named (`bindparam("account_id")`)."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def plan(self, dialect: Dialect) -> _Plan:
        found = self._plans.get(dialect.name)
        if found is None:
            found = self._plans[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Plan:
        compiled = self.statement.compile(dialect=dialect)
        binds = {
            name: compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in compiled.binds
        }
        columns = list(self.statement.selected_columns)
        results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
        row = namedtuple("DirectRow", [column.key for column in columns])  # type: ignore[misc]
        positional = tuple(compiled.positiontup) if compiled.positiontup is not None else None
        return _Plan(str(compiled), positional, binds, results, row._make)

    def all(self, reads: Reads, params: Mapping[str, Any]) -> list[Any]:
        plan = self.plan(reads.dialect)
        arguments = _arguments(plan, params)
        try:
            fetched = _run(reads, plan.sql, arguments)
        except DBAPIError as exc:
            # A snapshot that can start over on a new connection (PostgreSQL, where each
            # statement is its own transaction) runs the statement once more.
            if not (isinstance(reads, Snapshot) and reads.recover is not None and reads.recover(exc)):
                raise
            fetched = _run(reads, plan.sql, arguments)
        results = plan.results
        if not any(results):
            return [plan.row(values) for values in fetched]
        return [
            plan.row(
                [
                    value if process is None or value is None else process(value)
                    for process, value in zip(results, values, strict=True)
                ]
            )
            for values in fetched
        ]

    def first(self, reads: Reads, params: Mapping[str, Any]) -> Any:
        """The first row, or None."""
        rows = self.all(reads, params)
        return rows[0] if rows else None


def _arguments(plan: _Plan, params: Mapping[str, Any]) -> Any:
    def value(name: str) -> Any:
        given = params[name]
        process = plan.binds.get(name)
        return given if process is None or given is None else process(given)

    if plan.positional is not None:
        return tuple(value(name) for name in plan.positional)
    return {name: value(name) for name in params}


def _run(reads: Reads, sql: str, arguments: Any) -> list[Any]:
    cursor = _cursor(reads)
    try:
        cursor.execute(sql, arguments)
        rows: list[Any] = cursor.fetchall()
    except Exception as exc:
        _reraise(exc, sql, reads)
        raise
    finally:
        cursor.close()
    return rows


class Snapshot:
    """A driver connection that snapshot reads run on (see the module docstring and
    `Database.snapshot`).

    `recover(error)`, when given, is asked once after a statement failed: True when it
    replaced `driver_connection` with a working one and the statement may run again.
    """

    def __init__(
        self, dialect: Dialect, driver_connection: Any, recover: Callable[[DBAPIError], bool] | None = None
    ) -> None:
        self.dialect = dialect
        self.driver_connection = driver_connection
        self.recover = recover


Reads = Connection | Snapshot
"""Where a `Direct` statement runs: any SQLAlchemy transaction, or a snapshot."""


def _cursor(reads: Reads) -> Any:
    if isinstance(reads, Snapshot):
        return reads.driver_connection.cursor()
    return reads.connection.driver_connection.cursor()  # type: ignore[union-attr]


def _reraise(exc: Exception, sql: str, reads: Reads) -> None:
    """Driver errors as SQLAlchemy's, as if SQLAlchemy had run the statement."""
    module = reads.dialect.loaded_dbapi
    if isinstance(exc, module.Error):
        raise DBAPIError.instance(sql, None, exc, module.Error) from exc


class SQLiteReaders:
    """One read-only driver connection per thread for a SQLite database file."""

    def __init__(self, engine: Engine, busy_timeout_ms: int) -> None:
        self.dialect = engine.dialect
        self._path = engine.url.database or ""
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    @staticmethod
    def usable(engine: Engine) -> bool:
        """A plain file database: an in-memory one is private to each connection, and a URI
        filename (`?uri=true`) is left to the pool, which knows how to open it."""
        database = engine.url.database or ""
        return (
            engine.dialect.name == "sqlite"
            and database not in ("", ":memory:")
            and "mode=memory" not in database
            and "uri" not in engine.url.query
        )

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=self._busy_timeout_ms / 1000
            )
            connection.execute("PRAGMA query_only=ON")
            connection.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
            self._local.connection = connection
            with self._lock:
                self._opened.append(connection)
        return connection

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """A deferred read transaction on this thread's connection. Opening the connection
        or beginning may fail like any statement (`DBAPIError`)."""
        try:
            connection = self._connection()
            connection.execute("BEGIN")
        except sqlite3.Error as exc:
            raise DBAPIError.instance("BEGIN", None, exc, sqlite3.Error) from exc
        try:
            yield Snapshot(self.dialect, connection)
        finally:
            if connection.in_transaction:
                connection.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._local = threading.local()
