"""A `limits` storage in a SQLite file, so the worker processes of one machine share their
rate limits (`sqlite:///path`; `patron serve --workers N` sets one up in a fresh temporary
directory). `limits` keeps its memory storage per process, and a limit that multiplies by
the worker count protects nothing. Each hit is one short `BEGIN IMMEDIATE` transaction on a
file no one fsyncs: the write lock decides, so two workers never both take the last slot.
Several machines share a limit through Redis instead (`redis://...`)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from limits.storage import MovingWindowSupport, Storage

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, at REAL NOT NULL, expires REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS hits_key ON hits (key, at)",
    "CREATE INDEX IF NOT EXISTS hits_expires ON hits (expires)",
    "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires REAL NOT NULL)",
)


class SQLiteStorage(Storage, MovingWindowSupport):
    """Moving windows (what patron uses) as one row per hit; fixed windows as counters."""

    STORAGE_SCHEME = ["sqlite"]  # noqa: RUF012 (limits declares it a plain class attribute)

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        # As SQLAlchemy spells it: `sqlite:///relative.db`, `sqlite:////absolute.db`.
        self._path = uri.removeprefix("sqlite:///")
        self._local = threading.local()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        with self._transaction() as db:
            for statement in _SCHEMA:
                db.execute(statement)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        """One connection per thread (sqlite3 connections are not shared across threads)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self._path, timeout=5.0, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=OFF")
            self._local.connection = connection
        return connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Take `amount` slots of the window ending now, if that many are free."""
        with self._transaction() as db:
            now = time.time()  # once the lock is ours: a time read before it would age the hit
            db.execute("DELETE FROM hits WHERE expires <= ?", (now,))
            (taken,) = db.execute("SELECT COUNT(*) FROM hits WHERE key = ?", (key,)).fetchone()
            if taken + amount > limit:
                return False
            db.executemany("INSERT INTO hits VALUES (?, ?, ?)", [(key, now, now + expiry)] * amount)
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(when the oldest hit still in the window happened, how many hits it holds)."""
        now = time.time()
        oldest, taken = (
            self._connection()
            .execute("SELECT MIN(at), COUNT(*) FROM hits WHERE key = ? AND expires > ?", (key, now))
            .fetchone()
        )
        return (now if oldest is None else float(oldest)), int(taken)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self._transaction() as db:
            now = time.time()
            db.execute("DELETE FROM counters WHERE key = ? AND expires <= ?", (key, now))
            (value,) = db.execute(
                "INSERT INTO counters VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = value + excluded.value"
                " RETURNING value",
                (key, amount, now + expiry),
            ).fetchone()
        return int(value)

    def get(self, key: str) -> int:
        row = (
            self._connection()
            .execute("SELECT value FROM counters WHERE key = ? AND expires > ?", (key, time.time()))
            .fetchone()
        )
        return 0 if row is None else int(row[0])

    def get_expiry(self, key: str) -> float:
        row = self._connection().execute("SELECT expires FROM counters WHERE key = ?", (key,)).fetchone()
        return time.time() if row is None else float(row[0])

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1")
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        with self._transaction() as db:
            cleared = db.execute("DELETE FROM hits").rowcount + db.execute("DELETE FROM counters").rowcount
        return int(cleared)

    def clear(self, key: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM hits WHERE key = ?", (key,))
            db.execute("DELETE FROM counters WHERE key = ?", (key,))
