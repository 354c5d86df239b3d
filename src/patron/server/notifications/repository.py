"""All SQL of notification policies."""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from patron.server.db import tables

p = tables.notification_policy.c


class Target(NamedTuple):
    """A live policy as the outbox matches it against an event."""

    policy_id: uuid.UUID
    channel: str
    recipients: list[str]
    notification_types: list[str] | None


def live_targets(tx: Connection, account_id: uuid.UUID) -> list[Target]:
    """The account's policies that are not deleted, oldest first."""
    query = (
        select(p.id, p.channel, p.recipients, p.notification_types)
        .where(p.account_id == account_id, p.deleted_at.is_(None))
        .order_by(p.created_at, p.id)
    )
    return [
        Target(row.id, row.channel, list(row.recipients), _types(row.notification_types)) for row in tx.execute(query)
    ]


def _types(stored: Any) -> list[str] | None:
    return None if stored is None else list(stored)
