"""Sequence's Notification Policies API (version 2024-07-30) and the webhook it sends, as
msgspec Structs; camelCase on the wire exactly as Sequence spells it."""

from __future__ import annotations

from typing import Any

from patron.wire.enums import NotificationChannel, NotificationType
from patron.wire.models import Pagination, Wire

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
    name: str
    recipients: list[str]
    channel: NotificationChannel
    notification_types: list[NotificationType] | None = None
    webhook_secret: str | None = None


class AddRecipientsToPolicyRequest(Wire):
    recipients: list[str]


class AddNotificationTypesToPolicyRequest(Wire):
    notification_types: list[NotificationType]


class WebhookEnvelope(Wire):
    """The body of every webhook Sequence sends: for a customer, `resource` is the customer
    exactly as `GET /customers/{id}` renders it after the write."""

    notification_type: str
    sequence_account_id: str
    resource_type: str | None = None
    resource_id: str | None = None
    resource: dict[str, Any] | None = None
