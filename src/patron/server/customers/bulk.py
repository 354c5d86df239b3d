"""Bulk import: many customers per transaction, with the same rules as the API.

A row whose aliases already name a customer of the account is that customer: it is
skipped, so importing the same file twice creates nothing the second time. A row with an
alias used by an earlier row of the same import is rejected. Rows without aliases are
always created (give rows an alias to make re-runs safe).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from patron.server import clock, validation
from patron.server.accounts.service import Principal
from patron.server.customers import repository, service
from patron.server.db import tables
from patron.server.errors import PatronError
from patron.wire import models as wire
from patron.wire.enums import CustomerStatus


@dataclass
class BatchResult:
    created: int = 0
    existing: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    line: int
    request: wire.CreateOrUpdateCustomerRequest
    prepared: service.Prepared


def import_batch(
    tx: Connection, who: Principal, rows: Sequence[tuple[int, wire.CreateOrUpdateCustomerRequest]]
) -> BatchResult:
    """Validate and store one batch; never raises for a bad row (it is reported instead)."""
    result = BatchResult()
    ready: list[_Row] = []
    for line, request in rows:
        try:
            ready.append(_Row(line, request, service.prepare(request)))
        except PatronError as exc:
            result.rejected.append((line, exc.message))
    values = [value for row in ready for value in row.prepared.aliases]
    owners = repository.live_alias_owners(tx, who.account_id, values)
    ids_as_aliases = _customer_ids_among(tx, who, values)
    claimed: dict[str, int] = {}
    fresh: list[_Row] = []
    for row in ready:
        if any(value in owners for value in row.prepared.aliases):
            result.existing += 1
            continue
        clash = next((v for v in row.prepared.aliases if v in claimed or v in ids_as_aliases), None)
        if clash is not None:
            where = f"line {claimed[clash]}" if clash in claimed else "another customer's id"
            result.rejected.append((row.line, f"customerAliases: {clash!r} is already used by {where}"))
            continue
        claimed.update(dict.fromkeys(row.prepared.aliases, row.line))
        fresh.append(row)
    simple = [row for row in fresh if row.prepared.parent_id is None]
    try:
        with tx.begin_nested():
            _insert_all(tx, who, simple)
        result.created += len(simple)
    except IntegrityError:
        # Someone else took an alias meanwhile: fall back to one row at a time.
        _one_by_one(tx, who, simple, result)
    _one_by_one(tx, who, [row for row in fresh if row.prepared.parent_id is not None], result)
    result.rejected.sort()
    return result


def _customer_ids_among(tx: Connection, who: Principal, values: Sequence[str]) -> set[str]:
    candidates = []
    for value in values:
        try:
            candidates.append(uuid.UUID(value))
        except ValueError:
            continue
    return {str(i) for i in repository.existing(tx, who.account_id, candidates)}


def _one_by_one(tx: Connection, who: Principal, rows: Sequence[_Row], result: BatchResult) -> None:
    for row in rows:
        try:
            with tx.begin_nested():
                service.insert(tx, who, row.request, row.prepared)
            result.created += 1
        except PatronError as exc:
            result.rejected.append((row.line, exc.message))


def _insert_all(tx: Connection, who: Principal, rows: Sequence[_Row]) -> None:
    customers: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    aliases: list[dict[str, Any]] = []
    properties: list[dict[str, Any]] = []
    account_id = who.account_id
    for row in rows:
        customer_id = clock.new_id()
        now = clock.utc_now()
        customers.append(
            {
                **row.prepared.values,
                "account_id": account_id,
                "id": customer_id,
                "status": (row.request.status or CustomerStatus.ACTIVE).value,
                "integration_ids": service.integration_links(row.request) or [],
                "parent_id": None,
                "created_at": now,
                "updated_at": now,
                "archived_at": None,
            }
        )
        for position, (name, email, preference) in enumerate(row.prepared.contacts):
            people.append(
                {
                    "account_id": account_id,
                    "id": clock.new_id(),
                    "customer_id": customer_id,
                    "name": name,
                    "email": email,
                    "email_key": validation.fold(email),
                    "billing_preference": preference,
                    "position": position,
                    "created_at": now,
                    "updated_at": now,
                    "archived_at": None,
                }
            )
        for value in row.prepared.aliases:
            aliases.append(
                {
                    "account_id": account_id,
                    "id": clock.new_id(),
                    "customer_id": customer_id,
                    "value": value,
                    "label": None,
                    "created_at": now,
                    "deleted_at": None,
                }
            )
        for key, value in (row.prepared.properties or {}).items():
            properties.append({"account_id": account_id, "customer_id": customer_id, "key": key, "value": value})
    repository.insert_many(tx, tables.customer, customers)
    repository.insert_many(tx, tables.contact, people)
    repository.insert_many(tx, tables.customer_alias, aliases)
    repository.insert_many(tx, tables.custom_property, properties)
    repository.bump_counts(tx, who.account_id, live=len(customers), total=len(customers))
