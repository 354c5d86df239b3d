"""Engines for SQLite and PostgreSQL, and the one transaction boundary every edge uses."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, create_engine, event, pool
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from patron.server.config import Settings
from patron.server.db import outage
from patron.server.db.snapshot import Snapshot, snapshots_for
from patron.server.errors import Conflict, Unavailable

WRITE = "patron_write"


def normalise_url(url: str) -> str:
    """Accept the URLs users paste (`postgresql://`, `postgres://`) and pick psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    pool_timeout: float = 5.0,
    busy_timeout_ms: int = 10_000,
    connect_timeout: float = 3.0,
    statement_timeout_ms: int = 0,
    snapshots: bool = False,
) -> Engine:
    """Build an engine; SQLite gets WAL, a busy timeout and `BEGIN IMMEDIATE` for writes.
    JSON columns are read with msgspec (a quarter of the time of `json.loads`, or less).

    PostgreSQL gets bounded waits everywhere, so a request never hangs on a database that
    is gone or stuck: `connect_timeout` to open a connection, `statement_timeout_ms` per
    statement (0: none), TCP keepalives and a TCP user timeout for a server that vanishes
    without closing its connections. Values given in the URL's query win.

    `snapshots=True` builds the PostgreSQL engine for `Database.snapshot` instead: every
    statement in its own transaction (autocommit), and no ping before each checkout (a
    broken connection is replaced when it fails; see `db.snapshot`).
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            poolclass=pool.QueuePool,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=pool_timeout,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            json_deserializer=msgspec.json.decode,
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(
            url,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=pool_timeout,
            pool_pre_ping=not snapshots,
            json_deserializer=msgspec.json.decode,
            connect_args=_postgresql_connect_args(dict(parsed.query), connect_timeout, statement_timeout_ms),
            **({"isolation_level": "AUTOCOMMIT"} if snapshots else {}),
        )
    raise ValueError(f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}")


def _postgresql_connect_args(
    query: dict[str, str | tuple[str, ...]], connect_timeout: float, statement_timeout_ms: int
) -> dict[str, Any]:
    """libpq parameters for bounded waits; anything the URL's query sets is left alone."""
    wanted: dict[str, Any] = {
        "connect_timeout": max(1, round(connect_timeout)),
        # A server that disappears without a FIN/RST (host down, network cut): idle
        # connections are probed after 10 s and dropped after 3 unanswered probes, and
        # unacknowledged writes (a query sent into the void) fail after 10 s.
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 3,
        "keepalives_count": 3,
        "tcp_user_timeout": 10_000,
    }
    args = {name: value for name, value in wanted.items() if name not in query}
    if statement_timeout_ms > 0:
        setting = f"-c statement_timeout={int(statement_timeout_ms)}"
        given = query.get("options")
        args["options"] = f"{given} {setting}" if isinstance(given, str) else setting
    return args


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins (pysqlite quirk).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Writers take the write lock up front, so two writers never deadlock on upgrade.
        write = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


# The safety net under every write: each write decides its own races and says why in its
# 409, but a unique key it did not foresee is still a 409, never a 500.
CONFLICT = "the request conflicts with a value already stored (or stored meanwhile by another request)"
_UNIQUE_SQLITE = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})


def is_unique_violation(exc: DBAPIError) -> bool:
    """True when a statement broke a unique key or primary key (SQLSTATE 23505 on
    PostgreSQL, SQLite's extended constraint codes)."""
    if not isinstance(exc, IntegrityError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate == "23505" or getattr(exc.orig, "sqlite_errorname", None) in _UNIQUE_SQLITE


@contextmanager
def transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """One transaction: commit when the block ends normally, roll back on any error.

    Connection failures surface as `Unavailable` so the edge can answer 503, a broken
    unique key as `Conflict` (409).
    """
    try:
        connection = engine.connect()
    except (OperationalError, PoolTimeout) as exc:
        raise outage.unavailable() from exc
    try:
        with connection:
            if write:
                connection.execution_options(**{WRITE: True})
            try:
                with connection.begin():
                    yield connection
            except DBAPIError as exc:
                if outage.is_unavailable(exc):
                    raise outage.unavailable() from exc
                if is_unique_violation(exc):
                    raise Conflict(CONFLICT) from exc
                raise
    except OperationalError as exc:
        if outage.is_unavailable(exc):
            raise outage.unavailable() from exc
        raise


class WriterQueue:
    """SQLite lets one writer in at a time and has the others poll for the lock, sleeping
    up to 100 ms between tries, in no order: under load a writer can lose to newcomers for
    seconds. Writers of one process queue here instead, first come first served, each
    handed the turn the moment the one before it ends; only another process's writers
    meet SQLite's busy timeout."""

    def __init__(self, timeout_s: float) -> None:
        self._guard = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()
        self._held = False
        self._timeout_s = timeout_s

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the process's write turn (`Unavailable` after the busy timeout)."""
        self._enter()
        try:
            yield
        finally:
            self._leave()

    def _enter(self) -> None:
        with self._guard:
            if not self._held:
                self._held = True
                return
            waiter = threading.Lock()
            waiter.acquire()
            self._waiting.append(waiter)
        if waiter.acquire(timeout=self._timeout_s):
            return
        with self._guard:
            if waiter not in self._waiting:
                return  # handed the turn just as the wait ran out
            self._waiting.remove(waiter)
        raise outage.unavailable()

    def _leave(self) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._held = False


class Database:
    """The engine and server key a running patron works with; hands out transactions.

    `snapshots`: on PostgreSQL, a second engine for `snapshot` (see `make_engine`); without
    it a snapshot is an ordinary read transaction on the pool (still a `Snapshot`).
    """

    def __init__(
        self, engine: Engine, key: bytes, *, busy_timeout_ms: int = 10_000, snapshots: Engine | None = None
    ) -> None:
        self.engine = engine
        self.key = key
        sqlite = engine.dialect.name == "sqlite"
        self._writers = WriterQueue(busy_timeout_ms / 1000) if sqlite else None
        self._snapshots = snapshots_for(engine, read=self.read, pool=snapshots, busy_timeout_ms=busy_timeout_ms)

    def read(self) -> AbstractContextManager[Connection]:
        return transaction(self.engine, write=False)

    def snapshot(self, *, consistent: bool = False) -> AbstractContextManager[Snapshot]:
        """A read-only block for `snapshot.Direct` statements only, the cheapest way to read
        (see `db.snapshot`). SQLite file: one consistent view for the block. PostgreSQL with
        a snapshot engine: each statement reads what is committed when it runs (autocommit),
        unless `consistent` puts them in one read-only REPEATABLE READ transaction. Otherwise
        a pooled read transaction. Always a `Snapshot`; `Unavailable` when the database
        cannot serve now."""
        return self._snapshots.snapshot(consistent=consistent)

    def close(self) -> None:
        """Close the snapshot connections and the pool."""
        self._snapshots.close()
        self.engine.dispose()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction; on SQLite, after this process's writers before it."""
        with self._writers.turn() if self._writers else nullcontext(), transaction(self.engine, write=True) as tx:
            yield tx

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.read() as tx:
                tx.exec_driver_sql("SELECT 1")
        except (Unavailable, DBAPIError):
            return False
        return True


# Snapshot reads run inline on the event loop, one at a time: two connections suffice.
SNAPSHOT_POOL_SIZE = 2


def open_database(settings: Settings) -> Database:
    """The database `settings` name, with its snapshot connections (see `Database`)."""
    options: dict[str, Any] = {
        "pool_timeout": settings.pool_timeout,
        "busy_timeout_ms": settings.busy_timeout_ms,
        "connect_timeout": settings.connect_timeout,
        "statement_timeout_ms": settings.statement_timeout_ms,
    }
    engine = make_engine(settings.database_url, pool_size=settings.pool_size, **options)
    # PostgreSQL: a few more connections for snapshot reads (authentication, by-alias).
    snapshots = (
        make_engine(settings.database_url, pool_size=SNAPSHOT_POOL_SIZE, snapshots=True, **options)
        if engine.dialect.name == "postgresql"
        else None
    )
    return Database(engine, settings.secret_key.encode(), busy_timeout_ms=settings.busy_timeout_ms, snapshots=snapshots)
