"""Statements run on the driver directly read exactly what SQLAlchemy reads, and a snapshot
sees every committed write and makes none."""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Select, bindparam, select

from patron.server.db import tables
from patron.server.db.direct import Direct
from patron.server.db.engine import Database
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
        inside_transaction = [tuple(row) for row in Direct(statement).all(tx, params)]
    with database.snapshot() as reads:
        rows = Direct(statement).all(reads, params)
    assert expected  # the statement reads something
    assert [tuple(row) for row in rows] == expected
    assert inside_transaction == expected
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


def test_a_sqlite_snapshot_cannot_write(database: Database, account: Account, backend: Any) -> None:
    if backend.kind != "sqlite":
        pytest.skip("SQLite's snapshot connections are read-only; PostgreSQL's only run SELECTs (`Direct`)")
    with database.snapshot() as reads:
        cursor = reads.driver_connection.cursor()  # type: ignore[union-attr]
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
