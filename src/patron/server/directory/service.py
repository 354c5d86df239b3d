"""Customers named by other resources: an id in a URL path that names no customer is a
404, an id in a request body that names none is a 400 naming the field."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Connection

from patron.server import validation
from patron.server.auth import Principal
from patron.server.directory import repository
from patron.server.errors import InvalidInput, NotFound


def exists(tx: Connection, who: Principal, customer_id: uuid.UUID) -> bool:
    return repository.exists(tx, who.account_id, customer_id)


def existing(tx: Connection, who: Principal, customer_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """The ids among `customer_ids` that name customers of the account."""
    return repository.existing(tx, who.account_id, customer_ids)


def names(tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The legal name of each customer."""
    return repository.names(tx, account_id, customer_ids)


def in_path(tx: Connection, who: Principal, customer_id: str) -> uuid.UUID:
    """The customer a URL path names; NotFound when there is none."""
    ident = validation.parse_id(customer_id, "customer")
    if not repository.exists(tx, who.account_id, ident):
        raise NotFound("customer", customer_id)
    return ident


def lock_in_path(tx: Connection, who: Principal, customer_id: str) -> uuid.UUID:
    """`in_path`, with the customer's row locked to the end of the transaction: for writes
    whose decision reads the customer's other parts (the PRIMARY contact rule, the caps).
    Two such writes on one customer run one after the other."""
    ident = validation.parse_id(customer_id, "customer")
    if not repository.lock(tx, who.account_id, ident):
        raise NotFound("customer", customer_id)
    return ident


def lock(tx: Connection, who: Principal, customer_id: uuid.UUID) -> bool:
    """Lock a customer's row to the end of the transaction (see `lock_in_path`); False when
    the account holds no such customer."""
    return repository.lock(tx, who.account_id, customer_id)


def in_body(tx: Connection, who: Principal, value: str, field: str) -> uuid.UUID:
    """The customer a request body names in `field`; InvalidInput when there is none."""
    ident = validation.reference(value, field)
    if not repository.exists(tx, who.account_id, ident):
        raise InvalidInput(field, f"no customer with id {value}")
    return ident


def all_in_body(tx: Connection, who: Principal, values: Sequence[str], field: str) -> list[uuid.UUID]:
    """The customers a body lists in `field`, in order, repeats dropped; InvalidInput
    naming every id that names no customer."""
    ids = list(dict.fromkeys(validation.reference(value, f"{field}[{i}]") for i, value in enumerate(values)))
    missing = set(ids) - repository.existing(tx, who.account_id, ids)
    if missing:
        raise InvalidInput(field, f"no customer with id {', '.join(sorted(str(i) for i in missing))}")
    return ids
