"""The indexed paths answer exactly what the plain definitions say: counts kept beside the
writes equal a real count, and indexed name search equals a casefolded substring match."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import event

from patron.server.auth import Principal
from patron.server.customers import bulk, listing
from patron.server.customers import service as customers
from patron.server.customers.repository import pages, records
from patron.server.db.engine import Database
from patron.wire import models as wire
from patron.wire.enums import SortOrder
from tests.conftest import Account
from tests.factories import create_customer, customer_body

Client = TestClient[Litestar]

NAMES = [
    "Große Straße GmbH", "GROSSE Holdings", "Ærø Shipping", "Café de Flore", "CAFE Society", "100% Organic",
    "Under_score Ltd", "back\\slash plc", 'Quote "Q" Inc.', "日本語 株式会社", "Σίσυφος ΑΕ", "ab", "abc", "xabcx",
]  # fmt: skip
QUERIES = ["gross", "straße", "STRASSE", "caf", "café", "%", "_", "\\", '"q"', "株式", "σίσυφος", "ab", "abc", "b", "e"]


def total(client: Client, account: Account, **params: str) -> int:
    page = client.get("/api/customers", params=params, headers=account.headers).json()
    result: int = page["pagination"]["totalResultSize"]
    return result


class TestNameSearch:
    @pytest.mark.parametrize("query", QUERIES)
    def test_matches_exactly_the_casefolded_substring(self, client: Client, account: Account, query: str) -> None:
        made = {create_customer(client, account.headers, legalName=name)["id"]: name for name in NAMES}
        page = client.get("/api/customers", params={"legalName": query, "limit": 100}, headers=account.headers).json()
        expected = {ident for ident, name in made.items() if query.casefold() in name.casefold()}
        assert {item["id"] for item in page["items"]} == expected
        assert page["pagination"]["totalResultSize"] == len(expected)

    def test_renamed_customers_are_found_by_their_new_name(self, client: Client, account: Account) -> None:
        created = create_customer(client, account.headers, legalName="Old Name Ltd")
        client.put(
            f"/api/customers/{created['id']}", json=customer_body(legalName="Fresh Label"), headers=account.headers
        )
        assert total(client, account, legalName="old name") == 0
        assert total(client, account, legalName="fresh lab") == 1


class TestCounts:
    def test_totals_stay_exact_through_creates_archives_and_imports(
        self, client: Client, account: Account, database: Database
    ) -> None:
        made = [create_customer(client, account.headers)["id"] for _ in range(4)]
        client.post(f"/api/customers/{made[0]}/archive", headers=account.headers)
        client.post(f"/api/customers/{made[0]}/archive", headers=account.headers)  # again: no change
        who = Principal(account_id=uuid.UUID(account.account_id), client_id="test")
        rows = [(i, msgspec.convert(customer_body(), wire.CreateOrUpdateCustomerRequest)) for i in range(3)]
        with database.write() as tx:
            assert bulk.import_batch(tx, who, rows).created == 3
        assert total(client, account) == 6
        assert total(client, account, includeArchived="true") == 7
        assert total(client, account, label="none") == 0

    def test_each_account_has_its_own_count(self, client: Client, account: Account, other_account: Account) -> None:
        create_customer(client, account.headers)
        assert total(client, other_account) == 0
        assert total(client, account) == 1


def walk(client: Client, account: Account, **params: Any) -> tuple[list[str], list[str]]:
    """Every id of a listing, paging forward to the end, then back to the start."""
    page = client.get("/api/customers", params=params, headers=account.headers).json()
    forward = [item["id"] for item in page["items"]]
    while page["pagination"].get("after"):
        page = client.get(
            "/api/customers", params={**params, "after": page["pagination"]["after"]}, headers=account.headers
        ).json()
        forward += [item["id"] for item in page["items"]]
    backward = [item["id"] for item in reversed(page["items"])]
    while page["pagination"].get("before"):
        page = client.get(
            "/api/customers", params={**params, "before": page["pagination"]["before"]}, headers=account.headers
        ).json()
        backward += [item["id"] for item in reversed(page["items"])]
    return forward, list(reversed(backward))


class TestPropertySort:
    """Sorting by a custom property reads two runs (holders by value, then the rest by id)."""

    @pytest.mark.parametrize("order", ["ASC", "DESC"])
    @pytest.mark.parametrize("label", [None, "vip"])
    def test_pages_cross_from_holders_to_the_rest_in_both_directions(
        self, client: Client, account: Account, order: str, label: str | None
    ) -> None:
        made: list[tuple[str | None, str]] = []
        for index in range(9):
            tier = ["gold", "silver", None][index % 3]
            properties = {"tier": tier} if tier else {"other": "x"}
            created = create_customer(client, account.headers, customProperties=properties, label=label)
            made.append((tier, created["id"]))
        create_customer(client, account.headers, customProperties={"tier": "zzz"}, label="someone-else")
        if label is None:
            made.append(("zzz", client.get("/api/customers", headers=account.headers).json()["items"][0]["id"]))
        held = sorted(((t, i) for t, i in made if t is not None), reverse=order == "DESC")
        rest = sorted((i for t, i in made if t is None), reverse=order == "DESC")
        expected = [i for _, i in held] + rest
        params: dict[str, Any] = {"sortBy": "customProperties.tier", "sortOrder": order, "limit": 2}
        if label:
            params["label"] = label
        forward, backward = walk(client, account, **params)
        assert forward == expected
        assert backward == expected

    def test_archived_holders_are_left_out_unless_asked_for(self, client: Client, account: Account) -> None:
        kept = create_customer(client, account.headers, customProperties={"tier": "a"})["id"]
        gone = create_customer(client, account.headers, customProperties={"tier": "b"})["id"]
        client.post(f"/api/customers/{gone}/archive", headers=account.headers)
        plain = create_customer(client, account.headers)["id"]
        forward, _ = walk(client, account, sortBy="customProperties.tier", sortOrder="ASC", limit=1)
        assert forward == [kept, plain]
        forward, _ = walk(
            client, account, sortBy="customProperties.tier", sortOrder="ASC", limit=1, includeArchived="true"
        )
        assert forward == [kept, gone, plain]


class TestLabelFilter:
    @pytest.mark.parametrize("sort", [{}, {"sortBy": "legalName", "sortOrder": "ASC"}, {"sortOrder": "ASC"}])
    def test_pages_hold_exactly_the_labelled_customers(
        self, client: Client, account: Account, sort: dict[str, str]
    ) -> None:
        labelled = [create_customer(client, account.headers, label="gold", legalName=f"N{i}") for i in range(5)]
        for _ in range(3):
            create_customer(client, account.headers, label="silver")
            create_customer(client, account.headers)
        forward, backward = walk(client, account, label="gold", limit=2, **sort)
        assert sorted(forward) == sorted(c["id"] for c in labelled)
        assert backward == forward
        assert total(client, account, label="gold") == 5


class TestDenseNameFragments:
    def test_a_fragment_most_names_hold_pages_like_a_rare_one(
        self, client: Client, account: Account, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from patron.server.customers import listing

        made = {create_customer(client, account.headers, legalName=f"Acme {i} Widgets")["id"] for i in range(6)}
        create_customer(client, account.headers, legalName="Unrelated")
        for dense in (1, 10_000):  # never / always read by walking the sort index
            monkeypatch.setattr(listing, "DENSE_MATCHES", dense)
            forward, backward = walk(client, account, legalName="WIDGET", limit=4)
            assert sorted(forward) == sorted(made)
            assert backward == forward
            assert total(client, account, legalName="widget") == 6


# sqlite_stat1 of the benchmark database: 1,000,000 customers (2 aliases, 2 contacts each),
# 200,000 holding a custom property, after `patron import` refreshed the statistics.
MILLION_STATISTICS = [
    ("contacts", "ix_contacts_account_id_customer_id_position", "1904400 2001 2 1"),
    ("contacts", "ix_contacts_account_id_email_key_customer_id", "1581408 2001 1 1"),
    ("contacts", "sqlite_autoindex_contacts_1", "1837700 2001 1"),
    ("custom_properties", "ix_custom_properties_account_id_key_value_customer_id", "127280 2001 2001 2001 1"),
    ("custom_properties", "sqlite_autoindex_custom_properties_1", "101376 2001 1 1"),
    ("customer_aliases", "ix_customer_aliases_account_id_created_at_id", "861175 2001 2001 1"),
    ("customer_aliases", "ix_customer_aliases_account_id_customer_id", "1837700 2001 2"),
    ("customer_aliases", "sqlite_autoindex_customer_aliases_1", "1837700 2001 1"),
    ("customer_aliases", "uq_customer_aliases_live_value", "1545288 2001 1"),
    ("customers", "ix_customers_account_id_created_at_id", "997150 2001 1001 1"),
    ("customers", "ix_customers_account_id_legal_name_key_id", "1154400 2001 1 1"),
    ("customers", "sqlite_autoindex_customers_1", "864800 2001 1"),
    ("customer_names_data", None, "17291"),
    ("customer_names_docsize", None, "1000000"),
    ("customer_names_idx", "customer_names_idx", "5940 1001 1"),
]


def load_million_statistics(database: Database) -> None:
    """The planner statistics of a million customers (as `patron import` leaves them), so
    SQLite plans as it would at that size rather than for thirty rows."""
    with database.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.exec_driver_sql("DELETE FROM sqlite_stat1")
        for table, name, stat in MILLION_STATISTICS:
            connection.exec_driver_sql("INSERT INTO sqlite_stat1 VALUES (?, ?, ?)", (table, name, stat))
        connection.exec_driver_sql("ANALYZE sqlite_schema")
        connection.commit()


class Served:
    """The SELECTs that serve requests, as `database.engine`'s cursor events see them. Every
    connection SQLite opens from here on (pooled or a snapshot's) also reports each SELECT it
    runs, and each request must have shown the listener every one of them."""

    def __init__(self, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        self.statements: list[tuple[str, Any, bool]] = []
        self.must_not_sort = False  # recorded with each statement
        self._ran: list[str] = []
        real = sqlite3.connect

        def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            connection: sqlite3.Connection = real(*args, **kwargs)
            connection.set_trace_callback(self._trace)
            return connection

        monkeypatch.setattr(sqlite3, "connect", connect)
        monkeypatch.setattr(sqlite3.dbapi2, "connect", connect)  # what SQLAlchemy calls
        database.close()  # connections (re)open traced, and load the statistics
        self._engine = database.engine
        event.listen(self._engine, "before_cursor_execute", self._record)

    def _trace(self, statement: str) -> None:
        # Not SQLite's own reads of a full-text index's tables (`'main'.'customer_names_config'`).
        if statement.lstrip().upper().startswith("SELECT") and "'main'." not in statement:
            self._ran.append(statement)

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.statements.append((statement, parameters, self.must_not_sort))

    def get(self, client: Client, path: str, headers: dict[str, str], **params: Any) -> Any:
        """GET `path`; fails unless the listener saw every SELECT the request ran."""
        seen, ran = len(self.statements), len(self._ran)
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        assert len(self.statements) - seen == len(self._ran) - ran, "\n--\n".join(self._ran[ran:])
        return response.json()

    def stop(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._record)


def plans(database: Database, statements: list[tuple[str, Any, bool]]) -> list[tuple[str, list[str], bool]]:
    """Each statement with the steps of its query plan."""
    with database.engine.connect() as connection:
        return [
            (
                statement,
                [row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)],
                flag,
            )
            for statement, parameters, flag in statements
        ]


class TestQueryPlans:
    """On SQLite, every filter and sort reads through an index: no statement of a listing
    scans the customers table or sorts more than the rows a filter index found, and no
    statement of a read of one customer scans a table. The statements checked are all of
    them: `Served` fails a request that ran one the engine's events did not see."""

    COMBINATIONS: ClassVar[list[dict[str, str]]] = [
        {**f, **s, **a}
        for f in ({}, {"email": "x@example.com"}, {"alias": "a-1"}, {"label": "gold"}, {"legalName": "acme"})
        for s in (
            {},
            {"sortBy": "legalName"},
            {"sortOrder": "ASC"},
            {"sortBy": "legalName", "sortOrder": "ASC"},
            {"sortBy": "customProperties.tier"},
        )
        for a in ({}, {"includeArchived": "true"})
    ]

    @pytest.fixture
    def served(
        self, client: Client, account: Account, database: Database, backend: Any, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[Served]:
        if backend.kind != "sqlite":
            pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
        for index in range(30):
            create_customer(
                client,
                account.headers,
                customProperties={"tier": f"t{index % 4}"},
                label="gold",
                customerAliases=[f"a-{index}"],
            )
        load_million_statistics(database)
        recorder = Served(database, monkeypatch)
        yield recorder
        recorder.stop()

    def test_no_listing_scans_the_customers(
        self, client: Client, account: Account, database: Database, served: Served
    ) -> None:
        for params in self.COMBINATIONS:
            # No filter finds the rows first: the sort must come from an index.
            served.must_not_sort = not ({"email", "alias", "legalName"} & set(params))
            first = served.get(client, "/api/customers", account.headers, **params, limit=2)
            after = first["pagination"].get("after")
            if after:
                served.get(client, "/api/customers", account.headers, **params, limit=2, after=after)
        listed = [s for s in served.statements if "customers" in s[0]]
        assert len(listed) > len(self.COMBINATIONS)
        scans = [
            (statement, plan)
            for statement, plan, must_not_sort in plans(database, listed)
            if any(step.startswith("SCAN customers") for step in plan)
            or (must_not_sort and any("TEMP B-TREE" in step for step in plan))
        ]
        assert not scans, "\n\n".join(f"{s}\n{p}" for s, p in scans[:3])

    def test_every_listing_statement_compiled_once_searches_an_index(self, database: Database, served: Served) -> None:
        statements = []
        for key in ("createdAt", "legalName"):
            for descending in (True, False):
                for archived in (False, True):
                    plan = pages.direct_plan(pages.Sort(key, descending), archived)
                    for direct in plan.statements():
                        compiled = direct.plan(database.engine.dialect)
                        statements.append((compiled.sql, tuple(None for _ in compiled.positional or ()), True))
        # Per sort, direction and archived or not: from the start either way, and beyond a
        # key (strictly or at it) either way.
        assert len(statements) == 8 * 6
        facts = records.FACTS.plan(database.engine.dialect)
        statements.append((facts.sql, (None,), True))
        bad = [
            (statement, plan)
            for statement, plan, _ in plans(database, statements)
            if any(step.startswith("SCAN") or "TEMP B-TREE" in step for step in plan)
        ]
        assert not bad, "\n\n".join(f"{s}\n{p}" for s, p in bad[:3])

    def test_no_read_of_one_customer_scans_a_table(
        self, client: Client, account: Account, database: Database, served: Served
    ) -> None:
        ident = served.get(client, "/api/customers/by-alias/a-3", account.headers)["id"]
        assert served.get(client, f"/api/customers/by-alias/{ident}", account.headers)["id"] == ident
        assert served.get(client, f"/api/customers/{ident}", account.headers)["id"] == ident
        read = " ".join(statement for statement, _, _ in served.statements)
        for table in ("credentials", "customer_aliases", "customers", "contacts", "custom_properties"):
            assert f"FROM {table} " in read or f"JOIN {table} " in read, table
        # No step scans a table, and the customer is found by its id (not among the account's).
        scans = [
            (statement, plan)
            for statement, plan, _ in plans(database, served.statements)
            if any(step.startswith("SCAN") for step in plan)
            or any(step.startswith("SEARCH customers") and " id=?)" not in step for step in plan)
        ]
        assert not scans, "\n\n".join(f"{s}\n{p}" for s, p in scans[:3])


class TestListingCompiledOnce:
    """An unfiltered listing in a column sort is read with statements compiled once, on a
    consistent snapshot: every page, cursor and total is the one the general plan gives."""

    QUERIES: ClassVar[list[dict[str, Any]]] = [
        {"sort_by": sort_by, "sort_order": order, "include_archived": archived}
        for sort_by in (None, "legalName")
        for order in (None, SortOrder.ASC)
        for archived in (False, True)
    ]

    def _both(self, database: Database, who: Principal, query: listing.Query) -> dict[str, Any]:
        with database.read() as tx:
            general = msgspec.to_builtins(customers.list_page(tx, who, database.key, query))
        with database.snapshot(consistent=True) as reads:
            direct = customers.list_page_direct(reads, who, database.key, query)
        assert direct is not None
        assert msgspec.to_builtins(direct) == general
        return general  # type: ignore[no-any-return]

    def test_every_page_both_ways_matches_the_general_plan(
        self, client: Client, account: Account, database: Database
    ) -> None:
        made = [
            create_customer(
                client, account.headers, legalName=f"Name {i % 3}", customProperties={"k": str(i)} if i % 2 else {}
            )
            for i in range(7)
        ]
        assert client.post(f"/api/customers/{made[2]['id']}/archive", headers=account.headers).status_code == 200
        who = Principal(account_id=uuid.UUID(account.account_id), client_id="test")
        for shape in self.QUERIES:
            page = self._both(database, who, listing.Query(limit=2, **shape))
            seen = [item["id"] for item in page["items"]]
            while page["pagination"].get("after"):
                page = self._both(database, who, listing.Query(limit=2, after=page["pagination"]["after"], **shape))
                seen += [item["id"] for item in page["items"]]
            assert len(seen) == len(set(seen)) == (7 if shape["include_archived"] else 6)
            while page["pagination"].get("before"):
                page = self._both(database, who, listing.Query(limit=2, before=page["pagination"]["before"], **shape))
            assert [item["id"] for item in page["items"]] == seen[:2]

    def test_an_account_with_organizations_is_left_to_the_general_plan(
        self, client: Client, account: Account, database: Database
    ) -> None:
        parent = create_customer(client, account.headers)
        create_customer(client, account.headers, parentId=parent["id"])
        who = Principal(account_id=uuid.UUID(account.account_id), client_id="test")
        with database.snapshot(consistent=True) as reads:
            assert customers.list_page_direct(reads, who, database.key, listing.Query()) is None
        listed = client.get("/api/customers", headers=account.headers).json()
        assert [len(item["organizations"]) for item in listed["items"]] == [1, 1]
