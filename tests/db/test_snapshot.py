"""Statements run on the driver under a snapshot read exactly what SQLAlchemy reads, a
snapshot sees every committed write and makes none, and its statements reach the engine's
events and echo; a database the fast snapshots cannot serve still gets a working one."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine, Select, bindparam, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from patron.server.db import tables
from patron.server.db.engine import Database, make_engine
from patron.server.db.snapshot import Direct, Snapshot
from tests.conftest import Account
from tests.factories import create_customer, customer_body

Client = TestClient[Litestar]

c = tables.customer.c
ct = tables.contact.c

# Every column type patron stores: UUIDs, aware UTC timestamps (set and NULL), JSON,
# text with and without values, integers, enums as text.
STATEMENTS: list[Select[Any]] = [
    select(tables.customer).where(c.account_id == bindparam("account_id")).order_by(c.created_at, c.id),
    select(tables.contact).where(ct.account_id == bindparam("account_id")).order_by(ct.customer_id, ct.position),
    select(tables.customer_alias).where(tables.customer_alias.c.account_id == bindparam("account_id")),
    select(tables.credential.c.secret_hash, tables.credential.c.revoked_at).where(
        tables.credential.c.account_id == bindparam("account_id")
    ),
]


def make_customers(client: Client, account: Account) -> list[str]:
    first = create_customer(
        client,
        account.headers,
        legalName="Große Straße GmbH",
        customerAliases=["crm-1", "billing/1"],
        customProperties={"tier": "gold"},
        integrationIds=[{"service": "Xero", "id": "xero-1"}],
        label="gold",
    )
    second = create_customer(client, account.headers, legalName="日本語 株式会社", url="https://example.jp")
    client.post(f"/api/customers/{second['id']}/archive", headers=account.headers)
    return [first["id"], second["id"]]


@pytest.mark.parametrize("statement", STATEMENTS, ids=["customers", "contacts", "aliases", "credentials"])
def test_rows_equal_what_sqlalchemy_reads(
    client: Client, account: Account, database: Database, statement: Select[Any]
) -> None:
    make_customers(client, account)
    params = {"account_id": uuid.UUID(account.account_id)}
    with database.read() as tx:
        expected = [tuple(row) for row in tx.execute(statement, params)]
    with database.snapshot() as reads:
        rows = Direct(statement).all(reads, params)
    assert expected  # the statement reads something
    assert [tuple(row) for row in rows] == expected
    assert list(rows[0]._fields) == [column.key for column in statement.selected_columns]


def test_a_snapshot_sees_each_committed_write(client: Client, account: Account, database: Database) -> None:
    by_id = Direct(select(c.legal_name).where(c.account_id == bindparam("account_id"), c.id == bindparam("id")))
    made = create_customer(client, account.headers, legalName="Before")
    params = {"account_id": uuid.UUID(account.account_id), "id": uuid.UUID(made["id"])}
    with database.snapshot() as reads:
        before = by_id.first(reads, params)
    client.put(f"/api/customers/{made['id']}", json=customer_body(legalName="After"), headers=account.headers)
    with database.snapshot() as reads:
        after = by_id.first(reads, params)
    assert (before.legal_name, after.legal_name) == ("Before", "After")


def test_a_consistent_snapshot_reads_one_moment(client: Client, account: Account, database: Database) -> None:
    by_id = Direct(select(c.legal_name).where(c.account_id == bindparam("account_id"), c.id == bindparam("id")))
    made = create_customer(client, account.headers, legalName="Before")
    params = {"account_id": uuid.UUID(account.account_id), "id": uuid.UUID(made["id"])}
    with database.snapshot(consistent=True) as reads:
        first = by_id.first(reads, params)
        client.put(f"/api/customers/{made['id']}", json=customer_body(legalName="After"), headers=account.headers)
        second = by_id.first(reads, params)
    with database.snapshot(consistent=True) as reads:
        later = by_id.first(reads, params)
    assert (first.legal_name, second.legal_name, later.legal_name) == ("Before", "Before", "After")


def test_a_sqlite_snapshot_cannot_write(database: Database, account: Account, backend: Any) -> None:
    if backend.kind != "sqlite":
        pytest.skip("SQLite's snapshot connections are read-only; PostgreSQL's only run SELECTs (`Direct`)")
    with database.snapshot() as reads:
        cursor = reads.driver_connection.cursor()
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            cursor.execute("DELETE FROM accounts")
    with database.read() as tx:
        assert tx.exec_driver_sql("SELECT count(*) FROM accounts").scalar_one() == 1


def test_by_alias_reads_through_a_snapshot(client: Client, account: Account) -> None:
    ids = make_customers(client, account)
    found = client.get("/api/customers/by-alias/billing%2F1", headers=account.headers)
    assert found.status_code == 200
    assert found.json()["id"] == ids[0]
    archived = client.get(f"/api/customers/by-alias/{ids[1]}", headers=account.headers)
    assert archived.status_code == 200
    assert archived.json()["archivedAt"] is not None


def record_statements(engine: Engine) -> tuple[list[tuple[Any, str]], Callable[[], None]]:
    """Every statement `engine`'s cursor events see, with the `conn` they were given; and
    a function that stops listening."""
    seen: list[tuple[Any, str]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((conn, statement))

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((conn, "after: " + statement))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)

    def stop() -> None:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)

    return seen, stop


class TestEvents:
    """A request's snapshot statements reach the listeners and the echo of `Database.engine`
    (on PostgreSQL too, where snapshots come from a pool of their own)."""

    def test_listeners_see_authentication_and_by_alias(
        self, client: Client, account: Account, database: Database
    ) -> None:
        make_customers(client, account)
        seen, stop = record_statements(database.engine)
        try:
            assert client.get("/api/customers/by-alias/crm-1", headers=account.headers).status_code == 200
        finally:
            stop()
        snapshots = [(conn, statement) for conn, statement in seen if isinstance(conn, Snapshot)]
        statements = [statement for _, statement in snapshots]
        assert [s for s in statements if "FROM credentials" in s and not s.startswith("after")]
        assert [s for s in statements if "FROM customer_aliases" in s and not s.startswith("after")]
        assert len([s for s in statements if s.startswith("after: ")]) == len(statements) / 2
        for conn, _ in snapshots:
            assert conn.engine is database.engine
            assert conn.dialect.name == database.engine.dialect.name
            assert isinstance(conn.info, dict)

    def test_echo_logs_the_snapshot_statements(
        self, client: Client, account: Account, database: Database, caplog: pytest.LogCaptureFixture
    ) -> None:
        make_customers(client, account)
        database.engine.echo = True
        try:
            with caplog.at_level(logging.INFO, logger="sqlalchemy.engine.Engine"):
                assert client.get("/api/customers/by-alias/crm-1", headers=account.headers).status_code == 200
        finally:
            database.engine.echo = False
        logged = [record.getMessage() for record in caplog.records if record.name.startswith("sqlalchemy.engine")]
        assert [m for m in logged if "FROM credentials" in m]
        assert [m for m in logged if "FROM customer_aliases" in m]
        assert [m for m in logged if m.startswith("[snapshot] ")]

    def test_no_listener_no_echo_logs_nothing(
        self, client: Client, account: Account, database: Database, caplog: pytest.LogCaptureFixture
    ) -> None:
        make_customers(client, account)
        with caplog.at_level(logging.WARNING, logger="sqlalchemy.engine.Engine"):
            assert client.get("/api/customers/by-alias/crm-1", headers=account.headers).status_code == 200
        assert not [r for r in caplog.records if r.name.startswith("sqlalchemy.engine")]


@pytest.fixture
def pooled(database_url: str, backend: Any) -> Iterator[Database]:
    """A `Database` of the test database that gets its snapshots from the pool: SQLite by a
    URI filename, PostgreSQL without a snapshot engine (as tests and the CLI build it)."""
    if backend.kind == "sqlite":
        url = make_url(database_url)
        url = url.set(database=f"file:{url.database}", query={"uri": "true"})
        engine = make_engine(url.render_as_string(hide_password=False))
    else:
        engine = make_engine(database_url)
    database = Database(engine, b"key")
    yield database
    database.close()


def test_the_pooled_fallback_yields_a_working_snapshot(
    client: Client, account: Account, database: Database, pooled: Database
) -> None:
    make_customers(client, account)
    statement = STATEMENTS[0]
    params = {"account_id": uuid.UUID(account.account_id)}
    with database.read() as tx:
        expected = [tuple(row) for row in tx.execute(statement, params)]
    pool = pooled.engine.pool
    assert isinstance(pool, QueuePool)
    seen, stop = record_statements(pooled.engine)
    try:
        with pooled.snapshot() as reads:
            assert isinstance(reads, Snapshot)
            assert pool.checkedout() == 1  # a pooled connection, in a transaction
            rows = [tuple(row) for row in Direct(statement).all(reads, params)]
    finally:
        stop()
    assert rows == expected
    # Before and after the one statement (SQLite's BEGIN is SQLAlchemy's own, on the Connection).
    assert [conn for conn, _ in seen if isinstance(conn, Snapshot)] == [reads, reads]
    assert pool.checkedout() == 0


def test_a_tracer_keeps_its_span_on_the_statement_context(client: Client, account: Account, database: Database) -> None:
    """Tracers (OpenTelemetry's among them) put their span on `context` before a statement
    and take it back after; a snapshot statement gives each its own context to do so."""
    make_customers(client, account)
    spans: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        context.span = statement

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        spans.append(context.span)

    event.listen(database.engine, "before_cursor_execute", before)
    event.listen(database.engine, "after_cursor_execute", after)
    try:
        assert client.get("/api/customers/by-alias/crm-1", headers=account.headers).status_code == 200
    finally:
        event.remove(database.engine, "before_cursor_execute", before)
        event.remove(database.engine, "after_cursor_execute", after)
    assert len(spans) == 2  # authentication and by-alias, each closing its own span
    assert any("customer_aliases" in span for span in spans)
