"""Notification policy operations, in the transaction the edge gives."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection

from patron.server.notifications import repository

Target = repository.Target


def targets(tx: Connection, account_id: uuid.UUID, notification_type: str) -> list[Target]:
    """The account's live policies matching `notification_type` (a policy with no list
    matches every type; an empty list matches none), oldest first."""
    return [
        target
        for target in repository.live_targets(tx, account_id)
        if target.notification_types is None or notification_type in target.notification_types
    ]
