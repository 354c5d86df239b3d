"""Alias rules: a live value names one customer per account; deleting frees the value."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection

from patron.server import caps, clock, validation
from patron.server.aliases import repository
from patron.server.aliases.repository import AliasRow
from patron.server.auth import Principal
from patron.server.db import rows
from patron.server.db.keyset import CursorCodec, read_cursor
from patron.server.directory import service as directory
from patron.server.errors import Conflict, InvalidInput, NotFound
from patron.wire import models as wire

MAX_VALUE = 255


def alias_value(value: str, field: str) -> str:
    return validation.text(value, field, max_length=MAX_VALUE)


def attach(
    tx: Connection,
    who: Principal,
    customer_id: uuid.UUID,
    values: Iterable[str],
    *,
    field: str,
) -> None:
    """Give a customer these aliases; values it already holds are left as they are. The
    caller holds the customer's row lock (a new customer, or `directory.lock`), so the
    values it holds and the cap (`caps.ALIASES_PER_CUSTOMER`, a 400 naming `field`) are
    read as they stand; a value another customer holds is a 409 (the unique index decides)."""
    held = repository.live_values_of(tx, who.account_id, customer_id)
    added = 0
    for value in dict.fromkeys(values):
        if value not in held:
            _insert(tx, who, customer_id, value, label=None)
            added += 1
    if added:
        _refuse_too_many(tx, who, customer_id, field)


def _insert(tx: Connection, who: Principal, customer_id: uuid.UUID, value: str, *, label: str | None) -> uuid.UUID:
    _refuse_other_customers_id(tx, who, customer_id, value)
    alias_id = clock.new_id()
    row = rows.alias(
        account_id=who.account_id,
        alias_id=alias_id,
        customer_id=customer_id,
        value=value,
        label=label,
        now=clock.utc_now(),
    )
    repository.insert_alias(tx, row)
    return alias_id


def _refuse_too_many(tx: Connection, who: Principal, customer_id: uuid.UUID, field: str) -> None:
    if repository.count_live_of(tx, who.account_id, customer_id) > caps.ALIASES_PER_CUSTOMER:
        raise InvalidInput(field, f"a customer holds at most {caps.ALIASES_PER_CUSTOMER} live aliases")


def _refuse_other_customers_id(tx: Connection, who: Principal, customer_id: uuid.UUID, value: str) -> None:
    # A customer's own id already works as its alias, so it cannot name anyone else.
    try:
        as_id = uuid.UUID(value)
    except ValueError:
        return
    if as_id != customer_id and directory.exists(tx, who, as_id):
        raise Conflict(f"the alias {value!r} is the id of another customer")


def create(tx: Connection, who: Principal, request: wire.CreateCustomerAliasRequest) -> wire.CustomerAliasResponse:
    """A new alias. The customer's row lock orders racing creates on one customer (the cap);
    the unique index on live values decides who wins a value (the others get 409), even
    when the winner is the same customer."""
    customer_id = validation.reference(request.customer_id, "customerId")
    value = alias_value(request.value, "value")
    label = validation.optional_text(request.label, "label")
    if not directory.lock(tx, who, customer_id):
        raise InvalidInput("customerId", f"no customer with id {request.customer_id!r}")
    alias_id = _insert(tx, who, customer_id, value, label=label)
    _refuse_too_many(tx, who, customer_id, "customerId")
    return _response(_get(tx, who, alias_id))


def update(
    tx: Connection, who: Principal, alias_id: str, request: wire.UpdateCustomerAliasRequest
) -> wire.CustomerAliasResponse:
    row = _get(tx, who, validation.parse_id(alias_id, "alias"))
    repository.set_label(tx, who.account_id, row.id, validation.optional_text(request.label, "label"))
    return _response(_get(tx, who, row.id))


def delete(tx: Connection, who: Principal, alias_id: str) -> wire.CustomerAliasResponse:
    """Delete a live alias; of racing deletes the conditional UPDATE lets one through, the
    others find no live alias (404), as they would one after the other."""
    row = _get(tx, who, validation.parse_id(alias_id, "alias"))
    now = clock.utc_now()
    if not repository.mark_deleted(tx, who.account_id, row.id, now):
        raise NotFound("alias", alias_id)
    return _response(row, deleted_at=now)


def of_customer(tx: Connection, who: Principal, customer_id: str) -> wire.CustomerAliasList:
    ident = directory.in_path(tx, who, customer_id)
    items = [
        wire.CustomerAlias(
            id=str(row.id),
            sequence_account_id=str(row.account_id),
            customer_id=str(row.customer_id),
            value=row.value,
            created_at=clock.iso(row.created_at),
        )
        for row in repository.aliases_of(tx, who.account_id, ident)
    ]
    return wire.CustomerAliasList(items=items)


def list_page(
    tx: Connection,
    who: Principal,
    key: bytes,
    *,
    value: str | None,
    limit: int,
    after: str | None,
    before: str | None,
) -> wire.ListCustomerAliasResponse:
    codec = CursorCodec(key, ["aliases", who.account_id, value])
    cursor = read_cursor(codec, after=after, before=before, columns=repository.LIST_SORT)
    page = repository.page(tx, who.account_id, value=value, limit=limit, cursor=cursor, codec=codec)
    total = repository.count(tx, who.account_id, value=value)
    return wire.ListCustomerAliasResponse(
        items=[_response(row) for row in page.rows],
        pagination=wire.Pagination(total_result_size=total, after=page.after, before=page.before),
    )


def values_of(tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Every live alias value of each customer, oldest first."""
    return repository.live_values_for(tx, account_id, customer_ids)


def owners_of(tx: Connection, who: Principal, values: Sequence[str]) -> dict[str, uuid.UUID]:
    """Which customer holds each of these live alias values."""
    return repository.owners_of(tx, who.account_id, values)


def _get(tx: Connection, who: Principal, alias_id: uuid.UUID) -> AliasRow:
    row = repository.get_alias(tx, who.account_id, alias_id)
    if row is None:
        raise NotFound("alias", str(alias_id))
    return row


def _response(row: AliasRow, *, deleted_at: datetime | None = None) -> wire.CustomerAliasResponse:
    return wire.CustomerAliasResponse(
        id=str(row.id),
        sequence_account_id=str(row.account_id),
        customer_id=str(row.customer_id),
        value=row.value,
        created_at=clock.iso(row.created_at),
        deleted_at=clock.maybe_iso(deleted_at or row.deleted_at),
        label=row.label,
    )
