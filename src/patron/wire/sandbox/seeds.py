"""The seed's wire shapes (`POST /_patron/accounts/{id}/seed`, docs/sandbox.md): a fixture
of customers in the API's own request shape, plus what a fixture may fix."""

from __future__ import annotations

from typing import Annotated

import msgspec

from patron.wire.models import CreateOrUpdateCustomerRequest, Ident, Value, Wire
from patron.wire.sandbox.clock import Moment

MAX_SEED_CUSTOMERS = 10_000
"""Customers one fixture may hold (the 1 MiB body limit of an HTTP seed comes first)."""


class SeedCustomer(CreateOrUpdateCustomerRequest, forbid_unknown_fields=True):
    """A `CreateOrUpdateCustomerRequest` with an optional `id` (a UUID), `createdAt` and
    `archivedAt` (ISO 8601), and `parent`: an alias (or the id) of the parent, in the
    fixture or already in the account. Unknown fields are refused: a misspelt `createdAt`
    would otherwise be dropped without a word."""

    id: Ident | None = None
    created_at: Moment | None = None
    archived_at: Moment | None = None
    parent: Value | None = None


class SeedFixture(Wire):
    """A seed document. Other top-level keys are ignored: a YAML fixture keeps its anchors
    there (`x-address: &hq {...}`)."""

    customers: Annotated[list[SeedCustomer], msgspec.Meta(max_length=MAX_SEED_CUSTOMERS)]


class SeedResult(Wire):
    """What a seed stored: how many customers, and their ids in the fixture's order."""

    customers: int
    ids: list[str]
