"""Notification policy rules, in the transaction the edge gives (docs/webhooks.md).

A policy's recipients and types change only through the add and remove operations. Each
of those reads the policy under its row lock (`repository.lock`) and writes the list it
computed before the lock is released, so racing changes of one policy apply one after
the other and none is lost (a conditional UPDATE could not merge two lists).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from sqlalchemy import Connection

from patron.server import clock, validation
from patron.server.auth import Principal
from patron.server.db.keyset import CursorCodec, read_cursor
from patron.server.errors import InvalidInput, NotFound
from patron.server.notifications import repository
from patron.server.notifications.repository import PolicyRow
from patron.wire import notifications as wire
from patron.wire.enums import NotificationChannel, NotificationType
from patron.wire.models import MAX_VALUE, Pagination

Target = repository.Target

MAX_NAME = MAX_VALUE
_SECRET = re.compile(rf"[\x21-\x7e]{{1,{wire.MAX_SECRET}}}")  # printable ASCII, no space
_UNSAFE_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")
ALL_TYPES = tuple(NotificationType)
"""The 20 types in Sequence's order: what "every type" turns into when one is removed."""


def targets(tx: Connection, account_id: uuid.UUID, notification_type: str) -> list[Target]:
    """The account's live policies matching `notification_type` (a policy with no list
    matches every type; an empty list matches none), oldest first."""
    return [
        target
        for target in repository.live_targets(tx, account_id)
        if target.notification_types is None or notification_type in target.notification_types
    ]


# --- reads ---------------------------------------------------------------------------


def list_page(
    tx: Connection,
    who: Principal,
    key: bytes,
    *,
    notification_type: NotificationType | None,
    limit: int,
    after: str | None,
    before: str | None,
) -> wire.NotificationPolicies:
    """A page of the account's policies, newest first; with a type, the policies that list
    it and those with no list (they match every type)."""
    kind = None if notification_type is None else str(notification_type)
    codec = CursorCodec(key, ["notification-policies", who.account_id, kind])
    cursor = read_cursor(codec, after=after, before=before, columns=repository.LIST_SORT)
    page = repository.page(tx, who.account_id, notification_type=kind, limit=limit, cursor=cursor, codec=codec)
    total = repository.count(tx, who.account_id, notification_type=kind)
    return wire.NotificationPolicies(
        items=[_response(row) for row in page.rows],
        pagination=Pagination(total_result_size=total, after=page.after, before=page.before),
    )


def get(tx: Connection, who: Principal, policy_id: str) -> wire.NotificationPolicy:
    row = repository.get(tx, who.account_id, _parse_id(policy_id))
    if row is None:
        raise NotFound("notification policy", policy_id)
    return _response(row)


# --- writes --------------------------------------------------------------------------


def create(tx: Connection, who: Principal, request: wire.CreateNotificationPolicyRequest) -> wire.NotificationPolicy:
    """A new policy: a WEBHOOK policy gets a generated secret unless it names one."""
    name = validation.text(request.name, "name", max_length=MAX_NAME)
    if not request.recipients:
        raise InvalidInput("recipients", "must name at least one recipient")
    recipients = _recipients(request.channel, request.recipients)
    types = None if request.notification_types is None else _distinct(request.notification_types)
    row = PolicyRow(
        id=clock.new_id(),
        account_id=who.account_id,
        name=name,
        channel=str(request.channel),
        recipients=recipients,
        notification_types=types,
        webhook_secret=_secret(request.channel, request.webhook_secret),
        created_at=clock.utc_now(),
    )
    values = row._asdict()
    values["notification_types"] = repository.stored_types(types)
    repository.insert_policy(tx, values)
    return _response(row)


def delete(tx: Connection, who: Principal, policy_id: str) -> wire.NotificationPolicy:
    """Delete a policy; its deliveries still waiting to be sent are cancelled. Of racing
    deletes one finds the policy under its lock, the others find it deleted (404)."""
    row = _lock(tx, who, policy_id)
    now = clock.utc_now()
    repository.mark_deleted(tx, who.account_id, row.id, now)
    repository.cancel_pending(tx, who.account_id, row.id, now)
    return _response(row)


def add_recipients(
    tx: Connection, who: Principal, policy_id: str, request: wire.AddRecipientsToPolicyRequest
) -> wire.NotificationPolicy:
    """Append the recipients the policy does not hold yet, in the order given."""
    if not request.recipients:
        raise InvalidInput("recipients", "must name at least one recipient")
    row = _lock(tx, who, policy_id)
    added = _recipients(NotificationChannel(row.channel), request.recipients)
    recipients = _distinct([*row.recipients, *added])
    if len(recipients) > wire.MAX_RECIPIENTS:
        raise InvalidInput("recipients", f"a policy holds at most {wire.MAX_RECIPIENTS} recipients")
    if recipients != row.recipients:
        repository.set_recipients(tx, who.account_id, row.id, recipients)
    return _response(row._replace(recipients=recipients))


def remove_recipient(tx: Connection, who: Principal, policy_id: str, recipient: str) -> wire.NotificationPolicy:
    """Remove one recipient (exactly as stored) and cancel its deliveries still waiting
    under this policy. A recipient the policy does not hold leaves the policy as it is;
    deliveries still waiting for it (queued by a write that matched the policy while it
    held the recipient) are cancelled all the same: the caller wants it to get nothing."""
    row = _lock(tx, who, policy_id)
    repository.cancel_pending(tx, who.account_id, row.id, clock.utc_now(), recipient=recipient)
    if recipient not in row.recipients:
        return _response(row)
    recipients = [held for held in row.recipients if held != recipient]
    repository.set_recipients(tx, who.account_id, row.id, recipients)
    return _response(row._replace(recipients=recipients))


def add_types(
    tx: Connection, who: Principal, policy_id: str, request: wire.AddNotificationTypesToPolicyRequest
) -> wire.NotificationPolicy:
    """Append the types the policy does not list yet. A policy with no list already
    matches every type: it stays so (adding never narrows what a policy receives)."""
    if not request.notification_types:
        raise InvalidInput("notificationTypes", "must name at least one notification type")
    row = _lock(tx, who, policy_id)
    if row.notification_types is None:
        return _response(row)
    types = _distinct([*row.notification_types, *request.notification_types])
    if types != row.notification_types:
        repository.set_types(tx, who.account_id, row.id, types)
    return _response(row._replace(notification_types=types))


def remove_type(
    tx: Connection, who: Principal, policy_id: str, notification_type: NotificationType
) -> wire.NotificationPolicy:
    """Stop matching one type. A policy with no list becomes the list of the other 19 (in
    Sequence's order); removing the last type leaves `[]`, which matches nothing."""
    row = _lock(tx, who, policy_id)
    listed = list(ALL_TYPES) if row.notification_types is None else row.notification_types
    if notification_type not in listed:
        return _response(row)
    types = [kind for kind in listed if kind != notification_type]
    repository.set_types(tx, who.account_id, row.id, types)
    return _response(row._replace(notification_types=types))


# --- pieces --------------------------------------------------------------------------


def _parse_id(policy_id: str) -> uuid.UUID:
    return validation.parse_id(policy_id, "notification policy")


def _lock(tx: Connection, who: Principal, policy_id: str) -> PolicyRow:
    row = repository.lock(tx, who.account_id, _parse_id(policy_id))
    if row is None:
        raise NotFound("notification policy", policy_id)
    return row


def _distinct(values: Iterable[str]) -> list[str]:
    """Each value once, where it first appears."""
    return list(dict.fromkeys(str(value) for value in values))


def _recipients(channel: NotificationChannel, values: Sequence[str]) -> list[str]:
    """The recipients as stored: URLs for WEBHOOK, email addresses for EMAIL, each once."""
    check = _url if channel is NotificationChannel.WEBHOOK else validation.email
    return _distinct(check(value, f"recipients[{index}]") for index, value in enumerate(values))


def _url(value: str, field: str) -> str:
    """An absolute http(s) URL with a host, kept exactly as given."""
    problem = f"{value!r} is not an absolute http(s) URL"
    if len(value) > wire.MAX_RECIPIENT or _UNSAFE_IN_URL.search(value):
        raise InvalidInput(field, problem)
    try:
        parts = urlsplit(value)
        _ = parts.port  # a ValueError for a port that is no number or out of range
    except ValueError:
        raise InvalidInput(field, problem) from None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise InvalidInput(field, problem)
    return value


def _secret(channel: NotificationChannel, given: str | None) -> str | None:
    if channel is NotificationChannel.EMAIL:
        if given is not None:
            raise InvalidInput("webhookSecret", "only WEBHOOK policies have a webhook secret")
        return None
    if given is None:
        return clock.new_webhook_secret()
    if not _SECRET.fullmatch(given):
        raise InvalidInput(
            "webhookSecret", f"must be 1 to {wire.MAX_SECRET} printable ASCII characters without whitespace"
        )
    return given


def _response(row: PolicyRow) -> wire.NotificationPolicy:
    return wire.NotificationPolicy(
        id=str(row.id),
        created_at=clock.iso(row.created_at),
        sequence_account_id=str(row.account_id),
        name=row.name,
        recipients=list(row.recipients),
        channel=NotificationChannel(row.channel),
        notification_types=None
        if row.notification_types is None
        else [NotificationType(t) for t in row.notification_types],
        webhook_secret=row.webhook_secret,
    )
