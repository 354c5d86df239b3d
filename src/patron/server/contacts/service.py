"""Contact rules. If any live contact of a customer receives billing communications
(PRIMARY or STANDARD), at least one live contact must be PRIMARY. Several PRIMARY
contacts may coexist: setting a second one changes no other contact."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from patron.server import caps, changes, clock, validation
from patron.server.auth import Principal
from patron.server.contacts import repository
from patron.server.contacts.repository import ContactRow
from patron.server.db import rows
from patron.server.directory import service as directory
from patron.server.errors import InvalidInput, NotFound
from patron.wire import models as wire
from patron.wire.enums import BillingPreference

_BILLED = {BillingPreference.PRIMARY.value, BillingPreference.STANDARD.value}


def check_rule(preferences: Sequence[str], field: str) -> None:
    """Refuse a set of live contacts where someone is billed but nobody is PRIMARY."""
    if any(p in _BILLED for p in preferences) and BillingPreference.PRIMARY.value not in preferences:
        raise InvalidInput(
            field,
            "at least one contact must be PRIMARY while any contact receives billing "
            "communications (PRIMARY or STANDARD)",
        )


# (name, email, billing preference), checked.
CleanContact = tuple[str, str, str]


def _clean(request: wire.ContactRequest, field: str) -> CleanContact:
    name = validation.text(request.name, f"{field}.name")
    email = validation.email(request.email, f"{field}.email")
    return name, email, request.billing_preference.value


def clean_all(requests: Sequence[wire.ContactRequest]) -> list[CleanContact]:
    """The `contacts` of a customer request: each valid, and at least one PRIMARY."""
    cleaned = [_clean(r, f"contacts[{i}]") for i, r in enumerate(requests)]
    if BillingPreference.PRIMARY.value not in {pref for _, _, pref in cleaned}:
        raise InvalidInput("contacts", "at least one contact must be PRIMARY")
    return cleaned


def replace_all(tx: Connection, who: Principal, customer_id: uuid.UUID, cleaned: Sequence[CleanContact]) -> None:
    """Make the customer's live contacts exactly `cleaned` (see `clean_all`), in that order.

    A requested contact whose email matches a live contact keeps that contact's id (and is
    updated); the others are created; live contacts left over are archived, not deleted.
    The caller holds the customer's row lock (a new customer, or `directory.lock`).
    """
    now = clock.utc_now()
    existing = repository.of_customers(tx, who.account_id, [customer_id], include_archived=False)
    by_email: dict[str, list[ContactRow]] = {}
    for row in existing:
        by_email.setdefault(validation.fold(row.email), []).append(row)
    position = repository.next_position(tx, who.account_id, customer_id)
    kept: set[uuid.UUID] = set()
    added = False
    for name, email, preference in cleaned:
        matches = by_email.get(validation.fold(email))
        if matches:
            row = matches.pop(0)
            kept.add(row.id)
            changed = (row.name, row.email, row.billing_preference) != (name, email, preference)
            repository.update_contact(
                tx,
                who.account_id,
                row.id,
                **rows.person_of_contact((name, email, preference)),
                position=position,
                **({"updated_at": now} if changed else {}),
            )
        else:
            _insert(tx, who, customer_id, (name, email, preference), position=position, now=now)
            added = True
        position += 1
    repository.archive(tx, who.account_id, [row.id for row in existing if row.id not in kept], now)
    if added:
        _refuse_too_many(tx, who, customer_id, "contacts")


def _refuse_too_many(tx: Connection, who: Principal, customer_id: uuid.UUID, field: str, *, adding: int = 0) -> None:
    """Past `caps.LIVE_CONTACTS_PER_CUSTOMER` live contacts or `caps.CONTACTS_PER_CUSTOMER`
    in all (`includeArchived` lists them all), a 400 naming `field`. The caller holds the
    customer's row lock."""
    live, total = repository.count_of(tx, who.account_id, customer_id)
    if live + adding > caps.LIVE_CONTACTS_PER_CUSTOMER:
        raise InvalidInput(field, f"a customer holds at most {caps.LIVE_CONTACTS_PER_CUSTOMER} live contacts")
    if total + adding > caps.CONTACTS_PER_CUSTOMER:
        raise InvalidInput(
            field, f"a customer holds at most {caps.CONTACTS_PER_CUSTOMER} contacts, archived ones included"
        )


def live_of(
    tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[wire.Contact]]:
    result: dict[uuid.UUID, list[wire.Contact]] = {ident: [] for ident in customer_ids}
    for row in repository.of_customers(tx, account_id, customer_ids, include_archived=False):
        result[row.customer_id].append(to_wire(row))
    return result


def to_wire(row: ContactRow) -> wire.Contact:
    return wire.Contact(
        id=str(row.id),
        name=row.name,
        email=row.email,
        billing_preference=BillingPreference(row.billing_preference),
        created_at=clock.iso(row.created_at),
        updated_at=clock.iso(row.updated_at),
        archived_at=clock.maybe_iso(row.archived_at),
    )


def _insert(
    tx: Connection, who: Principal, customer_id: uuid.UUID, person: CleanContact, *, position: int, now: datetime
) -> uuid.UUID:
    contact_id = clock.new_id()
    row = rows.contact(
        account_id=who.account_id,
        contact_id=contact_id,
        customer_id=customer_id,
        person=person,
        position=position,
        now=now,
    )
    repository.insert_contact(tx, row)
    return contact_id


def _contact(tx: Connection, who: Principal, customer_id: uuid.UUID, contact_id: str) -> ContactRow:
    row = repository.get(tx, who.account_id, customer_id, validation.parse_id(contact_id, "contact"))
    if row is None:
        raise NotFound("contact", contact_id)
    return row


def _live_preferences(
    tx: Connection, who: Principal, customer_id: uuid.UUID, *, without: uuid.UUID | None = None
) -> list[str]:
    rows = repository.of_customers(tx, who.account_id, [customer_id], include_archived=False)
    return [row.billing_preference for row in rows if row.id != without]


def list_for(tx: Connection, who: Principal, customer_id: str, *, include_archived: bool) -> wire.ContactList:
    ident = directory.in_path(tx, who, customer_id)
    rows = repository.of_customers(tx, who.account_id, [ident], include_archived=include_archived)
    return wire.ContactList(items=[to_wire(row) for row in rows])


# Creates, updates and archives lock the customer's row first (`directory.lock_in_path`):
# each decides the PRIMARY rule (and the cap) on the customer's contacts as they stand, so
# two racing archives of the last two PRIMARY contacts cannot both pass. Each notes the
# customer, whose `contacts` it may change (`changes`: a webhook when it did).


def create(tx: Connection, who: Principal, customer_id: str, request: wire.ContactRequest) -> wire.Contact:
    ident = directory.lock_in_path(tx, who, customer_id)
    changes.touched([ident])
    name, email, preference = _clean(request, "contact")
    _refuse_too_many(tx, who, ident, "contacts", adding=1)
    check_rule([*_live_preferences(tx, who, ident), preference], "billingPreference")
    position = repository.next_position(tx, who.account_id, ident)
    contact_id = _insert(tx, who, ident, (name, email, preference), position=position, now=clock.utc_now())
    return to_wire(_contact(tx, who, ident, str(contact_id)))


def update(
    tx: Connection, who: Principal, customer_id: str, contact_id: str, request: wire.ContactRequest
) -> wire.Contact:
    ident = directory.lock_in_path(tx, who, customer_id)
    changes.touched([ident])
    row = _contact(tx, who, ident, contact_id)
    name, email, preference = _clean(request, "contact")
    if row.archived_at is None:
        check_rule([*_live_preferences(tx, who, ident, without=row.id), preference], "billingPreference")
    repository.update_contact(
        tx, who.account_id, row.id, **rows.person_of_contact((name, email, preference)), updated_at=clock.utc_now()
    )
    return to_wire(_contact(tx, who, ident, str(row.id)))


def archive(tx: Connection, who: Principal, customer_id: str, contact_id: str) -> wire.Contact:
    ident = directory.lock_in_path(tx, who, customer_id)
    changes.touched([ident])
    row = _contact(tx, who, ident, contact_id)
    if row.archived_at is None:
        check_rule(_live_preferences(tx, who, ident, without=row.id), "billingPreference")
        repository.archive(tx, who.account_id, [row.id], clock.utc_now())
    return to_wire(_contact(tx, who, ident, str(row.id)))
