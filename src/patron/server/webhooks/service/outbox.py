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
from patron.server.webhooks.repository.deliveries import Candidate
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


@dataclass(frozen=True)
class Lease:
    """A dispatcher's lease for the deliveries a write records: they are stored taken by
    `token` until `until` (wall clock), for that dispatcher to send once the write commits,
    with no claim (after a crash, they wait for the lease to end)."""

    token: uuid.UUID
    until: datetime


@dataclass(frozen=True)
class Queued:
    """What a write left to send: the deliveries it stored under a `lease` (`leased`,
    sendable as they are), and the recipients of those it stored free (`waiting`: a
    claim takes them)."""

    lease: Lease | None = None
    leased: tuple[Candidate, ...] = ()
    waiting: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.leased or self.waiting)


NOTHING = Queued()


def hold(tx: Connection, account_id: uuid.UUID, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """Lock what these customers were last announced as (see `repository.hold`); call it
    before rendering them."""
    return repository.hold(tx, account_id, sorted(set(customer_ids)))


def digest(resource: bytes) -> str:
    return hashlib.blake2b(resource, digest_size=16).hexdigest()


def record(
    tx: Connection,
    account_id: uuid.UUID,
    changes: Sequence[Change],
    held: Mapping[uuid.UUID, str | None],
    lease: Lease | None = None,
) -> Queued:
    """Record an event for each change whose representation differs from the one last
    announced (a new customer always), with its deliveries (under `lease` when given):
    what there is to send once the write commits."""
    digests = {c.resource_id: digest(c.resource) for c in changes}
    fresh = [
        c
        for c in changes
        if c.notification_type == NotificationType.CUSTOMER_CREATED or held.get(c.resource_id) != digests[c.resource_id]
    ]
    if not fresh:
        return NOTHING
    repository.store_digests(tx, account_id, {c.resource_id: digests[c.resource_id] for c in fresh})
    now = clock.utc_now()
    events = [_event(account_id, change, now) for change in fresh]
    repository.insert_events(tx, events)
    matching = _matcher(tx, account_id)
    deliveries = [
        (event, target, row)
        for event in events
        for target in matching(event["notification_type"])
        for row in deliveries_of(event, [target], now, lease=lease)
    ]
    repository.insert_deliveries(tx, [row for _, _, row in deliveries])
    pending = [(event, target, row) for event, target, row in deliveries if row["status"] == "pending"]
    if lease is None:
        return Queued(waiting=frozenset(row["recipient"] for _, _, row in pending))
    return Queued(lease, tuple(_sendable(event, target, row) for event, target, row in pending))


def _sendable(event: Mapping[str, Any], target: notifications.Target, row: Mapping[str, Any]) -> Candidate:
    """A delivery the write leased, as a claim would have read it (the write's clock: the
    account's test clock when pinned)."""
    return Candidate(
        account_id=row["account_id"],
        id=row["id"],
        event_id=row["event_id"],
        recipient=row["recipient"],
        attempts=0,
        body=event["body"],
        secret=target.webhook_secret,
        policy_found=True,
        policy_deleted=False,
        policy_recipients=list(target.recipients),
        frozen_at=clock.pinned_moment(),
    )


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
    event: Mapping[str, Any],
    targets: Sequence[notifications.Target],
    now: datetime,
    *,
    redelivery: bool = False,
    lease: Lease | None = None,
) -> list[dict[str, Any]]:
    """A delivery per (policy, recipient) of an event: pending and due now for a webhook
    policy (taken under `lease` when given); `skipped` for an email one (patron sends no
    email, and shows what would go)."""
    return [
        _delivery(event, target, recipient, now, redelivery=redelivery, lease=lease)
        for target in targets
        for recipient in target.recipients
    ]


def _delivery(
    event: Mapping[str, Any],
    target: notifications.Target,
    recipient: str,
    now: datetime,
    *,
    redelivery: bool,
    lease: Lease | None,
) -> dict[str, Any]:
    webhook = target.channel == NotificationChannel.WEBHOOK
    leased = lease if webhook else None
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
        "lease_until": None if leased is None else leased.until,
        "lease_token": None if leased is None else leased.token,
        "last_status": None,
        "last_error": None,
        "redelivery": redelivery,
        "created_at": now,
        "finished_at": None if webhook else now,
    }
