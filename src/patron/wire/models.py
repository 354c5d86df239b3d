"""The Sequence Customers API wire contract (version 2024-07-30) as msgspec Structs.

Attribute names are snake_case; the wire names are camelCase exactly as Sequence spells
them. Optional response fields are left out of the JSON when they have no value.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from patron.wire.enums import (
    BillingPreference,
    CountryCode,
    CustomerStatus,
    IntegrationService,
    PushIntegration,
    State,
    TaxStatus,
)

# --- bounds on request bodies (docs/limits.md) --------------------------------------
# Every list and string a request can send has a maximum, checked while the body is
# decoded (a 400 naming the field) and published in the OpenAPI document. The string
# maxima are the database's column lengths, so nothing is ever truncated or refused there.

MAX_TEXT = 1000
"""Names, emails, address lines, URLs, labels, integration ids, custom property values."""
MAX_VALUE = 255
"""Alias values and custom property keys (the indexed columns)."""
MAX_POSTCODE = 64
MAX_ID = 64
"""An id named in a body (a UUID is 36 characters; the rest is room for its other spellings)."""
MAX_ALIASES = 100
MAX_CONTACTS = 100
MAX_PROPERTIES = 100
MAX_INTEGRATIONS = 20
"""More than the services an integration id can name (each at most once)."""
MAX_MEMBERS = 1000


def _bounded(limit: int, **inside: object) -> msgspec.Meta:
    """At most `limit` items (or keys). `inside`: the maxima of the items (or keys and values),
    stated again for patron's OpenAPI document, whose generator does not look inside."""
    return msgspec.Meta(max_length=limit, extra_json_schema={"extra": inside} if inside else None)


Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
Value = Annotated[str, msgspec.Meta(max_length=MAX_VALUE)]
Ident = Annotated[str, msgspec.Meta(max_length=MAX_ID)]
_STRING_VALUE = {"type": "string", "maxLength": MAX_VALUE}
_STRING_ID = {"type": "string", "maxLength": MAX_ID}


class Wire(msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=False):
    """Base of every wire model: camelCase on the wire, absent optionals left out."""


# --- shared pieces -------------------------------------------------------------------


class Address(Wire):
    line1: Text
    town: Text
    postcode: Annotated[str, msgspec.Meta(max_length=MAX_POSTCODE)]
    country: CountryCode
    line2: Text | None = None
    state: State | None = None


class IntegrationId(Wire):
    service: IntegrationService
    id: str
    is_pending: bool
    last_synced: str | None = None


class IntegrationIdRequest(Wire):
    service: IntegrationService
    id: Text


class CustomerIdWithName(Wire):
    id: str
    name: str


class CustomerOrganization(Wire):
    id: str
    owner: CustomerIdWithName
    members: list[CustomerIdWithName]


class Pagination(Wire):
    total_result_size: int
    after: str | None = None
    before: str | None = None


# --- contacts ------------------------------------------------------------------------


class ContactRequest(Wire):
    name: Text
    email: Text
    billing_preference: BillingPreference


class Contact(Wire):
    id: str
    name: str
    email: str
    billing_preference: BillingPreference
    created_at: str
    updated_at: str
    archived_at: str | None = None


class ContactList(Wire):
    items: list[Contact]


# --- customers -----------------------------------------------------------------------


class CreateOrUpdateCustomerRequest(Wire):
    legal_name: Text
    address: Address
    tax_status: TaxStatus
    contacts: Annotated[list[ContactRequest], _bounded(MAX_CONTACTS)]
    url: Text | None = None
    label: Text | None = None
    customer_aliases: Annotated[list[Value], _bounded(MAX_ALIASES, items=_STRING_VALUE)] | None = None
    integration_ids: Annotated[list[IntegrationIdRequest], _bounded(MAX_INTEGRATIONS)] | None = None
    parent_id: Ident | None = None
    push_to_integrations: Annotated[list[PushIntegration], _bounded(MAX_INTEGRATIONS)] | None = None
    status: CustomerStatus | None = None
    custom_properties: (
        Annotated[
            dict[Value, Text],
            _bounded(
                MAX_PROPERTIES,
                max_properties=MAX_PROPERTIES,
                property_names={"maxLength": MAX_VALUE},
                additional_properties={"type": "string", "maxLength": MAX_TEXT},
            ),
        ]
        | None
    ) = None


class Customer(Wire):
    id: str
    created_at: str
    organizations: list[CustomerOrganization]
    legal_name: str
    address: Address
    integration_ids: list[IntegrationId]
    tax_status: TaxStatus
    contacts: list[Contact]
    status: CustomerStatus
    custom_properties: dict[str, str]
    url: str | None = None
    domain: str | None = None
    label: str | None = None
    archived_at: str | None = None


class ListCustomerItem(Wire):
    id: str
    created_at: str
    organizations: list[CustomerOrganization]
    legal_name: str
    address: Address
    integration_ids: list[IntegrationId]
    tax_status: TaxStatus
    custom_properties: dict[str, str]
    url: str | None = None
    domain: str | None = None
    label: str | None = None
    archived_at: str | None = None


class ListCustomerResponse(Wire):
    items: list[ListCustomerItem]
    pagination: Pagination


class Customer20240509(Wire):
    """The older customer shape that `GET /customers/by-alias/{alias}` still returns."""

    id: str
    created_at: str
    legal_name: str
    address: Address
    email: str
    integration_ids: list[IntegrationId]
    billing_emails: list[str]
    tax_status: TaxStatus
    contact_name: str | None = None
    telephone: str | None = None
    url: str | None = None
    label: str | None = None
    archived_at: str | None = None


class CustomPropertyKeys(Wire):
    items: list[str]


# --- aliases -------------------------------------------------------------------------


class CreateCustomerAliasRequest(Wire):
    customer_id: Ident
    value: Value
    label: Text | None = None


class UpdateCustomerAliasRequest(Wire):
    label: Text | None = None


class CustomerAliasResponse(Wire):
    id: str
    sequence_account_id: str
    customer_id: str
    value: str
    created_at: str
    deleted_at: str | None = None
    label: str | None = None
    archived_at: str | None = None


class CustomerAlias(Wire):
    id: str
    sequence_account_id: str
    customer_id: str
    value: str
    created_at: str


class ListCustomerAliasResponse(Wire):
    items: list[CustomerAliasResponse]
    pagination: Pagination


class CustomerAliasList(Wire):
    items: list[CustomerAlias]


# --- organizations -------------------------------------------------------------------


class CustomerOrganizationRequest(Wire):
    owner_id: Ident
    member_ids: Annotated[list[Ident], _bounded(MAX_MEMBERS, items=_STRING_ID)]


class CustomerOrganizationMembers(Wire):
    customer_ids: Annotated[list[Ident], _bounded(MAX_MEMBERS, items=_STRING_ID)]


# --- errors --------------------------------------------------------------------------


class FieldError(Wire):
    field: str
    message: str


class ErrorDetail(Wire):
    type: str
    message: str
    errors: list[FieldError] | None = None


class ErrorBody(Wire):
    """The one error body patron returns: `{"error": {"type": ..., "message": ...}}`."""

    error: ErrorDetail
