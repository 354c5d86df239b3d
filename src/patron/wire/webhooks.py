"""patron's webhook log under `/_patron/` (docs/webhooks.md): an account's events with the
exact bodies sent, their deliveries and every attempt; patron's own, not Sequence's API."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import msgspec

from patron.wire.enums import NotificationChannel, NotificationType
from patron.wire.models import MAX_ID, Wire
from patron.wire.notifications import WebhookEnvelope

MAX_RECIPIENT = 2048
"""A recipient URL's maximum length (the column's)."""

DeliveryStatus = Literal["pending", "succeeded", "failed", "cancelled", "skipped", "paused"]
"""What a delivery can be: waiting for an attempt (`pending`), done (`succeeded`), out of
attempts or refused for good (`failed`), not sent because its policy or recipient went
(`cancelled`), never sent because its channel is EMAIL (`skipped`), or held while its
endpoint is paused (`paused`)."""
DELIVERY_STATUSES: tuple[str, ...] = get_args(DeliveryStatus)


class Cursors(Wire):
    """The cursors beside a page of the log, newest first: `after` goes to older entries;
    on the events log `before` goes to newer ones and is there even on the newest page, so
    a client can follow the log (pass it back with `wait`)."""

    after: str | None = None
    before: str | None = None


class Event(Wire):
    """An event as recorded: `body` is the envelope exactly as every delivery sends it (the
    same bytes, as a JSON object), `rawBody` the same bytes as a string, for checking a
    signature over them."""

    id: str
    created_at: str
    notification_type: NotificationType
    resource_type: str
    resource_id: str
    body: WebhookEnvelope
    raw_body: str


class EventPage(Wire):
    items: list[Event]
    pagination: Cursors


class Delivery(Wire):
    """One event to one recipient of one policy; a redelivery is a delivery of its own."""

    id: str
    event_id: str
    policy_id: str
    recipient: str
    channel: NotificationChannel
    status: DeliveryStatus
    attempt_count: int
    redelivery: bool
    created_at: str
    next_attempt_at: str | None = None
    finished_at: str | None = None
    last_status: int | None = None
    last_error: str | None = None


class EventWithDeliveries(Event, kw_only=True):
    deliveries: list[Delivery]


class DeliveryPage(Wire):
    items: list[Delivery]
    pagination: Cursors


class Attempt(Wire):
    """One attempt of a delivery: when it started, the `t` it signed with (Unix ms), the
    request's headers (signatures, never a secret), and what came back: the status, the
    headers, the first 4 KiB of the body, how long it took, or the error that stopped it."""

    number: int
    started_at: str
    t: int
    request_headers: dict[str, str]
    duration_ms: float
    status_code: int | None = None
    response_headers: dict[str, str] | None = None
    response_excerpt: str | None = None
    error: str | None = None


class DeliveryWithAttempts(Delivery, kw_only=True):
    attempts: list[Attempt]


class RedeliverRequest(Wire):
    """Which recipients get the event again: every live webhook policy matching its type
    (and each of their recipients), or only the policy and/or the recipient named."""

    policy_id: Annotated[str, msgspec.Meta(max_length=MAX_ID)] | None = None
    recipient: Annotated[str, msgspec.Meta(max_length=MAX_RECIPIENT)] | None = None


class Redelivered(Wire):
    """The deliveries a redelivery created, pending and due now."""

    items: list[Delivery]


# --- flush (`POST /_patron/webhooks/flush`) ---------------------------------------------


class Flushed(Wire):
    """What a flush did itself: `attempts` made and how they ended (`succeeded`; `failed`
    for good; `retrying`: to be tried again later), deliveries `cancelled` because their
    policy or recipient went, and the account's deliveries still `pending` afterwards
    (retries not yet due). Deliveries another sender was already sending are waited for,
    not counted."""

    attempts: int
    succeeded: int
    failed: int
    retrying: int
    cancelled: int
    pending: int
