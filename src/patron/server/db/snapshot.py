"""The fast read path: `Direct` statements, run on the driver under `Database.snapshot()`.

Where a new query goes (docs/data-access.md): every statement lives in its resource's
repository. The default is SQLAlchemy Core on the transaction the edge opens (`db.read()`,
`db.write()`: the edge owns the transaction, services never commit). `Direct` under
`db.snapshot()` is only for a single-statement read on the hottest paths (authentication,
get by alias) whose answer need not agree with another statement's, since on PostgreSQL
each statement under a snapshot is its own autocommit transaction; it is built once, at
import, with `bindparam`s, and its rows hold what `tx.execute` would give, as named tuples.

Statements under a snapshot fire the cursor events and echo of `Database.engine` (on
PostgreSQL too, where snapshots have an engine of their own), as Core's do: listeners get
the `Snapshot` as `conn`, a `StatementContext` of the statement's own and no executemany;
with none listening, that costs one check. Driver errors surface as `DBAPIError`; those
meaning "not now" (`outage.is_unavailable`) leave `Database.snapshot()` as `Unavailable`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, PoolProxiedConnection, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from patron.server.db import outage
from patron.server.errors import Unavailable

Processor = Callable[[Any], Any] | None


class Snapshot:
    """A driver connection in a read transaction, where `Direct` statements run; it stands
    as `conn` for the event listeners of `engine`. SQLite file: a read-only connection per
    thread, outside the pool (one consistent view in WAL mode). PostgreSQL: a connection of
    an autocommit pool, unpinged. Else: a pooled connection (see `snapshots_for`)."""

    __slots__ = ("dialect", "driver_connection", "engine", "info")

    def __init__(self, engine: Engine, driver_connection: Any) -> None:
        self.engine = engine
        self.dialect: Dialect = engine.dialect
        self.driver_connection = driver_connection
        self.info: dict[Any, Any] = {}

    def run(self, sql: str, arguments: Any) -> list[Any]:
        """The rows of one statement, as the driver returns them."""
        cursor = self.driver_connection.cursor()
        try:
            if _observed(self.engine):
                return self._execute_observed(cursor, sql, arguments)
            cursor.execute(sql, arguments)
            rows: list[Any] = cursor.fetchall()
            return rows
        except self.dialect.loaded_dbapi.Error as exc:
            # As if SQLAlchemy had run the statement, so every edge classifies it alike.
            raise DBAPIError.instance(sql, None, exc, self.dialect.loaded_dbapi.Error) from exc
        finally:
            cursor.close()

    def _execute_observed(self, cursor: Any, sql: str, arguments: Any) -> list[Any]:
        """`run` with the engine's cursor events and echo, as Core runs a statement."""
        engine = self.engine
        context = StatementContext()
        for listener in engine.dispatch.before_cursor_execute:
            sql, arguments = listener(self, cursor, sql, arguments, context, False)
        if engine.logger.isEnabledFor(logging.INFO):
            engine.logger.info(sql)
            if engine.hide_parameters:
                engine.logger.info("[snapshot] [SQL parameters hidden due to hide_parameters=True]")
            else:
                engine.logger.info("[snapshot] %r", arguments)
        cursor.execute(sql, arguments)
        engine.dispatch.after_cursor_execute(self, cursor, sql, arguments, context, False)
        rows: list[Any] = cursor.fetchall()
        return rows


class StatementContext:
    """A snapshot statement's execution context: listeners (tracers) keep state on it."""


def _observed(engine: Engine) -> bool:
    """Does anything watch `engine`'s statements (cursor listeners, echo or INFO logging)?"""
    dispatch = engine.dispatch
    return bool(
        dispatch.before_cursor_execute or dispatch.after_cursor_execute or engine.logger.isEnabledFor(logging.INFO)
    )


@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: tuple[str, ...] | None  # bind names in order (qmark), None for named styles
    binds: Mapping[str, Processor]
    fixed: Mapping[str, Any]  # binds the statement gives a value itself (SQLite's OFFSET 0)
    results: tuple[Processor, ...]
    row: Callable[..., Any]


class Direct:
    """A SELECT compiled once per dialect and run on the driver under a `Snapshot` (see the
    module docstring). Its bind parameters are named (`bindparam("account_id")`)."""

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
        fixed = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        return _Plan(str(compiled), positional, binds, fixed, results, row._make)

    def all(self, snapshot: Snapshot, params: Mapping[str, Any]) -> list[Any]:
        plan = self.plan(snapshot.dialect)
        fetched = snapshot.run(plan.sql, _arguments(plan, params))
        results = plan.results
        if not any(results):
            return [plan.row(values) for values in fetched]
        return [
            plan.row([v if p is None or v is None else p(v) for p, v in zip(results, values, strict=True)])
            for values in fetched
        ]

    def first(self, snapshot: Snapshot, params: Mapping[str, Any]) -> Any:
        """The first row, or None."""
        rows = self.all(snapshot, params)
        return rows[0] if rows else None


def _arguments(plan: _Plan, params: Mapping[str, Any]) -> Any:
    def value(name: str) -> Any:
        given = params[name] if name in params else plan.fixed[name]
        process = plan.binds.get(name)
        return given if process is None or given is None else process(given)

    if plan.positional is not None:
        return tuple(value(name) for name in plan.positional)
    return {name: value(name) for name in (*params, *plan.fixed)}


class SQLiteReaders:
    """One read-only driver connection per thread for a SQLite database file."""

    def __init__(self, engine: Engine, busy_timeout_ms: int) -> None:
        self._engine = engine
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
        plain = database not in ("", ":memory:") and "mode=memory" not in database
        return engine.dialect.name == "sqlite" and plain and "uri" not in engine.url.query

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
    def snapshot(self, *, consistent: bool = False) -> Iterator[Snapshot]:
        """A deferred read transaction on this thread's connection: consistent always."""
        try:
            connection = self._begin()
            try:
                yield Snapshot(self._engine, connection)
            finally:
                if connection.in_transaction:
                    connection.execute("COMMIT")
        except DBAPIError as exc:
            if outage.is_unavailable(exc):
                raise outage.unavailable() from exc
            raise

    def _begin(self) -> sqlite3.Connection:
        # Opening the connection or beginning may fail like any statement.
        try:
            connection = self._connection()
            connection.execute("BEGIN")
        except sqlite3.Error as exc:
            raise DBAPIError.instance("BEGIN", None, exc, sqlite3.Error) from exc
        return connection

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._local = threading.local()


BEGIN_CONSISTENT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"


class PostgreSQLSnapshots:
    """Snapshots on `pool`, an engine of autocommit connections checked out without a ping
    (`make_engine(..., snapshots=True)`): one round trip per statement. Its statements are
    seen by the events and echo of `observed_by`, the main engine."""

    def __init__(self, pool: Engine, *, observed_by: Engine) -> None:
        self._pool = pool
        self._observed_by = observed_by
        # The pool hands out the driver's own error when it cannot connect.
        self._cannot_connect = (DBAPIError, PoolTimeout, pool.dialect.loaded_dbapi.Error)

    @contextmanager
    def snapshot(self, *, consistent: bool = False) -> Iterator[Snapshot]:
        """Each statement its own transaction; `consistent`: all of them in one read-only
        REPEATABLE READ transaction (two more round trips), so they agree."""
        snapshot = _LeasedSnapshot(self, self._observed_by, self.checkout())
        try:
            if consistent:
                snapshot.begin()
            yield snapshot
        except DBAPIError as exc:
            if snapshot.broken():
                snapshot.drop(exc)
            if outage.is_unavailable(exc):
                raise outage.unavailable() from exc
            raise
        finally:
            snapshot.release()

    def checkout(self) -> PoolProxiedConnection:
        """A connection from the pool, unpinged; `Unavailable` when none can be had."""
        try:
            return self._pool.raw_connection()
        except self._cannot_connect as exc:
            raise outage.unavailable() from exc

    def close(self) -> None:
        """Drop every pooled connection (a database that went away broke them all)."""
        self._pool.dispose()


class _LeasedSnapshot(Snapshot):
    """A PostgreSQL snapshot, on a connection leased from `snapshots` (None once dropped)."""

    __slots__ = ("_in_transaction", "_leased", "_retried", "_snapshots")

    def __init__(self, snapshots: PostgreSQLSnapshots, engine: Engine, leased: PoolProxiedConnection) -> None:
        super().__init__(engine, leased.driver_connection)
        self._snapshots = snapshots
        self._leased: PoolProxiedConnection | None = leased
        self._retried = False
        self._in_transaction = False

    def run(self, sql: str, arguments: Any) -> list[Any]:
        """No ping before checkout, so a connection the server closed meanwhile (restart,
        idle timeout, failover) fails its first statement: it is replaced and the statement
        run once more (safe: each statement is its own transaction). Once per snapshot, and
        only for a broken connection: a statement timeout is not run again."""
        try:
            return super().run(sql, arguments)
        except DBAPIError as exc:
            if self._retried or not self._replace(exc):
                raise
            return super().run(sql, arguments)

    def _replace(self, error: DBAPIError) -> bool:
        self._retried = True
        if not self.broken():
            return False
        self.drop(error)
        try:
            self._leased = self._snapshots.checkout()
        except Unavailable:
            return False  # still away: the statement's error stands (a 503)
        self.driver_connection = self._leased.driver_connection
        return True

    def begin(self) -> None:
        """Start one read-only transaction for the statements to come; a broken connection is
        replaced first, and none after (a statement in the transaction is not run again)."""
        try:
            self._command(BEGIN_CONSISTENT)
        except DBAPIError as exc:
            if self._retried or not self._replace(exc):
                raise
            self._command(BEGIN_CONSISTENT)
        self._retried = self._in_transaction = True

    def _command(self, sql: str) -> None:
        """A statement with no rows (BEGIN, COMMIT), unseen by the engine's events."""
        cursor = self.driver_connection.cursor()
        try:
            cursor.execute(sql)
        except self.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(sql, None, exc, self.dialect.loaded_dbapi.Error) from exc
        finally:
            cursor.close()

    def broken(self) -> bool:
        # psycopg marks a connection broken when the server closed it under us.
        return self._leased is not None and bool(getattr(self.driver_connection, "broken", False))

    def drop(self, error: DBAPIError) -> None:
        if self._leased is not None:
            self._leased.invalidate(error)
            self._leased = None
        self._snapshots.close()

    def release(self) -> None:
        if self._leased is None:
            return
        if self._in_transaction and not self.broken():
            try:
                self._command("COMMIT")  # read-only: after a failed statement, a rollback
            except DBAPIError as exc:
                self._leased.invalidate(exc)
                self._leased = None
                return
        self._leased.close()


class PooledSnapshots:
    """Snapshots as ordinary read transactions on `engine`'s pool (`read`), for databases
    the other kinds cannot serve: in-memory or URI SQLite, or PostgreSQL without a
    snapshot engine (tests, the CLI)."""

    def __init__(self, engine: Engine, read: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._engine = engine
        self._read = read

    @contextmanager
    def snapshot(self, *, consistent: bool = False) -> Iterator[Snapshot]:
        """One read transaction: consistent always."""
        with self._read() as tx:
            yield Snapshot(self._engine, tx.connection.driver_connection)

    def close(self) -> None:
        """Nothing of its own: the pool is the engine's."""


# Where a `Database` gets its snapshots from.
Snapshots = SQLiteReaders | PostgreSQLSnapshots | PooledSnapshots


def snapshots_for(
    engine: Engine,
    *,
    read: Callable[[], AbstractContextManager[Connection]],
    pool: Engine | None,
    busy_timeout_ms: int,
) -> Snapshots:
    """The snapshots of `engine`: per-thread readers for a SQLite file, the autocommit
    `pool` on PostgreSQL when there is one, else pooled read transactions (`read`)."""
    if SQLiteReaders.usable(engine):
        return SQLiteReaders(engine, busy_timeout_ms)
    if pool is not None:
        return PostgreSQLSnapshots(pool, observed_by=engine)
    return PooledSnapshots(engine, read)
