"""`db.consistency` and `patron db check`: the invariants no constraint states are found
broken when they are, and the counters are recomputed on demand."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import text, update
from typer.testing import CliRunner

from patron.cli.main import app as cli
from patron.server.db import consistency, tables
from patron.server.db.engine import Database
from tests.conftest import SECRET_KEY, Account
from tests.factories import contact, create_customer

runner = CliRunner()


def _customers(client: TestClient[Litestar], account: Account, count: int) -> list[str]:
    return [create_customer(client, account.headers)["id"] for _ in range(count)]


def _corrupt_counters(database: Database, account: Account) -> None:
    n = tables.customer_count.c
    with database.write() as tx:
        tx.execute(
            update(tables.customer_count).where(n.account_id == uuid.UUID(account.account_id)).values(live=-6, total=4)
        )


def test_a_database_written_through_the_api_is_consistent(
    client: TestClient[Litestar], account: Account, other_account: Account, database: Database
) -> None:
    ids = _customers(client, account, 3)
    client.post(f"/api/customers/{ids[0]}/archive", headers=account.headers)
    with database.read() as tx:
        assert consistency.check(tx) == []


def test_wrong_counters_are_found_and_recomputed(
    client: TestClient[Litestar], account: Account, database: Database
) -> None:
    ids = _customers(client, account, 3)
    client.post(f"/api/customers/{ids[0]}/archive", headers=account.headers)
    _corrupt_counters(database, account)
    with database.read() as tx:
        [problem] = consistency.check(tx)
    assert (problem.kind, str(problem.account_id)) == ("counts", account.account_id)
    assert "live=-6 total=4" in problem.detail
    assert "live=2 total=3" in problem.detail
    with database.write() as tx:
        assert [str(i) for i in consistency.repair_counts(tx)] == [account.account_id]
    with database.read() as tx:
        assert consistency.check(tx) == []
    listed = client.get("/api/customers", headers=account.headers).json()
    assert listed["pagination"]["totalResultSize"] == 2


def test_a_missing_counter_row_is_found_and_recreated(
    client: TestClient[Litestar], account: Account, database: Database
) -> None:
    _customers(client, account, 2)
    with database.write() as tx:
        tx.execute(tables.customer_count.delete())
    with database.write() as tx:
        assert len(consistency.repair_counts(tx)) == 1
    with database.read() as tx:
        assert consistency.check(tx) == []


def test_billed_contacts_without_a_primary_are_found(
    client: TestClient[Litestar], account: Account, database: Database
) -> None:
    customer = create_customer(client, account.headers, contacts=[contact(billing_preference="PRIMARY")])
    with database.write() as tx:
        tx.execute(text("UPDATE contacts SET billing_preference = 'STANDARD'"))
    with database.read() as tx:
        [problem] = consistency.check(tx)
    assert problem.kind == "primary"
    assert customer["id"] in problem.detail


def test_db_check_exits_1_on_a_problem_and_repair_fixes_counters(
    client: TestClient[Litestar],
    account: Account,
    database: Database,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATRON_SECRET_KEY", SECRET_KEY)
    monkeypatch.chdir(tmp_path)
    _customers(client, account, 2)
    assert runner.invoke(cli, ["db", "check", "--database", database_url]).exit_code == 0
    _corrupt_counters(database, account)
    failed = runner.invoke(cli, ["db", "check", "--database", database_url])
    assert failed.exit_code == 1
    assert f"counts: account {account.account_id}" in failed.output
    assert "--repair" in failed.output
    repaired = runner.invoke(cli, ["db", "check", "--repair", "--database", database_url])
    assert repaired.exit_code == 0, repaired.output
    assert f"recomputed the customer counters of account {account.account_id}" in repaired.output
    assert runner.invoke(cli, ["db", "check", "--database", database_url]).exit_code == 0
