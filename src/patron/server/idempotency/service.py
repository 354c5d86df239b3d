"""Idempotency-Key semantics (Sequence's, as for `POST /customer-aliases`): at most 255
characters, scoped to the account, kept 24 hours; a retry replays the stored status and
body; the same key with a different request is refused. Only successes are stored, in
the same transaction as the work they describe."""

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


@dataclass(frozen=True)
class Outcome:
    """The answer to send: the status and JSON body the key's first request answered."""

    status: int
    body: bytes
    replayed: bool


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def run_once(
    tx: Connection,
    who: Principal,
    key: str | None,
    request_hash: str,
    status: int,
    work: Callable[[Connection, Principal], msgspec.Struct],
) -> Outcome:
    """Answer `status` and what `work` returns, unless this key already ran it (then
    replay that answer)."""
    if key is None:
        return Outcome(status, _ENCODER.encode(work(tx, who)), replayed=False)
    if not key or len(key) > MAX_KEY:
        raise InvalidInput("Idempotency-Key", f"must be 1 to {MAX_KEY} characters")
    now = clock.utc_now()
    stored = repository.find(tx, who.account_id, key)
    if stored is not None:
        if now - stored.created_at < RETENTION:
            if stored.request_hash != request_hash:
                raise IdempotencyMismatch("this Idempotency-Key was used with a different request; use a new key")
            return Outcome(stored.status, stored.body.encode(), replayed=True)
        repository.forget(tx, who.account_id, key)
    body = _ENCODER.encode(work(tx, who))
    repository.store(
        tx, account_id=who.account_id, key=key, request_hash=request_hash, status=status, body=body.decode(), now=now
    )
    return Outcome(status, body, replayed=False)


_ENCODER = msgspec.json.Encoder()
