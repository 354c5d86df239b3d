"""Accounts and credentials: secrets are random, shown once, kept only as a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection

from patron.server import clock
from patron.server.accounts import repository
from patron.server.accounts.repository import CredentialRow
from patron.server.auth import Principal
from patron.server.db.snapshot import Snapshot
from patron.server.errors import InvalidInput, NotFound, Unauthenticated

# A client id is the account id (hex) and a random suffix: authentication finds the
# account from the id alone, and every credential row still lives under its account.
_SUFFIX_BYTES = 8
_SECRET_BYTES = 32
# One message for every authentication failure, so none tells an attacker more than another.
BAD_CREDENTIALS = "missing or invalid credentials: send HTTP Basic with clientId:clientSecret"


@dataclass(frozen=True)
class NewCredential:
    account_id: uuid.UUID
    client_id: str
    client_secret: str


def hash_secret(key: bytes, secret: str) -> str:
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def create_account(tx: Connection, key: bytes, name: str) -> NewCredential:
    """A new account with its first credential pair."""
    name = name.strip()
    if not name:
        raise InvalidInput("name", "must not be empty")
    account_id = clock.new_id()
    repository.insert_account(tx, account_id=account_id, name=name, now=clock.utc_now())
    return create_credential(tx, key, account_id)


def create_credential(tx: Connection, key: bytes, account_id: uuid.UUID) -> NewCredential:
    if repository.get_account(tx, account_id) is None:
        raise NotFound("account", str(account_id))
    client_id = f"{account_id.hex}{secrets.token_hex(_SUFFIX_BYTES)}"
    secret = secrets.token_urlsafe(_SECRET_BYTES)
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
    account_id = _account_of(client_id)
    if account_id is None or repository.revoke_credential(tx, account_id, client_id, clock.utc_now()) == 0:
        raise NotFound("credential", client_id)


def has_accounts(tx: Connection) -> bool:
    return repository.count_accounts(tx) > 0


def authenticate(reads: Snapshot, key: bytes, client_id: str, secret: str) -> Principal:
    """Check a client id and secret; every failure looks the same to the caller."""
    account_id = _account_of(client_id)
    row = repository.find_credential(reads, account_id, client_id) if account_id else None
    # Hash even when the id is unknown, so both failures take the same time.
    presented = hash_secret(key, secret)
    stored = row.secret_hash if row is not None else hash_secret(key, "\x00unknown")
    if row is None or row.revoked_at is not None or not hmac.compare_digest(presented, stored):
        raise Unauthenticated(BAD_CREDENTIALS)
    assert account_id is not None
    return Principal(account_id=account_id, client_id=client_id)


def _account_of(client_id: str) -> uuid.UUID | None:
    if len(client_id) != 32 + 2 * _SUFFIX_BYTES:
        return None
    try:
        return uuid.UUID(hex=client_id[:32])
    except ValueError:
        return None
