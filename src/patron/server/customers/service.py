"""Customer operations: create, update, archive, read and list, each in the transaction
the edge gives. The rules a request must meet are in `rules`, the shapes in `render`, the
listing plan in `listing`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec
from sqlalchemy import Connection

from patron.server import changes, clock, validation
from patron.server.aliases import service as aliases
from patron.server.auth import Principal
from patron.server.contacts import service as contacts
from patron.server.customers import listing, render, rules
from patron.server.customers.repository import properties, records
from patron.server.customers.repository.records import CustomerRow
from patron.server.db import rows
from patron.server.db.snapshot import Snapshot
from patron.server.directory import service as directory
from patron.server.errors import NotFound
from patron.server.organizations import service as organizations
from patron.server.webhooks.service import outbox
from patron.wire import models as wire
from patron.wire.enums import NotificationType

Prepared = rules.Prepared
"""A request checked against every rule that needs no database (what `insert` stores)."""


def prepare(request: wire.CreateOrUpdateCustomerRequest) -> Prepared:
    """`rules.prepare`, for writers outside this package (the sandbox's seeds)."""
    return rules.prepare(request)


def create(tx: Connection, who: Principal, request: wire.CreateOrUpdateCustomerRequest) -> wire.Customer:
    customer_id = insert(tx, who, request, rules.prepare(request), count=False)
    created = get(tx, who, str(customer_id))
    changes.created(created)
    # Last: the account's counter row stays locked from here to commit, and every create of
    # the account waits for that lock (on PostgreSQL; SQLite has one writer anyway).
    records.bump_counts(tx, who.account_id, live=1, total=1)
    return created


def insert(
    tx: Connection,
    who: Principal,
    request: wire.CreateOrUpdateCustomerRequest,
    prepared: rules.Prepared,
    *,
    count: bool = True,
    customer_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Store a new customer from a prepared request; returns its id (`customer_id` when
    given: a sandbox seed's chosen one, else a new one). With `count=False` the caller adds
    it to the account's counters (as late as it can: see `create`)."""
    customer_id = customer_id or clock.new_id()
    now = clock.utc_now()
    row = rows.customer(
        account_id=who.account_id,
        customer_id=customer_id,
        fields=prepared.values,
        status=rules.status_on_create(prepared),
        integration_ids=rules.integration_links(request, now) or [],
        parent_id=prepared.parent_id,
        now=now,
    )
    records.insert_customer(tx, row)
    _store_related(tx, who, customer_id, prepared, previous_parent_id=None)
    if count:
        records.bump_counts(tx, who.account_id, live=1, total=1)
    return customer_id


def _store_related(
    tx: Connection,
    who: Principal,
    customer_id: uuid.UUID,
    prepared: rules.Prepared,
    *,
    previous_parent_id: uuid.UUID | None,
) -> None:
    """Contacts, aliases, custom properties and the parent's organization of a customer."""
    contacts.replace_all(tx, who, customer_id, prepared.contacts)
    aliases.attach(tx, who, customer_id, prepared.aliases, field="customerAliases")
    if prepared.properties is not None:
        properties.replace(tx, who.account_id, customer_id, prepared.properties)
    organizations.move_to_parent(
        tx, who, customer_id, parent_id=prepared.parent_id, previous_parent_id=previous_parent_id
    )


def update(
    tx: Connection, who: Principal, customer_id: str, request: wire.CreateOrUpdateCustomerRequest
) -> wire.Customer:
    """Full replace of the customer's fields and contacts; see docs/behaviour.md for the
    fields that keep their value when left out (status, integrationIds, customProperties).
    The customer's row is locked first: racing updates of one customer run one after the
    other, each reading what the one before it stored."""
    if not directory.lock(tx, who, validation.parse_id(customer_id, "customer")):
        raise NotFound("customer", customer_id)
    row = _row(tx, who, customer_id)
    prepared = rules.prepare(request)
    now = clock.utc_now()
    links = rules.integration_links(request, now, row.integration_ids)
    stored = {
        **prepared.values,
        "status": prepared.status or row.status,
        "integration_ids": links if links is not None else row.integration_ids,
        "parent_id": prepared.parent_id,
        "updated_at": now,
    }
    records.update_customer(tx, who.account_id, row.id, stored)
    _store_related(tx, who, row.id, prepared, previous_parent_id=row.parent_id)
    changes.touched([row.id])
    if stored["legal_name"] != row.legal_name:
        changes.renamed(row.id)
    return get(tx, who, str(row.id))


def archive(tx: Connection, who: Principal, customer_id: str) -> wire.Customer:
    """Set `archivedAt`; archiving an archived customer changes nothing. The conditional
    UPDATE decides which of racing archives counts, so the live counter drops once."""
    ident = validation.parse_id(customer_id, "customer")
    archived = records.archive_customer(tx, who.account_id, ident, clock.utc_now())
    if archived:
        records.bump_counts(tx, who.account_id, live=-archived, total=0)
        changes.archived(ident)
    return get(tx, who, customer_id)


def announce(tx: Connection, who: Principal, noted: changes.Noted, lease: outbox.Lease | None = None) -> outbox.Queued:
    """Record a webhook event for every customer whose representation the write changed
    (docs/webhooks.md): the customers it noted, the people of the organizations whose members
    changed, and those sharing an organization with a renamed customer. Their deliveries
    (under the dispatcher's `lease` when given), to send once the write commits."""
    if not noted:
        return outbox.NOTHING
    ids = noted.created | noted.archived | noted.touched
    ids |= organizations.people(tx, who.account_id, sorted(noted.organizations))
    ids |= organizations.peers(tx, who.account_id, sorted(noted.renamed))
    held = outbox.hold(tx, who.account_id, ids)
    # Rendered under the lock `hold` took; a new customer as its write rendered it.
    rendered = dict(noted.rendered)
    rows = records.get_many(tx, who.account_id, sorted(ids - set(rendered)))
    rendered.update((row.id, customer) for row, customer in zip(rows, full(tx, who.account_id, rows), strict=True))
    found = [outbox.Change(i, _event_type(i, noted), _ENCODER.encode(c)) for i, c in sorted(rendered.items())]
    return outbox.record(tx, who.account_id, found, held, lease)


_ENCODER = msgspec.json.Encoder()


def _event_type(customer_id: uuid.UUID, noted: changes.Noted) -> NotificationType:
    if customer_id in noted.created:
        return NotificationType.CUSTOMER_CREATED
    if customer_id in noted.archived:
        return NotificationType.CUSTOMER_ARCHIVED
    return NotificationType.CUSTOMER_UPDATED


def get(tx: Connection, who: Principal, customer_id: str) -> wire.Customer:
    return full(tx, who.account_id, [_row(tx, who, customer_id)])[0]


def full(tx: Connection, account_id: uuid.UUID, found: Sequence[CustomerRow]) -> list[wire.Customer]:
    """Customers in full, their contacts, organizations and properties read in batches."""
    return render.customers(found, _related(tx, account_id, [row.id for row in found], with_contacts=True))


def _related(
    tx: Connection, account_id: uuid.UUID, ids: Sequence[uuid.UUID], *, with_contacts: bool = False
) -> render.Related:
    return render.Related(
        organizations=organizations.of_customers(tx, account_id, ids),
        properties=properties.of_customers(tx, account_id, ids),
        contacts=contacts.live_of(tx, account_id, ids) if with_contacts else {},
    )


def _row(tx: Connection, who: Principal, customer_id: str) -> CustomerRow:
    row = records.get(tx, who.account_id, validation.parse_id(customer_id, "customer"))
    if row is None:
        raise NotFound("customer", customer_id)
    return row


def by_alias(reads: Snapshot, who: Principal, alias: str) -> wire.Customer20240509:
    """The customer holding a live alias (or with that id), in the 2024-05-09 shape.
    Archived customers are found too."""
    found = records.by_alias_with_contacts(reads, who.account_id, alias)
    if not found:
        try:
            customer_id = uuid.UUID(alias)
        except ValueError:
            raise NotFound("customer alias", alias) from None
        found = records.by_id_with_contacts(reads, who.account_id, customer_id)
    if not found:
        raise NotFound("customer alias", alias)
    return render.by_alias(found)


def list_page(tx: Connection, who: Principal, key: bytes, query: listing.Query) -> wire.ListCustomerResponse:
    found = listing.find(tx, who, key, query)
    items = render.list_items(found.rows, _related(tx, who.account_id, [row.id for row in found.rows]))
    pagination = wire.Pagination(total_result_size=found.total, after=found.after, before=found.before)
    return wire.ListCustomerResponse(items=items, pagination=pagination)


def list_page_direct(
    reads: Snapshot, who: Principal, key: bytes, query: listing.Query
) -> wire.ListCustomerResponse | None:
    """`list_page` of a `query.direct` query on a consistent snapshot, with statements
    compiled once (docs/data-access.md); None when the account has organizations, whose
    page `list_page` reads."""
    facts = records.listing_facts(reads, who.account_id)
    if facts.organized:
        return None
    found = listing.find_direct(reads, who, key, query, facts)
    ids = [row.id for row in found.rows]
    held = properties.of_customers(reads, who.account_id, ids) if facts.with_properties else {i: {} for i in ids}
    pagination = wire.Pagination(total_result_size=found.total, after=found.after, before=found.before)
    items = render.list_items(found.rows, render.Related({i: [] for i in ids}, held))
    return wire.ListCustomerResponse(items=items, pagination=pagination)


def property_keys(tx: Connection, who: Principal) -> wire.CustomPropertyKeys:
    return wire.CustomPropertyKeys(items=properties.keys(tx, who.account_id))
