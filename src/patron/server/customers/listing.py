"""Listing customers: the parsed query of `GET /customers` (filters, sort, page), and the
plan that reads its page: count first, then read through the sort's index or the filters'.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection

from patron.server import validation
from patron.server.auth import Principal
from patron.server.customers.repository import pages, records
from patron.server.customers.repository.records import CustomerRow
from patron.server.db.keyset import Cursor, CursorCodec, read_cursor
from patron.server.db.snapshot import Snapshot
from patron.server.errors import InvalidInput
from patron.wire.enums import BillingStatus, SortOrder

PROPERTY_SORT_PREFIX = "customProperties."
# Filters matching at least one customer in this many are "dense": a page read in sort
# order then costs about limit x this many row tests.
DENSE_MATCHES = 50


@dataclass(frozen=True)
class Query:
    """One `GET /customers` query as the caller sent it, built once at the edge."""

    legal_name: str | None = None
    email: str | None = None
    alias: str | None = None
    label: str | None = None
    include_archived: bool = False
    billing_status: BillingStatus | None = None
    sort_by: str | None = None
    sort_order: SortOrder | None = None
    limit: int = 20
    after: str | None = None
    before: str | None = None

    @property
    def direct(self) -> bool:
        """No filter and a column sort: the page can be read with statements compiled once
        (`find_direct`)."""
        return not self.filters().any and self.sort().key != "property"

    @property
    def may_scan(self) -> bool:
        """A legal-name or label filter may count many rows (or, under 3 characters, read
        every name): such a listing is no short indexed read."""
        return self.legal_name is not None or self.label is not None

    def filters(self) -> pages.Filters:
        alias_as_id = None
        if self.alias is not None:
            with contextlib.suppress(ValueError):
                alias_as_id = uuid.UUID(self.alias)
        return pages.Filters(
            legal_name=validation.fold(self.legal_name) if self.legal_name is not None else None,
            email=validation.fold(self.email.strip()) if self.email is not None else None,
            alias=self.alias,
            alias_as_id=alias_as_id,
            label=self.label,
            include_archived=self.include_archived,
            nothing=self.billing_status == BillingStatus.ACTIVE,
        )

    def sort(self) -> pages.Sort:
        descending = (self.sort_order or SortOrder.DESC) == SortOrder.DESC
        if self.sort_by in (None, "createdAt"):
            return pages.Sort("createdAt", descending)
        if self.sort_by == "legalName":
            return pages.Sort("legalName", descending)
        if self.sort_by.startswith(PROPERTY_SORT_PREFIX) and len(self.sort_by) > len(PROPERTY_SORT_PREFIX):
            return pages.Sort("property", descending, self.sort_by[len(PROPERTY_SORT_PREFIX) :])
        raise InvalidInput(
            "sortBy", f"{self.sort_by!r} is not a sort column; use createdAt, legalName or customProperties.<key>"
        )

    def context(self, who: Principal) -> list[object]:
        """What a cursor of this query is signed with: another account's or another
        query's cursor is refused."""
        return [
            "customers",
            who.account_id,
            self.legal_name,
            self.email,
            self.alias,
            self.label,
            self.include_archived,
            self.billing_status.value if self.billing_status else None,
            self.sort_by or "createdAt",
            (self.sort_order or SortOrder.DESC).value,
        ]


@dataclass(frozen=True)
class Found:
    rows: list[CustomerRow]
    total: int
    after: str | None
    before: str | None


def find(tx: Connection, who: Principal, key: bytes, query: Query) -> Found:
    """The page `query` asks for, and how many customers match in all."""
    sort, filters = query.sort(), query.filters()
    codec, cursor = _cursor(who, key, query, sort)
    live, everyone = records.counts(tx, who.account_id)
    population = everyone if query.include_archived else live
    total = pages.count(tx, who.account_id, filters) if filters.any else population
    # Counted first, to choose how to read the page. Filters that match a good share of the
    # account ("dense"): walk the sort's index and test each row, a page is found within a
    # few rows. Filters that match few: read the matches from the filters' own indexes (the
    # trigram index for a legal name) and sort those.
    dense = not filters.any or total * DENSE_MATCHES >= population
    page = pages.page(tx, who.account_id, filters, sort, dense=dense, limit=query.limit, cursor=cursor, codec=codec)
    return Found(page.rows, total, page.after, page.before)


def find_direct(reads: Snapshot, who: Principal, key: bytes, query: Query, facts: records.ListingFacts) -> Found:
    """`find` for a `query.direct` query, on a consistent snapshot: the same page."""
    sort = query.sort()
    codec, cursor = _cursor(who, key, query, sort)
    page = pages.direct_page(
        reads,
        who.account_id,
        sort,
        include_archived=query.include_archived,
        limit=query.limit,
        cursor=cursor,
        codec=codec,
    )
    total = facts.total if query.include_archived else facts.live
    return Found(page.rows, total, page.after, page.before)


def _cursor(who: Principal, key: bytes, query: Query, sort: pages.Sort) -> tuple[CursorCodec, Cursor | None]:
    """The query's cursor codec, and its cursor (None for the first page)."""
    codec = CursorCodec(key, query.context(who))
    return codec, read_cursor(codec, after=query.after, before=query.before, columns=sort.columns())
