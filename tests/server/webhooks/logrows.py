"""Rows of the webhook log written straight into the tables (policies, events, deliveries,
attempts): the states a log test reads, whatever the dispatcher would have made of them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from patron.server import clock
from patron.server.db import tables
from patron.server.db.engine import Database
from tests.conftest import Account

MOMENT = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def add_policy(
    database: Database,
    account: Account,
    recipients: list[str],
    *,
    channel: str = "WEBHOOK",
    kinds: list[str] | None = None,
    deleted: bool = False,
) -> str:
    policy_id = clock.new_id()
    with database.write() as tx:
        tx.execute(
            insert(tables.notification_policy).values(
                account_id=uuid.UUID(account.account_id),
                id=policy_id,
                name="hooks",
                channel=channel,
                recipients=recipients,
                notification_types=kinds,
                webhook_secret="whsec_PatronTestVectorSecret0123456789" if channel == "WEBHOOK" else None,
                created_at=MOMENT,
                deleted_at=MOMENT if deleted else None,
            )
        )
    return str(policy_id)


def envelope(account: Account, kind: str, resource_id: str, **resource: Any) -> bytes:
    """A webhook body as the outbox encodes one: compact JSON, Sequence's key order."""
    body = {
        "notificationType": kind,
        "sequenceAccountId": account.account_id,
        "resourceType": "Customer",
        "resourceId": resource_id,
        "resource": {"id": resource_id, "legalName": "Acme Widgets Ltd", **resource},
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def add_event(
    database: Database,
    account: Account,
    kind: str = "CUSTOMER_CREATED",
    *,
    resource_id: str | None = None,
    at: datetime = MOMENT,
    body: bytes | None = None,
) -> str:
    event_id = clock.new_id()
    resource = resource_id or str(clock.new_id())
    with database.write() as tx:
        tx.execute(
            insert(tables.webhook_event).values(
                account_id=uuid.UUID(account.account_id),
                id=event_id,
                notification_type=kind,
                resource_type="Customer",
                resource_id=uuid.UUID(resource),
                body=body if body is not None else envelope(account, kind, resource),
                created_at=at,
            )
        )
    return str(event_id)


def add_delivery(
    database: Database,
    account: Account,
    event_id: str,
    policy_id: str,
    recipient: str,
    *,
    status: str = "pending",
    attempts: int = 0,
    last_status: int | None = None,
    last_error: str | None = None,
) -> str:
    delivery_id = clock.new_id()
    finished = status not in {"pending", "paused"}
    with database.write() as tx:
        tx.execute(
            insert(tables.webhook_delivery).values(
                account_id=uuid.UUID(account.account_id),
                id=delivery_id,
                event_id=uuid.UUID(event_id),
                policy_id=uuid.UUID(policy_id),
                recipient=recipient,
                channel="WEBHOOK",
                status=status,
                attempts=attempts,
                next_attempt_at=None if finished else MOMENT,
                lease_until=None,
                lease_token=None,
                last_status=last_status,
                last_error=last_error,
                redelivery=False,
                created_at=MOMENT,
                finished_at=MOMENT + timedelta(seconds=1) if finished else None,
            )
        )
    return str(delivery_id)


def add_attempt(
    database: Database,
    account: Account,
    delivery_id: str,
    number: int,
    *,
    status_code: int | None,
    error: str | None = None,
    request_headers: Any = None,
    response_headers: Any = None,
    excerpt: str | None = None,
) -> None:
    started = MOMENT + timedelta(seconds=number)
    with database.write() as tx:
        tx.execute(
            insert(tables.webhook_attempt).values(
                account_id=uuid.UUID(account.account_id),
                delivery_id=uuid.UUID(delivery_id),
                number=number,
                started_at=started,
                signed_at_ms=int(started.timestamp() * 1000),
                request_headers=request_headers if request_headers is not None else {"webhook-id": "x"},
                status_code=status_code,
                response_headers=response_headers,
                response_excerpt=excerpt,
                duration_ms=12.5,
                error=error,
            )
        )
