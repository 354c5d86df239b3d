"""An account's state for the tests of reset, delete and snapshots: made through the API
(every kind of row the registry holds), and read back two ways: `patron export customers`
(the bytes a user compares) and every row of every table that holds the account's id."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from patron.cli.main import app as cli
from patron.server.db import tables
from patron.server.db.engine import Database
from tests.conftest import SECRET_KEY, Account
from tests.factories import contact, create_alias, create_customer

Client = TestClient[Litestar]
runner = CliRunner()


def populate(client: Client, account: Account, prefix: str = "p") -> dict[str, str]:
    """A parent with custom properties and an organization of two children; one child with
    two aliases, a deleted alias and an archived contact; the other archived. Returns ids."""
    headers = account.headers
    parent = create_customer(client, headers, customerAliases=[f"{prefix}-parent"], customProperties={"tier": "gold"})
    first = create_customer(
        client,
        headers,
        parentId=parent["id"],
        customerAliases=[f"{prefix}-first", f"{prefix}-first-2"],
        contacts=[contact(), contact(name="Grace", billing_preference="STANDARD")],
        customProperties={"tier": "silver", "region": "eu"},
    )
    second = create_customer(
        client, headers, parentId=parent["id"], label="later", integrationIds=[{"service": "Stripe", "id": "cus_1"}]
    )
    gone = create_alias(client, headers, first["id"], f"{prefix}-gone")
    assert client.delete(f"/api/customer-aliases/{gone['id']}", headers=headers).status_code == 200
    archived_contact = first["contacts"][1]["id"]
    answer = client.post(f"/api/customers/{first['id']}/contacts/{archived_contact}/archive", headers=headers)
    assert answer.status_code == 200, answer.text
    assert client.post(f"/api/customers/{second['id']}/archive", headers=headers).status_code == 200
    return {"parent": parent["id"], "first": first["id"], "second": second["id"]}


def export(database_url: str, account: Account, directory: Path) -> bytes:
    """What `patron export customers` writes for the account."""
    output = directory / f"export-{uuid.uuid4().hex[:8]}.jsonl"
    command = ["export", "customers", "--account", account.account_id, "--database", database_url]
    result = runner.invoke(cli, [*command, "--output", str(output)], env={"PATRON_SECRET_KEY": SECRET_KEY})
    assert result.exit_code == 0, result.output
    return output.read_bytes()


def rows(database: Database, account: Account) -> dict[str, list[tuple[Any, ...]]]:
    """Every row holding the account's id, table by table, in primary-key order."""
    ident = uuid.UUID(account.account_id)
    found = {}
    with database.read() as tx:
        for table in tables.metadata.sorted_tables:
            if "account_id" in table.c:
                query = select(table).where(table.c.account_id == ident).order_by(*table.primary_key.columns)
                found[table.name] = [tuple(row) for row in tx.execute(query)]
    return found


def registry(database: Database, account: Account) -> dict[str, list[tuple[Any, ...]]]:
    """`rows`, only the tables of the account's registry (`tables.ACCOUNT_DATA`)."""
    names = {table.name for table in tables.ACCOUNT_DATA}
    return {name: found for name, found in rows(database, account).items() if name in names}
