"""One row builder per table that both the API and the bulk import write: every column
named once, here, so a new column is the table, its migration and this.

Values pass through as given: the API gives Python values (UUIDs, aware datetimes, lists),
the bulk import the stored forms its loaders take (`bulk`: hex ids, `moment`s, JSON text).
"""

from __future__ import annotations

from typing import Any, Required, TypedDict

from patron.server import validation

Values = dict[str, Any]


class CustomerFields(TypedDict):
    """A customer's own columns that a create or update sets from the request."""

    legal_name: str
    legal_name_key: str
    url: str | None
    label: str | None
    tax_status: str
    address_line1: str
    address_line2: str | None
    address_town: str
    address_state: str | None
    address_postcode: str
    address_country: str


class StoredLink(TypedDict, total=False):
    """One entry of a customer's `integration_ids` JSON column, as the wire names it."""

    service: Required[str]
    id: Required[str]
    isPending: Required[bool]
    lastSynced: str


def customer(
    *,
    account_id: Any,
    customer_id: Any,
    fields: CustomerFields,
    status: str,
    integration_ids: Any,
    parent_id: Any,
    now: Any,
) -> Values:
    """A new customer; `fields` holds its name, URL, label, tax status and address columns."""
    return {
        **fields,
        "account_id": account_id,
        "id": customer_id,
        "status": status,
        "integration_ids": integration_ids,
        "parent_id": parent_id,
        "created_at": now,
        "updated_at": now,
        "archived_at": None,
    }


def contact(
    *,
    account_id: Any,
    contact_id: Any,
    customer_id: Any,
    person: tuple[str, str, str],
    position: int,
    now: Any,
) -> Values:
    """A new live contact; `person` is (name, email, billing preference)."""
    return {
        "account_id": account_id,
        "id": contact_id,
        "customer_id": customer_id,
        **person_of_contact(person),
        "position": position,
        "created_at": now,
        "updated_at": now,
        "archived_at": None,
    }


def person_of_contact(person: tuple[str, str, str]) -> Values:
    """The columns of a contact that say who it is: (name, email, billing preference),
    and the email as matched (casefolded)."""
    name, email, preference = person
    return {"name": name, "email": email, "email_key": validation.fold(email), "billing_preference": preference}


def alias(*, account_id: Any, alias_id: Any, customer_id: Any, value: str, label: str | None, now: Any) -> Values:
    """A new live alias."""
    return {
        "account_id": account_id,
        "id": alias_id,
        "customer_id": customer_id,
        "value": value,
        "label": label,
        "created_at": now,
        "deleted_at": None,
    }


def custom_property(*, account_id: Any, customer_id: Any, key: str, value: str) -> Values:
    return {"account_id": account_id, "customer_id": customer_id, "key": key, "value": value}
