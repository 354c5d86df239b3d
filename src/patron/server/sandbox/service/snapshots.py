"""An account's snapshots (docs/sandbox.md): its whole registry saved under a name, in the
database (so they outlive the server), and restored exactly."""

from __future__ import annotations

import re

from sqlalchemy import Connection

from patron.server import clock
from patron.server.errors import Conflict, InvalidInput, NotFound
from patron.server.sandbox.repository import accounts as account_rows
from patron.server.sandbox.repository import snapshots as repository
from patron.server.sandbox.service import accounts
from patron.wire.sandbox import snapshots as wire

MAX_SNAPSHOTS = 100
"""Snapshots one account may hold (so their list needs no paging)."""
MAX_CUSTOMERS = 10_000
"""The most customers a snapshot holds: the whole registry is read into memory."""
# A name goes in a URL path as it is: letters, digits and `. _ ~ -`, not starting with a dot.
_NAME = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,254}")


def create(tx: Connection, account_id: str, request: wire.CreateSnapshotRequest) -> wire.Snapshot:
    """Save the account's registry as it is now under `request.name`."""
    if not _NAME.fullmatch(request.name):
        raise InvalidInput("name", "must be 1 to 255 letters, digits or any of . _ ~ - (not starting with .)")
    ident, customers = accounts.locked(tx, account_id)
    if customers > MAX_CUSTOMERS:
        raise Conflict(f"the account holds {customers:,} customers; a snapshot holds at most {MAX_CUSTOMERS:,}")
    # Counted under the account's lock: two creates cannot both take the last place.
    if repository.count_snapshots(tx, ident) >= MAX_SNAPSHOTS:
        raise Conflict(f"the account already holds {MAX_SNAPSHOTS} snapshots: delete one first")
    row = repository.SnapshotRow(request.name, clock.utc_now(), customers)
    if not repository.insert_snapshot(tx, ident, row, repository.pack(repository.dump(tx, ident))):
        raise Conflict(f"snapshot {request.name!r} already exists")
    return _shown(row)


def list_all(tx: Connection, account_id: str) -> wire.SnapshotList:
    ident = accounts.found(tx, account_id)
    return wire.SnapshotList([_shown(row) for row in repository.list_snapshots(tx, ident)])


def restore(tx: Connection, account_id: str, name: str) -> None:
    """Put the account's registry back as the snapshot holds it, and forget its idempotency
    keys: a replay would answer with objects the restore took away or changed."""
    ident, _ = accounts.locked(tx, account_id)
    packed = repository.packed_content(tx, ident, name)
    if packed is None:
        raise NotFound("snapshot", name)
    account_rows.clear_idempotency_keys(tx, ident)
    repository.restore(tx, ident, repository.unpack(packed))


def delete(tx: Connection, account_id: str, name: str) -> None:
    ident = accounts.found(tx, account_id)
    if not repository.delete_snapshot(tx, ident, name):
        raise NotFound("snapshot", name)


def _shown(row: repository.SnapshotRow) -> wire.Snapshot:
    return wire.Snapshot(name=row.name, created_at=clock.iso(row.created_at), customers=row.customers)
