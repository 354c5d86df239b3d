"""How a customer is shown in each of the API's three shapes: in full (`Customer`), as a
list item (`ListCustomerItem`) and by alias (the 2024-05-09 `Customer`). Pure: rows and
the related objects in, wire structs out."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from patron.server import clock
from patron.server.customers.repository.records import CustomerContactRow, CustomerRow
from patron.wire import models as wire
from patron.wire.enums import BillingPreference, CountryCode, CustomerStatus, IntegrationService, State, TaxStatus

# Stored value -> enum member, looked up rather than constructed (a page renders hundreds).
_STATES = {member.value: member for member in State}
_COUNTRIES = {member.value: member for member in CountryCode}
_TAX_STATUSES = {member.value: member for member in TaxStatus}
_BILLED = (BillingPreference.PRIMARY, BillingPreference.STANDARD)


@dataclass(frozen=True)
class Related:
    """What customers show beside their own row, by customer id."""

    organizations: dict[uuid.UUID, list[wire.CustomerOrganization]]
    properties: dict[uuid.UUID, dict[str, str]]
    contacts: dict[uuid.UUID, list[wire.Contact]] = field(default_factory=dict)


def customers(rows: Sequence[CustomerRow], related: Related) -> list[wire.Customer]:
    return [
        wire.Customer(**_shared(row, related), contacts=related.contacts[row.id], status=CustomerStatus(row.status))
        for row in rows
    ]


def list_items(rows: Sequence[CustomerRow], related: Related) -> list[wire.ListCustomerItem]:
    return [wire.ListCustomerItem(**_shared(row, related)) for row in rows]


def _shared(row: CustomerRow, related: Related) -> dict[str, Any]:
    """The fields a customer shows in every 2024-07-30 shape (full and list item)."""
    return {
        "id": str(row.id),
        "created_at": clock.iso(row.created_at),
        "organizations": related.organizations[row.id],
        "legal_name": row.legal_name,
        "address": _address(row),
        "integration_ids": _links(row),
        "tax_status": _TAX_STATUSES[row.tax_status],
        "custom_properties": related.properties[row.id],
        "url": row.url,
        "domain": domain_of(row.url),
        "label": row.label,
        "archived_at": clock.maybe_iso(row.archived_at),
    }


def by_alias(rows: Sequence[CustomerContactRow]) -> wire.Customer20240509:
    """The 2024-05-09 shape from a customer's rows, one per live contact: `email` and
    `contactName` from the first PRIMARY contact, `billingEmails` from every PRIMARY and
    STANDARD contact."""
    row = rows[0].customer
    people = [r for r in rows if r.contact_id is not None]
    primary = next((p for p in people if p.contact_billing_preference == BillingPreference.PRIMARY), None)
    billed = [p.contact_email or "" for p in people if p.contact_billing_preference in _BILLED]
    return wire.Customer20240509(
        id=str(row.id),
        created_at=clock.iso(row.created_at),
        legal_name=row.legal_name,
        address=_address(row),
        email=primary.contact_email or "" if primary else "",
        integration_ids=_links(row),
        billing_emails=billed,
        tax_status=TaxStatus(row.tax_status),
        contact_name=primary.contact_name if primary else None,
        url=row.url,
        label=row.label,
        archived_at=clock.maybe_iso(row.archived_at),
    )


def domain_of(url: str | None) -> str | None:
    """The host of a URL without `www.`: `https://www.example.com/x` -> `example.com`."""
    if not url:
        return None
    try:
        host = urlsplit(url if "//" in url else f"//{url}").hostname
    except ValueError:
        return None
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


def _address(row: CustomerRow) -> wire.Address:
    return wire.Address(
        line1=row.address_line1,
        line2=row.address_line2,
        town=row.address_town,
        state=_STATES[row.address_state] if row.address_state else None,
        postcode=row.address_postcode,
        country=_COUNTRIES[row.address_country],
    )


def _links(row: CustomerRow) -> list[wire.IntegrationId]:
    return [
        wire.IntegrationId(
            service=IntegrationService(link["service"]),
            id=link["id"],
            is_pending=bool(link.get("isPending", False)),
            last_synced=link.get("lastSynced"),
        )
        for link in row.integration_ids
    ]
