"""The request journal (docs/sandbox.md): what each `/api` request of an account asked and
got, kept for its newest `KEEP` requests at least. No header is ever kept, so neither is
the Authorization header; bodies are kept as text, cut at `MAX_BODY` bytes."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection

from patron.server import clock
from patron.server.exchange import Exchange
from patron.server.sandbox.repository import journal as repository
from patron.server.sandbox.service import accounts
from patron.wire.sandbox import journal as wire

KEEP = 1000
"""Entries kept per account at least; older ones go every `TRIM_EVERY` entries."""
TRIM_EVERY = 100
MAX_BODY = 64 * 1024
"""Bytes kept of each body; a longer one ends with `CUT`."""
CUT = "\n[patron: cut at {kept} of {size} bytes]"
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
# The columns' lengths (db/tables.py); what is longer is cut to fit.
_MAX_REQUEST_ID = 128
_MAX_METHOD = 8
_MAX_PATH = 2000


@dataclass(frozen=True)
class Body:
    """The first `MAX_BODY` bytes of a body, and how long it was in all."""

    head: bytes
    size: int

    def text(self) -> str:
        """As text: invalid UTF-8 becomes U+FFFD, and so does NUL (as everywhere in the
        journal: PostgreSQL's text cannot hold it)."""
        shown = _clean(self.head.decode("utf-8", errors="replace"))
        return shown + CUT.format(kept=len(self.head), size=self.size) if self.size > len(self.head) else shown


def record(tx: Connection, exchange: Exchange, *, trim: bool) -> None:
    """Journal `exchange`, in a transaction of its own (a journal entry is worth less than
    the wait for the disk); `trim`: and let the account's oldest entries go past `KEEP`."""
    repository.without_waiting_for_the_disk(tx)
    entry = repository.Entry(
        id=exchange.id,
        request_id=exchange.request_id[:_MAX_REQUEST_ID],
        at=exchange.at,
        method=_clean(exchange.method[:_MAX_METHOD]),
        path=_clean(exchange.path[:_MAX_PATH]),
        query=_clean(exchange.query),
        status=exchange.status,
        duration_ms=round(exchange.duration_ms, 3),
        request_body=Body(exchange.request_body, exchange.request_size).text(),
        response_body=Body(exchange.response_body, exchange.response_size).text(),
    )
    repository.insert_entry(tx, exchange.account_id, entry)
    if trim:
        repository.keep_newest(tx, exchange.account_id, KEEP)


def _clean(text: str) -> str:
    return text.replace("\x00", "\ufffd")


def recent(tx: Connection, account: str, limit: int) -> wire.JournalPage:
    account_id = accounts.found(tx, account)
    return wire.JournalPage(items=[_to_wire(entry) for entry in repository.newest(tx, account_id, limit)])


def _to_wire(entry: repository.Entry) -> wire.JournalEntry:
    return wire.JournalEntry(
        id=str(entry.id),
        request_id=entry.request_id,
        at=clock.iso(entry.at),
        method=entry.method,
        path=entry.path,
        query=entry.query,
        status=entry.status,
        duration_ms=entry.duration_ms,
        request_body=entry.request_body,
        response_body=entry.response_body,
    )


class Trimmer:
    """When an account's journal is trimmed: on this process's first entry for it and every
    `TRIM_EVERY` after: an account holds at most `KEEP` plus `TRIM_EVERY` for each process
    recording its requests, and one request in `TRIM_EVERY` pays for the trim."""

    _ACCOUNTS = 10_000
    """Accounts counted at once; past that the counts start again (an early trim, no harm)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[uuid.UUID, int] = {}

    def due(self, account_id: uuid.UUID) -> bool:
        with self._lock:
            if len(self._counts) >= self._ACCOUNTS:
                self._counts.clear()
            seen = self._counts.get(account_id, 0)
            self._counts[account_id] = seen + 1
            return seen % TRIM_EVERY == 0
