"""An account's snapshots on the wire (`/_patron/accounts/{id}/snapshots`, docs/sandbox.md)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from patron.wire.models import MAX_VALUE, Wire


class CreateSnapshotRequest(Wire):
    name: Annotated[str, msgspec.Meta(max_length=MAX_VALUE)]


class Snapshot(Wire):
    name: str
    created_at: str
    customers: int
    """How many customers (archived ones included) it holds."""


class SnapshotList(Wire):
    items: list[Snapshot]
