"""Which database failures mean "not now": the request may be retried (a 503 with
Retry-After), as opposed to a fault in the statement or the data. Used by the transaction
boundary and by snapshots alike."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from patron.server.errors import Unavailable

# PostgreSQL SQLSTATEs meaning "not now": the database is unreachable, shutting down or
# starting, out of connections, read-only (a standby after failover), or it gave up
# waiting (statement or lock timeout, deadlock, serialization failure). The transaction
# was rolled back; the client may retry (503 with Retry-After).
TRANSIENT_SQLSTATE_CLASSES = ("08",)  # connection exceptions
TRANSIENT_SQLSTATES = frozenset(
    {
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, shutting down, recovery)
        "53300",  # too_many_connections
        "25006",  # read_only_sql_transaction
        "57014",  # query_canceled (statement_timeout)
        "55P03",  # lock_not_available (lock_timeout)
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
    }
)
# Driver messages without a SQLSTATE: the connection broke under the client, or SQLite
# could not get its lock within the busy timeout.
TRANSIENT_MESSAGES = (
    "database is locked",
    "connection refused",
    "server closed the connection",
    "terminating connection",
    "could not connect",
    "connection is closed",
    "connection is lost",
    "the database system is",
    "consuming input failed",
)


def is_unavailable(exc: DBAPIError) -> bool:
    """True when `exc` says the database cannot serve now, rather than that the statement
    is wrong: a lost connection, a transient SQLSTATE, or one of the messages above."""
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(sqlstate, str) and (
        sqlstate in TRANSIENT_SQLSTATES or sqlstate.startswith(TRANSIENT_SQLSTATE_CLASSES)
    ):
        return True
    text = str(exc.orig).lower()
    return any(marker in text for marker in TRANSIENT_MESSAGES)


def unavailable() -> Unavailable:
    """The error every edge answers with 503 (raise it `from` the database's error)."""
    return Unavailable("the database is unavailable")
