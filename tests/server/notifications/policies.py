"""Helpers of the notification policy tests: requests with defaults, and deliveries
recorded straight in the outbox tables (what a customer write would have queued)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any
from urllib.parse import quote

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import insert, select

from patron.server import clock
from patron.server.db import tables
from patron.server.db.engine import Database
from tests.conftest import Account

Client = TestClient[Litestar]
POLICIES = "/api/notifications/policies"
MISSING = "01890000-0000-7000-8000-000000000000"
_counter = itertools.count(1)


def policy_body(**overrides: Any) -> dict[str, Any]:
    """A valid CreateNotificationPolicyRequest for a WEBHOOK policy."""
    body: dict[str, Any] = {
        "name": f"Hooks {next(_counter)}",
        "recipients": ["https://hooks.example.com/sequence"],
        "channel": "WEBHOOK",
    }
    body.update(overrides)
    return body


def create_policy(client: Client, account: Account, **overrides: Any) -> dict[str, Any]:
    response = client.post(POLICIES, json=policy_body(**overrides), headers=account.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def get_policy(client: Client, account: Account, policy_id: str) -> dict[str, Any]:
    response = client.get(f"{POLICIES}/{policy_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def recipient_path(policy_id: str, recipient: str) -> str:
    """N6's path: the recipient percent-encoded whole, slashes included."""
    return f"{POLICIES}/{policy_id}/recipients/{quote(recipient, safe='')}"


def queue_deliveries(
    database: Database, account: Account, policy_id: str, recipients: list[str], *, status: str = "pending"
) -> list[uuid.UUID]:
    """One event with a delivery of it per recipient, as the outbox records them."""
    account_id, event_id, now = uuid.UUID(account.account_id), clock.new_id(), clock.utc_now()
    event = {
        "account_id": account_id,
        "id": event_id,
        "notification_type": "CUSTOMER_CREATED",
        "resource_type": "Customer",
        "resource_id": clock.new_id(),
        "body": b"{}",
        "created_at": now,
    }
    ids = [clock.new_id() for _ in recipients]
    deliveries = [
        {
            "account_id": account_id,
            "id": ident,
            "event_id": event_id,
            "policy_id": uuid.UUID(policy_id),
            "recipient": recipient,
            "channel": "WEBHOOK",
            "status": status,
            "attempts": 0,
            "next_attempt_at": now,
            "redelivery": False,
            "created_at": now,
        }
        for ident, recipient in zip(ids, recipients, strict=True)
    ]
    with database.write() as tx:
        tx.execute(insert(tables.webhook_event).values(event))
        tx.execute(insert(tables.webhook_delivery), deliveries)
    return ids


def delivery_states(database: Database, ids: list[uuid.UUID]) -> list[tuple[str, bool]]:
    """(status, finished?) of each delivery, in the order given."""
    d = tables.webhook_delivery.c
    with database.read() as tx:
        rows = {
            row.id: (row.status, row.finished_at is not None)
            for row in tx.execute(select(d.id, d.status, d.finished_at).where(d.id.in_(ids)))
        }
    return [rows[ident] for ident in ids]
