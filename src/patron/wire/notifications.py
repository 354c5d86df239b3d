"""Sequence's Notification Policies API (version 2024-07-30) and the webhook it sends, as
msgspec Structs; camelCase on the wire exactly as Sequence spells it."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from patron.wire.enums import NotificationChannel, NotificationType
from patron.wire.models import MAX_VALUE, ErrorDetail, FieldError, Pagination, Wire

# --- bounds on request bodies (docs/limits.md, docs/webhooks.md) ----------------------
MAX_RECIPIENTS = 100
"""Recipients of one policy (every policy response lists them all)."""
MAX_RECIPIENT = 2048
"""A recipient: a webhook URL of at most 2048 characters (an email address: at most 1000)."""
MAX_TYPES = 100
"""Items of a `notificationTypes` list in a request (duplicates are dropped: at most the 20 remain)."""
MAX_SECRET = MAX_VALUE

Name = Annotated[str, msgspec.Meta(max_length=MAX_VALUE)]
Secret = Annotated[str, msgspec.Meta(max_length=MAX_SECRET)]
Recipient = Annotated[str, msgspec.Meta(max_length=MAX_RECIPIENT)]
Recipients = Annotated[
    list[Recipient],
    # The items' maximum stated again for patron's OpenAPI document, whose generator does
    # not look inside a list.
    msgspec.Meta(
        max_length=MAX_RECIPIENTS,
        extra_json_schema={"extra": {"items": {"type": "string", "maxLength": MAX_RECIPIENT}}},
    ),
]
Types = Annotated[list[NotificationType], msgspec.Meta(max_length=MAX_TYPES)]

RESOURCE_CUSTOMER = "Customer"
"""`resourceType` of a customer's webhook: the name of the 2024-07-30 response component
(docs/webhooks.md; one constant, should a real delivery show another name)."""


class NotificationPolicy(Wire):
    id: str
    created_at: str
    sequence_account_id: str
    name: str
    recipients: list[str]
    channel: NotificationChannel
    # Absent: the policy matches every type; [] matches none.
    notification_types: list[NotificationType] | None = None
    webhook_secret: str | None = None


class NotificationPolicies(Wire):
    items: list[NotificationPolicy]
    pagination: Pagination


class CreateNotificationPolicyRequest(Wire):
    name: Name
    recipients: Recipients
    channel: NotificationChannel
    notification_types: Types | None = None
    webhook_secret: Secret | None = None


class AddRecipientsToPolicyRequest(Wire):
    recipients: Recipients


class AddNotificationTypesToPolicyRequest(Wire):
    notification_types: Types


class DatabaseErrors(Wire):
    """The 400 body of the operations where Sequence declares `DatabaseErrors` (a required
    top-level `errors` array): patron's error body, and its field errors once more at the
    top level, so it validates as both."""

    error: ErrorDetail
    errors: list[FieldError]


class WebhookEnvelope(Wire):
    """The body of every webhook Sequence sends: for a customer, `resource` is the customer
    exactly as `GET /customers/{id}` renders it after the write."""

    notification_type: str
    sequence_account_id: str
    resource_type: str | None = None
    resource_id: str | None = None
    resource: dict[str, Any] | None = None
