"""The operator's accounts (docs/sandbox.md): create one with chosen or random credentials,
list them, reset one to empty, delete one with everything in it."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from patron.server import clock, validation
from patron.server.accounts import service as accounts
from patron.server.db.engine import is_unique_violation
from patron.server.errors import Conflict, NotFound
from patron.server.sandbox.repository import accounts as repository
from patron.wire.sandbox import accounts as wire


def create(tx: Connection, key: bytes, request: wire.CreateAccountRequest) -> wire.NewAccount:
    """A new account with its first credential pair; a chosen client id already in use
    (by any account) is a `Conflict`."""
    name = validation.text(request.name, "name")
    try:
        new = accounts.create_account(tx, key, name, client_id=request.client_id, client_secret=request.client_secret)
    except IntegrityError as exc:
        # The unique index on client ids decides a race between two operators, too.
        if not is_unique_violation(exc):
            raise
        raise Conflict(f"clientId {request.client_id!r} is already in use") from None
    return wire.NewAccount(account_id=str(new.account_id), client_id=new.client_id, client_secret=new.client_secret)


def list_page(tx: Connection, *, limit: int, after: str | None) -> wire.AccountList:
    """Up to `limit` accounts in creation order, after the account `after` (keyset paging)."""
    start = validation.reference(after, "after") if after is not None else None
    found = repository.page(tx, after=start, limit=limit)
    client_ids = repository.live_client_ids(tx, [row.id for row in found])
    return wire.AccountList(
        [
            wire.Account(
                account_id=str(row.id),
                name=row.name,
                created_at=clock.iso(row.created_at),
                client_ids=client_ids.get(row.id, []),
                frozen_time=clock.maybe_iso(row.frozen_at),
            )
            for row in found
        ]
    )


def found(tx: Connection, account_id: str, *, lock: bool = False) -> uuid.UUID:
    """The account named in a path; a malformed or unknown id is `NotFound`. `lock`: and
    its row held to the end of the transaction, so the account's changes to its own sandbox
    rows (its fault rules) take turns."""
    ident = validation.parse_id(account_id, "account")
    if not repository.exists(tx, ident, lock=lock):
        raise NotFound("account", account_id)
    return ident


def locked(tx: Connection, account_id: str) -> tuple[uuid.UUID, int]:
    """The account named in a path, locked against its writers (`repository.lock`), and
    how many customers it holds; a malformed or unknown id is `NotFound`."""
    ident = validation.parse_id(account_id, "account")
    customers = repository.lock(tx, ident)
    if customers is None:
        raise NotFound("account", account_id)
    return ident, customers


def reset(tx: Connection, account_id: str) -> None:
    """Empty the account: its registry, idempotency keys, faults and journal, and its test
    clock back to the wall clock; its credentials and snapshots stay."""
    ident, _ = locked(tx, account_id)
    repository.reset(tx, ident)


def delete(tx: Connection, account_id: str) -> None:
    """The account and everything in it, credentials and snapshots included."""
    ident, _ = locked(tx, account_id)
    repository.delete_account(tx, ident)
