"""Idempotency-Key semantics (Stripe's): 1 to 255 printable characters, scoped to the account,
kept 24 hours by patron's clock; a retry replays the stored status and body; the same key
with a different request (method, path or body) is refused; the same key while its first
request runs is a 409 (PostgreSQL; SQLite runs one writer at a time, so the retry sees
the finished first and replays). Only successes are stored, in the same transaction as
the work they describe. `web/route.write` applies it to every POST and PUT."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import msgspec
from sqlalchemy import Connection

from patron.server import clock
from patron.server.auth import Principal
from patron.server.errors import IdempotencyMismatch, InvalidInput
from patron.server.idempotency import repository

MAX_KEY = 255
RETENTION = timedelta(hours=24)
HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Keyed:
    """A request sent with an Idempotency-Key: the key, and the digest of the method,
    path and body that the key is bound to."""

    key: str
    request_hash: str


@dataclass(frozen=True)
class Outcome:
    """The answer to send: the status and JSON body the key's first request answered."""

    status: int
    body: bytes
    replayed: bool


def keyed(key: str | None, method: str, path: str, body: bytes) -> Keyed | None:
    """The request's key, checked before any work (None: the request named no key)."""
    if key is None:
        return None
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise InvalidInput(HEADER, f"must be 1 to {MAX_KEY} printable characters")
    return Keyed(key, fingerprint(method, path, body))


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def run_once(
    tx: Connection,
    who: Principal,
    request: Keyed | None,
    status: int,
    work: Callable[[Connection, Principal], msgspec.Struct],
) -> Outcome:
    """Answer `status` and what `work` returns, encoded, unless this key already ran it
    (then replay that answer). Without a key: no statement beyond the work's own."""
    if request is None:
        return Outcome(status, _ENCODER.encode(work(tx, who)), replayed=False)
    now = clock.utc_now()
    expired = now - RETENTION
    stored = repository.claim(tx, who.account_id, request.key, request.request_hash, now, expired)
    if stored is not None:
        return _replay(stored, request)
    body = _ENCODER.encode(work(tx, who))
    repository.record(tx, who.account_id, request.key, status, body.decode())
    repository.purge(tx, who.account_id, expired)
    return Outcome(status, body, replayed=False)


def _replay(stored: repository.Stored, request: Keyed) -> Outcome:
    if stored.request_hash != request.request_hash:
        raise IdempotencyMismatch(f"this {HEADER} was used with a different request; use a new key")
    return Outcome(stored.status, stored.body.encode(), replayed=True)


_ENCODER = msgspec.json.Encoder()
