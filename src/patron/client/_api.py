"""Every operation of the API patron serves under `/api`, described once: each function
takes the operation's arguments in Python's spelling and returns the `Op` to send (the
wire names are written here, next to the Python ones). `Client` and `AsyncClient` run them."""

from __future__ import annotations

from collections.abc import Sequence

from patron.client._op import Op, query, segment
from patron.wire import models as wire
from patron.wire import notifications
from patron.wire.enums import BillingStatus, NotificationType, SortOrder

# --- customers ---------------------------------------------------------------------


def list_customers(
    *,
    legal_name: str | None = None,
    email: str | None = None,
    alias: str | None = None,
    label: str | None = None,
    include_archived: bool | None = None,
    billing_status: BillingStatus | None = None,
    sort_by: str | None = None,
    sort_order: SortOrder | None = None,
    limit: int | None = None,
    after: str | None = None,
    before: str | None = None,
) -> Op[wire.ListCustomerResponse]:
    """A page of customers (`GET /customers`). `legal_name`: a case-insensitive part of the
    legal name; `email`: a live contact's email; `alias`: a live alias (or the id);
    `sort_by`: `createdAt` (the default), `legalName` or `customProperties.<key>`;
    `limit`: 1 to 100 (20); `after`/`before`: the cursors of `pagination`."""
    filters = query(legalName=legal_name, email=email, alias=alias, label=label, includeArchived=include_archived)
    order = query(billingStatus=billing_status, sortBy=sort_by, sortOrder=sort_order)
    paging = query(limit=limit, after=after, before=before)
    return Op("GET", "/customers", wire.ListCustomerResponse, {**filters, **order, **paging})


def create_customer(request: wire.CreateOrUpdateCustomerRequest) -> Op[wire.Customer]:
    """Create a customer (`POST /customers`)."""
    return Op("POST", "/customers", wire.Customer, body=request)


def get_customer(customer_id: str) -> Op[wire.Customer]:
    """A customer by id (`GET /customers/{id}`)."""
    return Op("GET", f"/customers/{segment(customer_id)}", wire.Customer)


def update_customer(customer_id: str, request: wire.CreateOrUpdateCustomerRequest) -> Op[wire.Customer]:
    """Replace a customer's fields (`PUT /customers/{id}`)."""
    return Op("PUT", f"/customers/{segment(customer_id)}", wire.Customer, body=request)


def archive_customer(customer_id: str) -> Op[wire.Customer]:
    """Archive a customer (`POST /customers/{id}/archive`)."""
    return Op("POST", f"/customers/{segment(customer_id)}/archive", wire.Customer)


def list_custom_property_keys() -> Op[wire.CustomPropertyKeys]:
    """Every custom property key the account's customers use (`GET /customer-custom-property-keys`)."""
    return Op("GET", "/customer-custom-property-keys", wire.CustomPropertyKeys)


# --- organizations -----------------------------------------------------------------


def create_organization(owner_id: str, member_ids: Sequence[str]) -> Op[wire.CustomerOrganization]:
    """Make `owner_id` the parent of `member_ids` (`POST /customer-organizations`)."""
    body = wire.CustomerOrganizationRequest(owner_id=owner_id, member_ids=list(member_ids))
    return Op("POST", "/customer-organizations", wire.CustomerOrganization, body=body)


def add_organization_members(organization_id: str, customer_ids: Sequence[str]) -> Op[wire.CustomerOrganization]:
    """Add customers to an organization (`POST /customer-organizations/{id}/members`)."""
    return _members("POST", organization_id, customer_ids)


def replace_organization_members(organization_id: str, customer_ids: Sequence[str]) -> Op[wire.CustomerOrganization]:
    """Make `customer_ids` the organization's only members (`PUT /customer-organizations/{id}/members`)."""
    return _members("PUT", organization_id, customer_ids)


def _members(method: str, organization_id: str, customer_ids: Sequence[str]) -> Op[wire.CustomerOrganization]:
    body = wire.CustomerOrganizationMembers(customer_ids=list(customer_ids))
    path = f"/customer-organizations/{segment(organization_id)}/members"
    return Op(method, path, wire.CustomerOrganization, body=body)


# --- aliases -----------------------------------------------------------------------


def list_aliases(
    *, value: str | None = None, limit: int | None = None, after: str | None = None, before: str | None = None
) -> Op[wire.ListCustomerAliasResponse]:
    """A page of the account's live aliases (`GET /customer-aliases`); `value`: only the
    alias with exactly this value."""
    params = query(value=value, limit=limit, after=after, before=before)
    return Op("GET", "/customer-aliases", wire.ListCustomerAliasResponse, params)


def create_alias(customer_id: str, value: str, *, label: str | None = None) -> Op[wire.CustomerAliasResponse]:
    """Give a customer an alias (`POST /customer-aliases`); a value in use is a `Conflict`."""
    body = wire.CreateCustomerAliasRequest(customer_id=customer_id, value=value, label=label)
    return Op("POST", "/customer-aliases", wire.CustomerAliasResponse, body=body)


def update_alias(alias_id: str, *, label: str | None) -> Op[wire.CustomerAliasResponse]:
    """Set an alias's label (`PUT /customer-aliases/{id}`); None removes it."""
    body = wire.UpdateCustomerAliasRequest(label=label)
    return Op("PUT", f"/customer-aliases/{segment(alias_id)}", wire.CustomerAliasResponse, body=body)


def delete_alias(alias_id: str) -> Op[wire.CustomerAliasResponse]:
    """Delete an alias (`DELETE /customer-aliases/{id}`); the answer is the alias deleted."""
    return Op("DELETE", f"/customer-aliases/{segment(alias_id)}", wire.CustomerAliasResponse)


def list_customer_aliases(customer_id: str) -> Op[wire.CustomerAliasList]:
    """Every live alias of a customer (`GET /customers/{id}/aliases`; not paged)."""
    return Op("GET", f"/customers/{segment(customer_id)}/aliases", wire.CustomerAliasList)


def get_customer_by_alias(alias: str) -> Op[wire.Customer20240509]:
    """The customer with this live alias (`GET /customers/by-alias/{alias}`), in the older
    2024-05-09 shape that Sequence answers with there."""
    return Op("GET", f"/customers/by-alias/{segment(alias)}", wire.Customer20240509)


# --- contacts ----------------------------------------------------------------------


def list_contacts(customer_id: str, *, include_archived: bool | None = None) -> Op[wire.ContactList]:
    """A customer's contacts (`GET /customers/{customer}/contacts`; not paged)."""
    params = query(includeArchived=include_archived)
    return Op("GET", _contacts(customer_id), wire.ContactList, params)


def create_contact(customer_id: str, request: wire.ContactRequest) -> Op[wire.Contact]:
    """Add a contact to a customer (`POST /customers/{customer}/contacts`)."""
    return Op("POST", _contacts(customer_id), wire.Contact, body=request)


def update_contact(customer_id: str, contact_id: str, request: wire.ContactRequest) -> Op[wire.Contact]:
    """Replace a contact's fields (`PUT /customers/{customer}/contacts/{id}`)."""
    return Op("PUT", _contacts(customer_id, contact_id), wire.Contact, body=request)


def archive_contact(customer_id: str, contact_id: str) -> Op[wire.Contact]:
    """Archive a contact (`POST /customers/{customer}/contacts/{id}/archive`)."""
    return Op("POST", _contacts(customer_id, contact_id) + "/archive", wire.Contact)


def _contacts(customer_id: str, contact_id: str | None = None) -> str:
    path = f"/customers/{segment(customer_id)}/contacts"
    return path if contact_id is None else f"{path}/{segment(contact_id)}"


# --- notification policies ---------------------------------------------------------

_POLICIES = "/notifications/policies"


def list_notification_policies(
    *,
    notification_type: NotificationType | None = None,
    limit: int | None = None,
    after: str | None = None,
    before: str | None = None,
) -> Op[notifications.NotificationPolicies]:
    """A page of notification policies (`GET /notifications/policies`);
    `notification_type`: only those taking it (listing it, or listing no types)."""
    params = query(notificationType=notification_type, limit=limit, after=after, before=before)
    return Op("GET", _POLICIES, notifications.NotificationPolicies, params)


def create_notification_policy(
    request: notifications.CreateNotificationPolicyRequest,
) -> Op[notifications.NotificationPolicy]:
    """Create a notification policy (`POST /notifications/policies`); the answer holds the
    webhook secret."""
    return Op("POST", _POLICIES, notifications.NotificationPolicy, body=request)


def get_notification_policy(policy_id: str) -> Op[notifications.NotificationPolicy]:
    """A notification policy by id (`GET /notifications/policies/{id}`)."""
    return Op("GET", _policy(policy_id), notifications.NotificationPolicy)


def delete_notification_policy(policy_id: str) -> Op[notifications.NotificationPolicy]:
    """Delete a notification policy (`DELETE /notifications/policies/{id}`)."""
    return Op("DELETE", _policy(policy_id), notifications.NotificationPolicy)


def add_policy_recipients(policy_id: str, recipients: Sequence[str]) -> Op[notifications.NotificationPolicy]:
    """Add recipients (webhook URLs or email addresses) to a policy
    (`POST /notifications/policies/{id}/recipients`)."""
    body = notifications.AddRecipientsToPolicyRequest(recipients=list(recipients))
    return Op("POST", _policy(policy_id, "recipients"), notifications.NotificationPolicy, body=body)


def remove_policy_recipient(policy_id: str, recipient: str) -> Op[notifications.NotificationPolicy]:
    """Remove a recipient from a policy (`DELETE /notifications/policies/{id}/recipients/{recipient}`)."""
    return Op("DELETE", _policy(policy_id, "recipients", recipient), notifications.NotificationPolicy)


def add_policy_notification_types(
    policy_id: str, notification_types: Sequence[NotificationType]
) -> Op[notifications.NotificationPolicy]:
    """Add notification types to a policy (`POST /notifications/policies/{id}/notification-types`)."""
    body = notifications.AddNotificationTypesToPolicyRequest(notification_types=list(notification_types))
    return Op("POST", _policy(policy_id, "notification-types"), notifications.NotificationPolicy, body=body)


def remove_policy_notification_type(
    policy_id: str, notification_type: NotificationType
) -> Op[notifications.NotificationPolicy]:
    """Remove a notification type from a policy
    (`DELETE /notifications/policies/{id}/notification-types/{type}`)."""
    path = _policy(policy_id, "notification-types", notification_type)
    return Op("DELETE", path, notifications.NotificationPolicy)


def _policy(policy_id: str, part: str | None = None, value: str | None = None) -> str:
    path = f"{_POLICIES}/{segment(policy_id)}"
    if part is not None:
        path += f"/{part}"
    return path if value is None else f"{path}/{segment(value)}"
