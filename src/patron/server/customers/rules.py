"""What a valid customer request is: every rule that needs no database, checked once for
the API and the bulk import alike."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from patron.server import clock, validation
from patron.server.aliases import service as aliases
from patron.server.contacts import service as contacts
from patron.server.db import rows
from patron.server.errors import InvalidInput
from patron.wire import models as wire
from patron.wire.enums import CustomerStatus, State

_CA_PROVINCES = {"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"}
_US_STATES = {s.value for s in State} - _CA_PROVINCES


@dataclass(frozen=True)
class Prepared:
    """A create/update request checked against every rule that needs no database.
    `values`: the customer's own columns (name, URL, label, tax status, address)."""

    values: rows.CustomerFields
    aliases: list[str]
    parent_id: uuid.UUID | None
    contacts: list[contacts.CleanContact]
    properties: dict[str, str] | None
    status: str | None
    """The requested status; None when left out (create: ACTIVE, update: unchanged)."""


def prepare(request: wire.CreateOrUpdateCustomerRequest) -> Prepared:
    return Prepared(
        values=_values(request),
        aliases=_aliases(request.customer_aliases),
        parent_id=validation.reference(request.parent_id, "parentId") if request.parent_id else None,
        contacts=contacts.clean_all(request.contacts),
        properties=_custom_properties(request.custom_properties) if request.custom_properties is not None else None,
        status=request.status.value if request.status else None,
    )


def status_on_create(prepared: Prepared) -> str:
    return prepared.status or CustomerStatus.ACTIVE.value


def integration_links(
    request: wire.CreateOrUpdateCustomerRequest, now: datetime, previous: Sequence[rows.StoredLink] | None = None
) -> list[rows.StoredLink] | None:
    """Stored integration links; `pushToIntegrations` adds a pending link with no id yet.
    None when the request names no links (an update then keeps the stored ones).

    `lastSynced` is when patron recorded the link, `now` (the write's own time; kept while
    service and id are unchanged).
    """
    if request.integration_ids is None and not request.push_to_integrations:
        return None
    recorded = {(link["service"], link["id"]): link.get("lastSynced") for link in previous or []}
    synced_now = clock.iso(now)
    links: list[rows.StoredLink] = []
    for index, link in enumerate(request.integration_ids or []):
        if any(existing["service"] == link.service.value for existing in links):
            raise InvalidInput(f"integrationIds[{index}].service", f"{link.service.value} is listed twice")
        ident = validation.text(link.id, f"integrationIds[{index}].id")
        synced = recorded.get((link.service.value, ident)) or synced_now
        links.append({"service": link.service.value, "id": ident, "isPending": False, "lastSynced": synced})
    for service in request.push_to_integrations or []:
        if not any(existing["service"] == service.value for existing in links):
            links.append({"service": service.value, "id": "", "isPending": True})
    return links


def _values(request: wire.CreateOrUpdateCustomerRequest) -> rows.CustomerFields:
    legal_name = validation.text(request.legal_name, "legalName")
    line1, line2, town, state, postcode, country = _address(request.address)
    return rows.CustomerFields(
        legal_name=legal_name,
        legal_name_key=validation.fold(legal_name),
        url=validation.optional_text(request.url, "url"),
        label=validation.optional_text(request.label, "label"),
        tax_status=request.tax_status.value,
        address_line1=line1,
        address_line2=line2,
        address_town=town,
        address_state=state,
        address_postcode=postcode,
        address_country=country,
    )


def _address(address: wire.Address) -> tuple[str, str | None, str, str | None, str, str]:
    """(line1, line2, town, state, postcode, country), checked."""
    country = address.country.value
    state = address.state.value if address.state is not None else None
    if country in {"US", "CA"} and state is None:
        raise InvalidInput("address.state", f"is required when address.country is {country}")
    if country == "US" and state in _CA_PROVINCES:
        raise InvalidInput("address.state", f"{state} is not a US state")
    if country == "CA" and state in _US_STATES:
        raise InvalidInput("address.state", f"{state} is not a Canadian province or territory")
    return (
        validation.text(address.line1, "address.line1"),
        validation.optional_text(address.line2, "address.line2"),
        validation.text(address.town, "address.town"),
        state,
        validation.text(address.postcode, "address.postcode", max_length=wire.MAX_POSTCODE),
        country,
    )


def _custom_properties(properties: dict[str, str]) -> dict[str, str]:
    cleaned = {}
    for key, value in properties.items():
        name = validation.text(key, "customProperties", max_length=wire.MAX_VALUE)
        cleaned[name] = validation.text(value, f"customProperties.{name}", allow_empty=True)
    return cleaned


def _aliases(values: Sequence[str] | None) -> list[str]:
    result: list[str] = []
    for index, value in enumerate(values or []):
        cleaned = aliases.alias_value(value, f"customerAliases[{index}]")
        if cleaned in result:
            raise InvalidInput(f"customerAliases[{index}]", f"{cleaned!r} is listed twice")
        result.append(cleaned)
    return result
