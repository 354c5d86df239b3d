"""The outbox's write path (docs/webhooks.md): an event per customer whose representation
a write changed, and a delivery per matching policy and recipient, recorded in the write's
own transaction. A write that rolls back takes its events with it; one that commits has
them stored before anything is sent, so no crash loses one."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection

from patron.server import clock
from patron.server.notifications import service as notifications
from patron.server.webhooks.repository import outbox as repository
from patron.wire import notifications as wire
from patron.wire.enums import NotificationChannel, NotificationType

_ENCODER = msgspec.json.Encoder()


@dataclass(frozen=True)
class Change:
    """A customer as the write leaves it: its id, the type of event it would fire, and its
    representation encoded exactly as `GET /customers/{id}` answers it."""

    resource_id: uuid.UUID
    notification_type: NotificationType
    resource: bytes


def hold(tx: Connection, account_id: uuid.UUID, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """Lock what these customers were last announced as (see `repository.hold`); call it
    before rendering them."""
    return repository.hold(tx, account_id, sorted(set(customer_ids)))


def digest(resource: bytes) -> str:
    return hashlib.blake2b(resource, digest_size=16).hexdigest()


def record(
    tx: Connection, account_id: uuid.UUID, changes: Sequence[Change], held: Mapping[uuid.UUID, str | None]
) -> frozenset[str]:
    """Record an event for each change whose representation differs from the one last
    announced (a new customer always), with its deliveries; the recipients of those waiting
    to be sent (none: nothing to send)."""
    digests = {c.resource_id: digest(c.resource) for c in changes}
    fresh = [
        c
        for c in changes
        if c.notification_type == NotificationType.CUSTOMER_CREATED or held.get(c.resource_id) != digests[c.resource_id]
    ]
    if not fresh:
        return frozenset()
    repository.store_digests(tx, account_id, {c.resource_id: digests[c.resource_id] for c in fresh})
    now = clock.utc_now()
    events = [_event(account_id, change, now) for change in fresh]
    repository.insert_events(tx, events)
    matching = _matcher(tx, account_id)
    deliveries = [row for event in events for row in deliveries_of(event, matching(event["notification_type"]), now)]
    repository.insert_deliveries(tx, deliveries)
    return frozenset(row["recipient"] for row in deliveries if row["status"] == "pending")


def envelope(account_id: uuid.UUID, change: Change) -> bytes:
    """Sequence's webhook body: compact JSON, keys in Sequence's order, no event id in it."""
    body = wire.WebhookEnvelope(
        notification_type=change.notification_type.value,
        sequence_account_id=str(account_id),
        resource_type=wire.RESOURCE_CUSTOMER,
        resource_id=str(change.resource_id),
        resource=msgspec.Raw(change.resource),  # type: ignore[arg-type]
    )
    return _ENCODER.encode(body)


def _event(account_id: uuid.UUID, change: Change, now: datetime) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "id": clock.new_id(),
        "notification_type": change.notification_type.value,
        "resource_type": wire.RESOURCE_CUSTOMER,
        "resource_id": change.resource_id,
        "body": envelope(account_id, change),
        "created_at": now,
    }


def _matcher(tx: Connection, account_id: uuid.UUID) -> Callable[[str], list[notifications.Target]]:
    """The live policies matching a type, read once per type for the whole write."""
    found: dict[str, list[notifications.Target]] = {}

    def matching(notification_type: str) -> list[notifications.Target]:
        if notification_type not in found:
            found[notification_type] = notifications.targets(tx, account_id, notification_type)
        return found[notification_type]

    return matching


def deliveries_of(
    event: Mapping[str, Any], targets: Sequence[notifications.Target], now: datetime, *, redelivery: bool = False
) -> list[dict[str, Any]]:
    """A delivery per (policy, recipient) of an event: pending and due now for a webhook
    policy; `skipped` for an email one (patron sends no email, and shows what would go)."""
    return [
        _delivery(event, target, recipient, now, redelivery=redelivery)
        for target in targets
        for recipient in target.recipients
    ]


def _delivery(
    event: Mapping[str, Any], target: notifications.Target, recipient: str, now: datetime, *, redelivery: bool
) -> dict[str, Any]:
    webhook = target.channel == NotificationChannel.WEBHOOK
    return {
        "account_id": event["account_id"],
        "id": clock.new_id(),
        "event_id": event["id"],
        "policy_id": target.policy_id,
        "recipient": recipient,
        "channel": target.channel,
        "status": "pending" if webhook else "skipped",
        "attempts": 0,
        "next_attempt_at": now if webhook else None,
        "lease_until": None,
        "lease_token": None,
        "last_status": None,
        "last_error": None,
        "redelivery": redelivery,
        "created_at": now,
        "finished_at": None if webhook else now,
    }
