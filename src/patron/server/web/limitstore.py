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
    # A window's hits, counted as they come and go: no request counts the window's rows.
    "CREATE TABLE IF NOT EXISTS windows (key TEXT PRIMARY KEY, taken INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires REAL NOT NULL)",
)
_SWEEP_SECONDS = 60.0


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
        """Take `amount` slots of the window ending now, if that many are free. The key's
        expired hits leave first; the count of the rest is kept in `windows`, so the cost
        does not grow with the limit."""
        with self._transaction() as db:
            now = time.time()  # once the lock is ours: a time read before it would age the hit
            self._sweep(db, now)
            left = db.execute("DELETE FROM hits WHERE key = ? AND at <= ?", (key, now - expiry)).rowcount
            row = db.execute("SELECT taken FROM windows WHERE key = ?", (key,)).fetchone()
            taken = max(0, (0 if row is None else int(row[0])) - left)
            allowed = taken + amount <= limit
            if allowed:
                db.executemany("INSERT INTO hits VALUES (?, ?, ?)", [(key, now, now + expiry)] * amount)
                taken += amount
            db.execute(
                "INSERT INTO windows VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET taken = excluded.taken", (key, taken)
            )
        return allowed

    def _sweep(self, db: sqlite3.Connection, now: float) -> None:
        """Once a minute per process: forget the keys whose hits have all expired (client
        ids not seen since), so the file does not grow with every client id ever tried.
        A key still in use keeps its expired hits until its next request removes them."""
        if now - getattr(self._local, "swept", 0.0) < _SWEEP_SECONDS:
            return
        self._local.swept = now
        db.execute(
            "DELETE FROM windows WHERE NOT EXISTS (SELECT 1 FROM hits WHERE hits.key = windows.key AND expires > ?)",
            (now,),
        )
        db.execute("DELETE FROM hits WHERE expires <= ? AND key NOT IN (SELECT key FROM windows)", (now,))

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(when the oldest hit still in the window happened, how many hits it holds)."""
        now = time.time()
        db = self._connection()
        (oldest,) = db.execute("SELECT MIN(at) FROM hits WHERE key = ? AND at > ?", (key, now - expiry)).fetchone()
        if oldest is None:
            return now, 0
        row = db.execute("SELECT taken FROM windows WHERE key = ?", (key,)).fetchone()
        (expired,) = db.execute("SELECT COUNT(*) FROM hits WHERE key = ? AND at <= ?", (key, now - expiry)).fetchone()
        return float(oldest), (0 if row is None else int(row[0])) - int(expired)

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
            db.execute("DELETE FROM windows")
        return int(cleared)

    def clear(self, key: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM hits WHERE key = ?", (key,))
            db.execute("DELETE FROM windows WHERE key = ?", (key,))
            db.execute("DELETE FROM counters WHERE key = ?", (key,))
