"""The Sequence Customers API wire contract (version 2024-07-30) as msgspec Structs.

Attribute names are snake_case; the wire names are camelCase exactly as Sequence spells
them. Optional response fields are left out of the JSON when they have no value.
"""

from __future__ import annotations

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


class Wire(msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=False):
    """Base of every wire model: camelCase on the wire, absent optionals left out."""


# --- shared pieces -------------------------------------------------------------------


class Address(Wire):
    line1: str
    town: str
    postcode: str
    country: CountryCode
    line2: str | None = None
    state: State | None = None


class IntegrationId(Wire):
    service: IntegrationService
    id: str
    is_pending: bool
    last_synced: str | None = None


class IntegrationIdRequest(Wire):
    service: IntegrationService
    id: str


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
    name: str
    email: str
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
    legal_name: str
    address: Address
    tax_status: TaxStatus
    contacts: list[ContactRequest]
    url: str | None = None
    label: str | None = None
    customer_aliases: list[str] | None = None
    integration_ids: list[IntegrationIdRequest] | None = None
    parent_id: str | None = None
    push_to_integrations: list[PushIntegration] | None = None
    status: CustomerStatus | None = None
    custom_properties: dict[str, str] | None = None


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
    customer_id: str
    value: str
    label: str | None = None


class UpdateCustomerAliasRequest(Wire):
    label: str | None = None


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
    owner_id: str
    member_ids: list[str]


class CustomerOrganizationMembers(Wire):
    customer_ids: list[str]


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
