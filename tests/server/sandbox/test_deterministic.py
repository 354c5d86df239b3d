"""Deterministic runs: with `PATRON_ID_SEED` and a frozen clock, the same script against a
fresh sandbox makes the same ids, so two runs export byte-identical files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from typer.testing import CliRunner

from patron.cli.main import app as cli
from patron.server import clock
from patron.server.app import create_app
from patron.server.config import Settings
from patron.server.db.engine import Database
from tests.conftest import NO_LIMITS, SECRET_KEY, Backend, make_account
from tests.server.sandbox.conftest import ADMIN, ADMIN_TOKEN

Client = TestClient[Litestar]
FROZEN = "2030-01-01T00:00:00.000Z"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _unseeded_after() -> Iterator[None]:
    """The seed is the process's: later tests of this worker get the system's randomness back."""
    yield
    clock.seed_ids(None)


def body(name: str, email: str, **extra: Any) -> dict[str, Any]:
    """A customer request with nothing drawn from a counter (the factories' names are)."""
    return {
        "legalName": name,
        "address": {"line1": "1 Main St", "town": "Springfield", "state": "IL", "postcode": "62701", "country": "US"},
        "taxStatus": "TAXED",
        "contacts": [{"name": name, "email": email, "billingPreference": "PRIMARY"}],
        **extra,
    }


def ok(answer: Any) -> Any:
    assert answer.status_code in {200, 201}, answer.text
    return answer.json()


def script(client: Client, database: Database) -> str:
    """What a test suite does against a fresh sandbox; the account's id."""
    with clock.pinned(datetime.fromisoformat(FROZEN)):
        account = make_account(database, "determinism")
    ok(client.put(f"/_patron/accounts/{account.account_id}/clock", json={"frozenTime": FROZEN}, headers=ADMIN))
    auth = account.headers
    fixture = [
        body("Seeded child", "child@seed.test", parent="seed-hq", createdAt="2029-06-01T00:00:00Z"),
        body("Seeded HQ", "hq@seed.test", customerAliases=["seed-hq"], createdAt="2029-01-01T00:00:00Z"),
    ]
    ok(client.post(f"/_patron/accounts/{account.account_id}/seed", json={"customers": fixture}, headers=ADMIN))
    hq = ok(client.post("/api/customers", json=body("HQ", "hq@acme.test", customerAliases=["hq"]), headers=auth))
    branch = ok(client.post("/api/customers", json=body("Branch", "b@acme.test", parentId=hq["id"]), headers=auth))
    alias = ok(client.post("/api/customer-aliases", json={"customerId": branch["id"], "value": "b-1"}, headers=auth))
    contact = {"name": "Grace", "email": "grace@acme.test", "billingPreference": "NONE"}
    ok(client.post(f"/api/customers/{hq['id']}/contacts", json=contact, headers=auth))
    ok(client.post(f"/_patron/accounts/{account.account_id}/clock/advance", json={"by": "P1D"}, headers=ADMIN))
    gone = ok(client.post("/api/customers", json=body("Gone", "gone@acme.test"), headers=auth))
    ok(client.post(f"/api/customers/{gone['id']}/archive", headers=auth))
    ok(client.delete(f"/api/customer-aliases/{alias['id']}", headers=auth))
    members = {"ownerId": branch["id"], "memberIds": [gone["id"]]}
    ok(client.post("/api/customer-organizations", json=members, headers=auth))
    return account.account_id


def run(backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, id_seed: int | None) -> str:
    """The script against a fresh database and app; `patron export customers` of it."""
    url = backend.fresh(tmp_path)
    try:
        settings = Settings(
            database_url=url, secret_key=SECRET_KEY, admin_token=ADMIN_TOKEN, id_seed=id_seed, **NO_LIMITS
        )
        application = create_app(settings)
        try:
            with TestClient(application) as client:
                account_id = script(client, application.state.database)
        finally:
            application.state.database.close()
        monkeypatch.setenv("PATRON_SECRET_KEY", SECRET_KEY)
        exported = runner.invoke(cli, ["export", "customers", "--account", account_id, "--database", url])
        assert exported.exit_code == 0, exported.output
        return exported.stdout
    finally:
        backend.drop(url)


def test_the_same_script_with_the_same_seed_exports_the_same_bytes(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run(backend, tmp_path, monkeypatch, id_seed=42)
    second = run(backend, tmp_path, monkeypatch, id_seed=42)
    assert first.count("\n") == 5
    assert first == second


def test_without_a_seed_or_with_another_the_ids_differ(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run(backend, tmp_path, monkeypatch, id_seed=None)
    second = run(backend, tmp_path, monkeypatch, id_seed=None)
    assert first != second
    assert run(backend, tmp_path, monkeypatch, id_seed=1) != run(backend, tmp_path, monkeypatch, id_seed=2)


def test_serve_refuses_several_workers_with_an_id_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATRON_ID_SEED", "42")
    database = f"sqlite:///{tmp_path / 'never.db'}"
    refused = runner.invoke(cli, ["serve", "--workers", "2", "--database", database])
    assert refused.exit_code == 1
    assert "--workers 1" in refused.output
    assert not (tmp_path / "never.db").exists()
