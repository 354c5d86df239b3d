"""Accounts and credentials: secrets are random, shown once, kept only as a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection

from patron.server import clock
from patron.server.accounts import repository
from patron.server.accounts.repository import CredentialRow
from patron.server.auth import Principal
from patron.server.db import locks
from patron.server.db.snapshot import Snapshot
from patron.server.errors import InvalidInput, NotFound, Unauthenticated

# A client id is the account id (hex) and a random suffix: authentication finds the
# account from the id alone, and every credential row still lives under its account.
_SUFFIX_BYTES = 8
_SECRET_BYTES = 32
# One message for every authentication failure, so none tells an attacker more than another.
BAD_CREDENTIALS = "missing or invalid credentials: send HTTP Basic with clientId:clientSecret"
# A client id or secret an operator chooses (docs/sandbox.md): what HTTP Basic carries
# unambiguously (no colon in the id, nothing that needs quoting in a shell or a URL).
_CHOSEN_ID = re.compile(r"[A-Za-z0-9._~-]{1,64}")
_CHOSEN_SECRET = re.compile(r"[!-~]{1,255}")


@dataclass(frozen=True)
class NewCredential:
    account_id: uuid.UUID
    client_id: str
    client_secret: str


def hash_secret(key: bytes, secret: str) -> str:
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def create_account(
    tx: Connection, key: bytes, name: str, *, client_id: str | None = None, client_secret: str | None = None
) -> NewCredential:
    """A new account with its first credential pair (random, unless the caller chose the
    client id or the secret: a CI job that wants fixed ones). A chosen client id already
    in use is a `Conflict` (the unique index decides)."""
    name = name.strip()
    if not name:
        raise InvalidInput("name", "must not be empty")
    _check_chosen(client_id, client_secret)
    account_id = clock.new_id()
    repository.insert_account(tx, account_id=account_id, name=name, now=clock.utc_now())
    return create_credential(tx, key, account_id, client_id=client_id, client_secret=client_secret)


def _check_chosen(client_id: str | None, client_secret: str | None) -> None:
    if client_id is not None and not _CHOSEN_ID.fullmatch(client_id):
        raise InvalidInput("clientId", "must be 1 to 64 letters, digits or any of . _ ~ -")
    if client_secret is not None and not _CHOSEN_SECRET.fullmatch(client_secret):
        raise InvalidInput("clientSecret", "must be 1 to 255 printable ASCII characters, no spaces")


def create_credential(
    tx: Connection, key: bytes, account_id: uuid.UUID, *, client_id: str | None = None, client_secret: str | None = None
) -> NewCredential:
    if repository.get_account(tx, account_id) is None:
        raise NotFound("account", str(account_id))
    client_id = client_id or f"{account_id.hex}{secrets.token_hex(_SUFFIX_BYTES)}"
    secret = client_secret or secrets.token_urlsafe(_SECRET_BYTES)
    repository.insert_credential(
        tx,
        account_id=account_id,
        client_id=client_id,
        secret_hash=hash_secret(key, secret),
        now=clock.utc_now(),
    )
    return NewCredential(account_id=account_id, client_id=client_id, client_secret=secret)


def list_credentials(tx: Connection, account_id: uuid.UUID) -> list[CredentialRow]:
    if repository.get_account(tx, account_id) is None:
        raise NotFound("account", str(account_id))
    return repository.list_credentials(tx, account_id)


def revoke_credential(tx: Connection, client_id: str) -> None:
    if repository.revoke_credential(tx, client_id, clock.utc_now()) == 0:
        raise NotFound("credential", client_id)


def begin_write(tx: Connection, account_id: uuid.UUID) -> None:
    """The first statement of every API write: the account's write lock, shared. A reset,
    restore, snapshot or deletion of the account takes it alone before any row lock, so
    it waits for the writes in flight and they for it. Without it, a write holding a
    customer that then inserts a row referring to the account (an outbox row, a digest)
    would wait for a reset waiting for that customer: a deadlock PostgreSQL ends with a 503."""
    locks.shared(tx, locks.ACCOUNT, account_id)


def has_accounts(tx: Connection) -> bool:
    return repository.count_accounts(tx) > 0


def authenticate(reads: Snapshot, key: bytes, client_id: str, secret: str) -> Principal:
    """Check a client id and secret; every failure looks the same to the caller."""
    row = repository.find_credential(reads, client_id) if len(client_id) <= _LONGEST_ID else None
    # Hash even when the id is unknown, so both failures take the same time.
    presented = hash_secret(key, secret)
    stored = row.secret_hash if row is not None else hash_secret(key, "\x00unknown")
    if row is None or row.revoked_at is not None or not hmac.compare_digest(presented, stored):
        raise Unauthenticated(BAD_CREDENTIALS)
    return Principal(account_id=row.account_id, client_id=client_id, frozen_at=row.frozen_at)


_LONGEST_ID = 64
