"""All SQL for accounts and credentials."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, func, insert, select, update

from patron.server.db import tables
from patron.server.db.snapshot import Direct, Snapshot


class AccountRow(NamedTuple):
    id: uuid.UUID
    name: str
    created_at: datetime


class StoredCredential(NamedTuple):
    account_id: uuid.UUID
    secret_hash: str
    revoked_at: datetime | None
    frozen_at: datetime | None


class CredentialRow(NamedTuple):
    client_id: str
    created_at: datetime
    revoked_at: datetime | None


def insert_account(tx: Connection, *, account_id: uuid.UUID, name: str, now: datetime) -> None:
    tx.execute(insert(tables.account).values(id=account_id, name=name, created_at=now))


def get_account(tx: Connection, account_id: uuid.UUID) -> AccountRow | None:
    query = select(tables.account.c.id, tables.account.c.name, tables.account.c.created_at)
    row = tx.execute(query.where(tables.account.c.id == account_id)).first()
    return AccountRow._make(row) if row is not None else None


def count_accounts(tx: Connection) -> int:
    return int(tx.execute(select(func.count()).select_from(tables.account)).scalar_one())


def insert_credential(
    tx: Connection, *, account_id: uuid.UUID, client_id: str, secret_hash: str, now: datetime
) -> None:
    tx.execute(
        insert(tables.credential).values(
            account_id=account_id, client_id=client_id, secret_hash=secret_hash, created_at=now
        )
    )


# Run on the driver: authentication runs on every request. The account's test clock comes
# along, so a request is pinned to it without another statement.
_FIND_CREDENTIAL = Direct(
    select(
        tables.credential.c.account_id,
        tables.credential.c.secret_hash,
        tables.credential.c.revoked_at,
        tables.account.c.frozen_at,
    )
    .join(tables.account, tables.account.c.id == tables.credential.c.account_id)
    .where(tables.credential.c.client_id == bindparam("client_id"))
)


def find_credential(reads: Snapshot, client_id: str) -> StoredCredential | None:
    row = _FIND_CREDENTIAL.first(reads, {"client_id": client_id})
    return StoredCredential._make(row) if row is not None else None


def list_credentials(tx: Connection, account_id: uuid.UUID) -> list[CredentialRow]:
    c = tables.credential.c
    query = (
        select(c.client_id, c.created_at, c.revoked_at)
        .where(c.account_id == account_id)
        .order_by(c.created_at, c.client_id)
    )
    return [CredentialRow._make(row) for row in tx.execute(query)]


def revoke_credential(tx: Connection, client_id: str, now: datetime) -> int:
    c = tables.credential.c
    statement = update(tables.credential).where(c.client_id == client_id, c.revoked_at.is_(None)).values(revoked_at=now)
    return tx.execute(statement).rowcount
