"""Per-account advisory locks (PostgreSQL transaction-level; SQLite runs one writer at a
time, so nothing is taken there). Each lock is a `space` (what it guards) and the
account: two accounts whose ids share a 32-bit digest only wait for each other.

PostgreSQL queues these fairly: a shared request waits behind an exclusive one already
waiting, so a steady stream of shared holders never starves an exclusive taker (row
locks give no such promise)."""

from __future__ import annotations

import uuid
import zlib

from sqlalchemy import Connection, TextClause, text

HIERARCHY = 0x6F726701
"""Writes that add organization members, one after the other per account."""
ACCOUNT = 0x61636301
"""Every API write holds it shared; a reset, restore, snapshot or deletion of the account
holds it exclusively (`sandbox/repository/accounts.lock`)."""

_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(:space, :key)")
_SHARED = text("SELECT pg_advisory_xact_lock_shared(:space, :key)")


def exclusive(tx: Connection, space: int, account_id: uuid.UUID) -> None:
    """Take `space`'s lock of the account to the end of the transaction, alone."""
    _take(tx, _EXCLUSIVE, space, account_id)


def shared(tx: Connection, space: int, account_id: uuid.UUID) -> None:
    """Take `space`'s lock of the account to the end of the transaction, with others."""
    _take(tx, _SHARED, space, account_id)


def _take(tx: Connection, statement: TextClause, space: int, account_id: uuid.UUID) -> None:
    if tx.dialect.name != "postgresql":
        return
    digest = zlib.crc32(account_id.bytes)
    key = digest - 2**32 if digest >= 2**31 else digest
    tx.execute(statement, {"space": space, "key": key})
