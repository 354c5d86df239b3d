"""`POST /_patron/accounts/{id}/reset`: the account empty, its credentials and snapshots kept,
counters right, other accounts untouched, and consistent when creates race it."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select, update

from patron.server.config import Settings
from patron.server.db import consistency, tables
from patron.server.db.engine import Database, open_database
from tests.conftest import SECRET_KEY, Account
from tests.factories import create_customer, customer_body
from tests.server.sandbox import state
from tests.server.sandbox.conftest import ADMIN, ADMIN_TOKEN
from tests.server.sandbox.test_accounts import _sandbox_rows
from tests.system.conftest import start_server, stop_server

Client = TestClient[Litestar]


def reset(client: Client, account: Account) -> None:
    answer = client.post(f"/_patron/accounts/{account.account_id}/reset", headers=ADMIN)
    assert answer.status_code == 204, answer.text
    assert answer.content == b""


def total(client: Client, account: Account) -> int:
    answer = client.get("/api/customers", params={"includeArchived": "true"}, headers=account.headers)
    assert answer.status_code == 200, answer.text
    found: int = answer.json()["pagination"]["totalResultSize"]
    return found


class TestReset:
    def test_every_row_of_the_registry_goes(self, client: Client, database: Database, account: Account) -> None:
        ids = state.populate(client, account)
        reset(client, account)
        assert state.registry(database, account) == {table.name: [] for table in tables.ACCOUNT_DATA}
        assert total(client, account) == 0
        assert client.get("/api/customer-aliases", headers=account.headers).json()["items"] == []
        assert client.get("/api/customer-custom-property-keys", headers=account.headers).json() == {"items": []}
        assert client.get(f"/api/customers/{ids['first']}", headers=account.headers).status_code == 404
        with database.read() as tx:
            assert consistency.check(tx) == []

    def test_the_counters_start_again_from_zero(self, client: Client, account: Account) -> None:
        state.populate(client, account)
        reset(client, account)
        create_customer(client, account.headers, customerAliases=["p-parent"])
        assert total(client, account) == 1
        assert client.get("/api/customers", headers=account.headers).json()["pagination"]["totalResultSize"] == 1

    def test_credentials_stay(self, client: Client, database: Database, account: Account) -> None:
        before = client.get("/_patron/accounts", headers=ADMIN).json()
        reset(client, account)
        assert client.get("/api/customers", headers=account.headers).status_code == 200
        assert client.get("/_patron/accounts", headers=ADMIN).json() == before

    def test_snapshots_stay(self, client: Client, account: Account, database_url: str, tmp_path: Path) -> None:
        state.populate(client, account)
        saved = state.export(database_url, account, tmp_path)
        snapshots = f"/_patron/accounts/{account.account_id}/snapshots"
        made = client.post(snapshots, json={"name": "seeded"}, headers=ADMIN)
        assert made.status_code == 201, made.text
        reset(client, account)
        assert [item["name"] for item in client.get(snapshots, headers=ADMIN).json()["items"]] == ["seeded"]
        assert client.post(f"{snapshots}/seeded/restore", headers=ADMIN).status_code == 204
        assert state.export(database_url, account, tmp_path) == saved

    def test_idempotency_keys_go(self, client: Client, account: Account) -> None:
        keyed = {**account.headers, "Idempotency-Key": "once"}
        first = client.post("/api/customers", json=customer_body(legalName="Before"), headers=keyed)
        assert first.status_code == 201
        reset(client, account)
        # The same key with another body: a new request, neither a replay nor a mismatch.
        again = client.post("/api/customers", json=customer_body(legalName="After"), headers=keyed)
        assert again.status_code == 201
        assert "idempotent-replayed" not in again.headers
        assert again.json()["legalName"] == "After"

    def test_faults_the_journal_and_the_test_clock_go(
        self, client: Client, database: Database, account: Account
    ) -> None:
        _sandbox_rows(database, account)
        ident = uuid.UUID(account.account_id)
        with database.write() as tx:
            frozen = datetime(2030, 1, 1, tzinfo=UTC)
            tx.execute(update(tables.account).where(tables.account.c.id == ident).values(frozen_at=frozen))
        reset(client, account)
        left = state.rows(database, account)
        assert left["sandbox_faults"] == []
        assert left["sandbox_requests"] == []
        assert client.get("/_patron/accounts", headers=ADMIN).json()["items"][0]["frozenTime"] is None
        created = create_customer(client, account.headers)
        assert not created["createdAt"].startswith("2030")

    def test_another_account_is_untouched(
        self,
        client: Client,
        database: Database,
        database_url: str,
        account: Account,
        other_account: Account,
        tmp_path: Path,
    ) -> None:
        state.populate(client, account)
        state.populate(client, other_account)
        _sandbox_rows(database, other_account)
        before = state.export(database_url, other_account, tmp_path), state.rows(database, other_account)
        reset(client, account)
        assert (state.export(database_url, other_account, tmp_path), state.rows(database, other_account)) == before
        assert total(client, other_account) == 3

    def test_an_empty_account_resets(self, client: Client, account: Account) -> None:
        reset(client, account)
        reset(client, account)
        assert total(client, account) == 0

    @pytest.mark.parametrize("ident", [str(uuid.UUID(int=7)), "nope"])
    def test_an_unknown_or_malformed_id_is_404(self, client: Client, ident: str) -> None:
        answer = client.post(f"/_patron/accounts/{ident}/reset", headers=ADMIN)
        assert answer.status_code == 404
        assert answer.json()["error"] == {"type": "NotFound", "message": f"account {ident!r} not found"}

    def test_a_wrong_token_is_401_and_resets_nothing(self, client: Client, account: Account) -> None:
        create_customer(client, account.headers)
        answer = client.post(f"/_patron/accounts/{account.account_id}/reset", headers={"Authorization": "Bearer x"})
        assert answer.status_code == 401
        assert total(client, account) == 1

    def test_an_accounts_own_credentials_cannot_reset_it(self, client: Client, account: Account) -> None:
        create_customer(client, account.headers)
        answer = client.post(f"/_patron/accounts/{account.account_id}/reset", headers=account.headers)
        assert answer.status_code == 401
        assert total(client, account) == 1


CREATORS = 6
RESETS = 8


def test_writes_racing_resets_leave_the_database_consistent(database_url: str, tmp_path: Path) -> None:
    """Real HTTP, two workers: writers of the account (creates, updates, archives) run while
    the operator resets it again and again. Every request answers as it should, and the
    counters equal the rows at every moment checked: after each reset and at the end (on
    PostgreSQL the row locks decide)."""
    process, port = start_server(database_url, tmp_path, workers=2, env={"PATRON_ADMIN_TOKEN": ADMIN_TOKEN})
    base = f"http://127.0.0.1:{port}"
    database = open_database(Settings(database_url=database_url, secret_key=SECRET_KEY))
    try:
        created = httpx.post(f"{base}/_patron/accounts", json={"name": "race"}, headers=ADMIN, timeout=30).json()
        auth = (created["clientId"], created["clientSecret"])
        statuses, problems = _race(base, created["accountId"], auth, database)
        with httpx.Client(base_url=f"{base}/api", auth=auth, timeout=30) as http:
            listed = http.get("/customers", params={"includeArchived": "true", "limit": 1}).json()
        with database.read() as tx:
            problems += consistency.check(tx)
            stored = tx.execute(select(func.count()).select_from(tables.customer)).scalar_one()
    finally:
        stop_server(process)
        database.close()
    assert statuses["create"] == {201}
    assert statuses["reset"] == {204}
    assert statuses["write"] <= {200, 404}
    assert problems == []
    assert listed["pagination"]["totalResultSize"] == stored > 0


def _race(
    base: str, account_id: str, auth: tuple[str, str], database: Database
) -> tuple[dict[str, set[int]], list[consistency.Problem]]:
    """Creators write until the resetter has made its resets, and a few creates more."""
    statuses: dict[str, set[int]] = {"create": set(), "reset": set(), "write": set()}
    problems: list[consistency.Problem] = []
    barrier = threading.Barrier(CREATORS + 1)
    resets_done = threading.Event()

    def creator(number: int) -> None:
        with httpx.Client(base_url=f"{base}/api", auth=auth, timeout=60) as http:
            barrier.wait()
            index, extra = 0, 3
            while extra > 0:
                if resets_done.is_set():
                    extra -= 1
                body = customer_body(customerAliases=[f"race-{number}-{index}"], customProperties={"n": str(index)})
                answer = http.post("/customers", json=body)
                statuses["create"].add(answer.status_code)
                if answer.status_code == 201 and index % 3 == 0:
                    ident = answer.json()["id"]
                    statuses["write"].add(http.put(f"/customers/{ident}", json=customer_body()).status_code)
                    statuses["write"].add(http.post(f"/customers/{ident}/archive").status_code)
                index += 1

    def resetter() -> None:
        with httpx.Client(base_url=base, headers=ADMIN, timeout=60) as http:
            barrier.wait()
            for _ in range(RESETS):
                time.sleep(0.05)
                statuses["reset"].add(http.post(f"/_patron/accounts/{account_id}/reset").status_code)
                with database.read() as tx:
                    # One statement: one consistent view, whatever commits meanwhile.
                    problems.extend(consistency.counter_problems(tx))
        resets_done.set()

    with ThreadPoolExecutor(CREATORS + 1) as pool:
        for future in [pool.submit(resetter), *(pool.submit(creator, n) for n in range(CREATORS))]:
            future.result()
    return statuses, problems
