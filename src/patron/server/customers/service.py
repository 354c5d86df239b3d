"""Customer rules: what a valid customer is, what create/update/archive change, and how
a customer is shown in each of the API's three shapes."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, false

from patron.server import clock, validation
from patron.server.aliases import service as aliases
from patron.server.auth import Principal
from patron.server.contacts import service as contacts
from patron.server.customers import repository
from patron.server.db.direct import Reads
from patron.server.db.keyset import CursorCodec, SortColumn, fetch_page, fetch_segmented_page, read_cursor
from patron.server.errors import InvalidInput, NotFound
from patron.server.organizations import service as organizations
from patron.wire import models as wire
from patron.wire.enums import (
    BillingPreference,
    BillingStatus,
    CountryCode,
    CustomerStatus,
    IntegrationService,
    SortOrder,
    State,
    TaxStatus,
)

_US_STATES = {s.value for s in State}
_CA_PROVINCES = {"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"}
_US_STATES -= _CA_PROVINCES
PROPERTY_SORT_PREFIX = "customProperties."
MAX_PROPERTY_KEY = 255


# --- validation ------------------------------------------------------------------------


def _address(address: wire.Address) -> dict[str, Any]:
    country = address.country.value
    state = address.state.value if address.state is not None else None
    if country in {"US", "CA"} and state is None:
        raise InvalidInput("address.state", f"is required when address.country is {country}")
    if country == "US" and state in _CA_PROVINCES:
        raise InvalidInput("address.state", f"{state} is not a US state")
    if country == "CA" and state in _US_STATES:
        raise InvalidInput("address.state", f"{state} is not a Canadian province or territory")
    return {
        "address_line1": validation.text(address.line1, "address.line1"),
        "address_line2": validation.optional_text(address.line2, "address.line2"),
        "address_town": validation.text(address.town, "address.town"),
        "address_state": state,
        "address_postcode": validation.text(address.postcode, "address.postcode", max_length=64),
        "address_country": country,
    }


def integration_links(
    request: wire.CreateOrUpdateCustomerRequest, previous: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]] | None:
    """Stored integration links; `pushToIntegrations` adds a pending link with no id yet.

    `lastSynced` is when patron recorded the link (kept while service and id are unchanged).
    """
    if request.integration_ids is None and not request.push_to_integrations:
        return None
    recorded = {(link["service"], link["id"]): link.get("lastSynced") for link in previous or []}
    now = clock.iso(clock.utc_now())
    links: list[dict[str, Any]] = []
    for index, link in enumerate(request.integration_ids or []):
        if any(existing["service"] == link.service.value for existing in links):
            raise InvalidInput(f"integrationIds[{index}].service", f"{link.service.value} is listed twice")
        ident = validation.text(link.id, f"integrationIds[{index}].id")
        links.append(
            {
                "service": link.service.value,
                "id": ident,
                "isPending": False,
                "lastSynced": recorded.get((link.service.value, ident)) or now,
            }
        )
    for service in request.push_to_integrations or []:
        if not any(existing["service"] == service.value for existing in links):
            links.append({"service": service.value, "id": "", "isPending": True})
    return links


def _custom_properties(properties: dict[str, str]) -> dict[str, str]:
    cleaned = {}
    for key, value in properties.items():
        name = validation.text(key, "customProperties", max_length=MAX_PROPERTY_KEY)
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


def _values(request: wire.CreateOrUpdateCustomerRequest) -> dict[str, Any]:
    legal_name = validation.text(request.legal_name, "legalName")
    return {
        "legal_name": legal_name,
        "legal_name_key": validation.fold(legal_name),
        "url": validation.optional_text(request.url, "url"),
        "label": validation.optional_text(request.label, "label"),
        "tax_status": request.tax_status.value,
        **_address(request.address),
    }


@dataclass(frozen=True)
class Prepared:
    """A create/update request checked against every rule that needs no database."""

    values: dict[str, Any]
    aliases: list[str]
    parent_id: uuid.UUID | None
    contacts: list[contacts.CleanContact]
    properties: dict[str, str] | None


def prepare(request: wire.CreateOrUpdateCustomerRequest) -> Prepared:
    return Prepared(
        values=_values(request),
        aliases=_aliases(request.customer_aliases),
        parent_id=validation.reference(request.parent_id, "parentId") if request.parent_id else None,
        contacts=contacts.clean_all(request.contacts),
        properties=_custom_properties(request.custom_properties) if request.custom_properties is not None else None,
    )


# --- writes ------------------------------------------------------------------------------


def create(tx: Connection, who: Principal, request: wire.CreateOrUpdateCustomerRequest) -> wire.Customer:
    customer_id = insert(tx, who, request, prepare(request), count=False)
    created = get(tx, who, str(customer_id))
    # Last: the account's counter row stays locked from here to commit, and every create of
    # the account waits for that lock (on PostgreSQL; SQLite has one writer anyway).
    repository.bump_counts(tx, who.account_id, live=1, total=1)
    return created


def insert(
    tx: Connection,
    who: Principal,
    request: wire.CreateOrUpdateCustomerRequest,
    prepared: Prepared,
    *,
    count: bool = True,
) -> uuid.UUID:
    """Store a new customer from a prepared request; returns its id. With `count=False` the
    caller adds it to the account's counters (as late as it can: see `create`)."""
    customer_id = clock.new_id()
    now = clock.utc_now()
    repository.insert_customer(
        tx,
        {
            **prepared.values,
            "account_id": who.account_id,
            "id": customer_id,
            "status": (request.status or CustomerStatus.ACTIVE).value,
            "integration_ids": integration_links(request) or [],
            "parent_id": prepared.parent_id,
            "created_at": now,
            "updated_at": now,
        },
    )
    contacts.replace_all(tx, who, customer_id, prepared.contacts)
    aliases.attach(tx, who, customer_id, prepared.aliases)
    if prepared.properties:
        repository.replace_properties(tx, who.account_id, customer_id, prepared.properties)
    organizations.move_to_parent(tx, who, customer_id, parent_id=prepared.parent_id, previous_parent_id=None)
    if count:
        repository.bump_counts(tx, who.account_id, live=1, total=1)
    return customer_id


def update(
    tx: Connection, who: Principal, customer_id: str, request: wire.CreateOrUpdateCustomerRequest
) -> wire.Customer:
    """Full replace of the customer's fields and contacts; see docs/behaviour.md for the
    fields that keep their value when left out (status, integrationIds, customProperties)."""
    row = _row(tx, who, customer_id)
    prepared = prepare(request)
    links = integration_links(request, row.integration_ids)
    repository.update_customer(
        tx,
        who.account_id,
        row.id,
        {
            **prepared.values,
            "status": (request.status.value if request.status else row.status),
            "integration_ids": links if links is not None else row.integration_ids,
            "parent_id": prepared.parent_id,
            "updated_at": clock.utc_now(),
        },
    )
    contacts.replace_all(tx, who, row.id, prepared.contacts)
    aliases.attach(tx, who, row.id, prepared.aliases)
    if prepared.properties is not None:
        repository.replace_properties(tx, who.account_id, row.id, prepared.properties)
    organizations.move_to_parent(tx, who, row.id, parent_id=prepared.parent_id, previous_parent_id=row.parent_id)
    return get(tx, who, str(row.id))


def archive(tx: Connection, who: Principal, customer_id: str) -> wire.Customer:
    """Set `archivedAt`; archiving an archived customer changes nothing."""
    row = _row(tx, who, customer_id)
    if row.archived_at is None:
        now = clock.utc_now()
        repository.update_customer(tx, who.account_id, row.id, {"archived_at": now, "updated_at": now})
        repository.bump_counts(tx, who.account_id, live=-1, total=0)
    return get(tx, who, str(row.id))


# --- reads -------------------------------------------------------------------------------


def _row(tx: Connection, who: Principal, customer_id: str) -> Any:
    row = repository.get(tx, who.account_id, validation.parse_id(customer_id, "customer"))
    if row is None:
        raise NotFound("customer", customer_id)
    return row


_BILLED = (BillingPreference.PRIMARY, BillingPreference.STANDARD)
# Stored value -> enum member, looked up rather than constructed (a page renders hundreds).
_STATES = {member.value: member for member in State}
_COUNTRIES = {member.value: member for member in CountryCode}
_TAX_STATUSES = {member.value: member for member in TaxStatus}


def _address_wire(row: Any) -> wire.Address:
    return wire.Address(
        line1=row.address_line1,
        line2=row.address_line2,
        town=row.address_town,
        state=_STATES[row.address_state] if row.address_state else None,
        postcode=row.address_postcode,
        country=_COUNTRIES[row.address_country],
    )


def _links_wire(row: Any) -> list[wire.IntegrationId]:
    return [
        wire.IntegrationId(
            service=IntegrationService(link["service"]),
            id=link["id"],
            is_pending=bool(link.get("isPending", False)),
            last_synced=link.get("lastSynced"),
        )
        for link in row.integration_ids
    ]


def get(tx: Connection, who: Principal, customer_id: str) -> wire.Customer:
    return render(tx, who.account_id, [_row(tx, who, customer_id)])[0]


def render(tx: Connection, account_id: uuid.UUID, rows: Sequence[Any]) -> list[wire.Customer]:
    """Full customers for rows of the customers table, loading their links in batches."""
    people = contacts.live_of(tx, account_id, [row.id for row in rows])
    return [
        wire.Customer(**fields, contacts=people[row.id], status=CustomerStatus(row.status))
        for row, fields in zip(rows, _shared_fields(tx, account_id, rows), strict=True)
    ]


def _shared_fields(tx: Connection, account_id: uuid.UUID, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The fields a customer shows in every 2024-07-30 shape (full and list item)."""
    ids = [row.id for row in rows]
    orgs = organizations.of_customers(tx, account_id, ids)
    properties = repository.properties_of(tx, account_id, ids)
    return [
        {
            "id": str(row.id),
            "created_at": clock.iso(row.created_at),
            "organizations": orgs[row.id],
            "legal_name": row.legal_name,
            "address": _address_wire(row),
            "integration_ids": _links_wire(row),
            "tax_status": _TAX_STATUSES[row.tax_status],
            "custom_properties": properties[row.id],
            "url": row.url,
            "domain": domain_of(row.url),
            "label": row.label,
            "archived_at": clock.maybe_iso(row.archived_at),
        }
        for row in rows
    ]


def by_alias(reads: Reads, who: Principal, alias: str) -> wire.Customer20240509:
    """The customer holding a live alias (or with that id), in the 2024-05-09 shape.

    `email` and `contactName` come from the first PRIMARY contact; `billingEmails` from
    every PRIMARY and STANDARD contact. Archived customers are found too.
    """
    rows = repository.by_alias_with_contacts(reads, who.account_id, alias)
    if not rows:
        try:
            customer_id = uuid.UUID(alias)
        except ValueError:
            raise NotFound("customer alias", alias) from None
        rows = repository.by_id_with_contacts(reads, who.account_id, customer_id)
    if not rows:
        raise NotFound("customer alias", alias)
    row = rows[0]
    people = [r for r in rows if r.contact_id is not None]
    primary = next((p for p in people if p.contact_billing_preference == BillingPreference.PRIMARY), None)
    billed = [p.contact_email for p in people if p.contact_billing_preference in _BILLED]
    return wire.Customer20240509(
        id=str(row.id),
        created_at=clock.iso(row.created_at),
        legal_name=row.legal_name,
        address=_address_wire(row),
        email=primary.contact_email if primary else "",
        integration_ids=_links_wire(row),
        billing_emails=billed,
        tax_status=TaxStatus(row.tax_status),
        contact_name=primary.contact_name if primary else None,
        url=row.url,
        label=row.label,
        archived_at=clock.maybe_iso(row.archived_at),
    )


def _sort(sort_by: str | None, sort_order: SortOrder | None) -> tuple[tuple[SortColumn, ...], str | None]:
    descending = (sort_order or SortOrder.DESC) == SortOrder.DESC
    c = repository.c
    if sort_by in (None, "createdAt"):
        return (
            SortColumn(c.created_at, "datetime", descending),
            SortColumn(c.id, "uuid", descending),
        ), None
    if sort_by == "legalName":
        return (
            SortColumn(c.legal_name_key, "str", descending),
            SortColumn(c.id, "uuid", descending),
        ), None
    if sort_by.startswith(PROPERTY_SORT_PREFIX) and len(sort_by) > len(PROPERTY_SORT_PREFIX):
        key = sort_by[len(PROPERTY_SORT_PREFIX) :]
        return (
            SortColumn(repository.PROPERTY_MISSING, "int", descending=False),
            SortColumn(repository.PROPERTY_VALUE, "str", descending, nullable=True),
            SortColumn(c.id, "uuid", descending),
        ), key
    raise InvalidInput(
        "sortBy", f"{sort_by!r} is not a sort column; use createdAt, legalName or customProperties.<key>"
    )


def list_page(
    tx: Connection,
    who: Principal,
    key: bytes,
    *,
    legal_name: str | None = None,
    email: str | None = None,
    alias: str | None = None,
    label: str | None = None,
    include_archived: bool = False,
    billing_status: BillingStatus | None = None,
    sort_by: str | None = None,
    sort_order: SortOrder | None = None,
    limit: int = 20,
    after: str | None = None,
    before: str | None = None,
) -> wire.ListCustomerResponse:
    columns, property_key = _sort(sort_by, sort_order)
    alias_as_id = None
    if alias is not None:
        with contextlib.suppress(ValueError):
            alias_as_id = uuid.UUID(alias)
    filters: dict[str, Any] = {
        "dialect": tx.dialect.name,
        "legal_name": validation.fold(legal_name) if legal_name is not None else None,
        "email": validation.fold(email.strip()) if email is not None else None,
        "alias": alias,
        "alias_as_id": alias_as_id,
        "label": label,
        "include_archived": include_archived,
    }
    query = repository.list_query(who.account_id, **filters)
    # patron keeps no billing schedules, so no customer has an ACTIVE billing status.
    if billing_status == BillingStatus.ACTIVE:
        query = query.where(false())
    context = [
        "customers",
        who.account_id,
        legal_name,
        email,
        alias,
        label,
        include_archived,
        billing_status.value if billing_status else None,
        sort_by or "createdAt",
        (sort_order or SortOrder.DESC).value,
    ]
    codec = CursorCodec(key, context)
    cursor = read_cursor(codec, after=after, before=before, columns=columns)
    unfiltered = all(f is None for f in (legal_name, email, alias, label)) and billing_status != BillingStatus.ACTIVE
    live, everyone = repository.counts(tx, who.account_id)
    total = (everyone if include_archived else live) if unfiltered else repository.count(tx, query)
    # Counted first, to choose how to read the page. Filters that match a good share of the
    # account ("dense"): walk the sort's index and test each row, a page is found within a
    # few rows. Filters that match few: read the matches from the filters' own indexes (the
    # trigram index for a legal name) and sort those.
    dense = unfiltered or total * DENSE_MATCHES >= (everyone if include_archived else live)
    if dense and legal_name is not None:
        query = repository.list_query(who.account_id, **filters, name_index=False)
        if billing_status == BillingStatus.ACTIVE:
            query = query.where(false())
    if property_key is not None:
        descending = (sort_order or SortOrder.DESC) == SortOrder.DESC
        page = fetch_segmented_page(
            tx,
            repository.by_property(query, who.account_id, property_key, descending=descending, dense=dense),
            columns,
            lambda row: (row.property_missing, row.property_value, row.id),
            limit=limit,
            cursor=cursor,
            codec=codec,
        )
    else:
        by_name = sort_by == "legalName"
        page = fetch_page(
            tx,
            query,
            columns,
            lambda row: (row.legal_name_key if by_name else row.created_at, row.id),
            limit=limit,
            cursor=cursor,
            codec=codec,
        )
    items = [wire.ListCustomerItem(**fields) for fields in _shared_fields(tx, who.account_id, page.rows)]
    return wire.ListCustomerResponse(
        items=items,
        pagination=wire.Pagination(total_result_size=total, after=page.after, before=page.before),
    )


# Filters matching at least one customer in this many are "dense" (see list_page): a page
# read in sort order then costs about limit x this many row tests.
DENSE_MATCHES = 50


def property_keys(tx: Connection, who: Principal) -> wire.CustomPropertyKeys:
    return wire.CustomPropertyKeys(items=repository.property_keys(tx, who.account_id))
