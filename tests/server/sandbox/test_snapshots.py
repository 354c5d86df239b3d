"""Snapshots over HTTP: save an account's state, list, restore exactly (the export and every
row byte for byte), delete; in the database, so they outlive the server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select, update

from patron.server.app import create_app
from patron.server.config import Settings
from patron.server.db import consistency, tables
from patron.server.db.engine import Database
from patron.server.sandbox.repository import snapshots as repository
from patron.server.sandbox.service import snapshots as service
from tests.conftest import Account
from tests.factories import contact, create_alias, create_customer, customer_body
from tests.server.sandbox import state
from tests.server.sandbox.conftest import ADMIN

Client = TestClient[Litestar]


def path(account: Account, tail: str = "") -> str:
    return f"/_patron/accounts/{account.account_id}/snapshots{tail}"


def save(client: Client, account: Account, name: str) -> dict[str, Any]:
    answer = client.post(path(account), json={"name": name}, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    saved: dict[str, Any] = answer.json()
    return saved


def restore(client: Client, account: Account, name: str) -> None:
    answer = client.post(path(account, f"/{name}/restore"), headers=ADMIN)
    assert answer.status_code == 204, answer.text
    assert answer.content == b""


def mutate(client: Client, account: Account, ids: dict[str, str]) -> None:
    """Change every kind of row `state.populate` made, and reuse its alias values."""
    headers = account.headers
    aliases = client.get(f"/api/customers/{ids['first']}/aliases", headers=headers).json()["items"]
    for alias in aliases:
        assert client.delete(f"/api/customer-aliases/{alias['id']}", headers=headers).status_code == 200
    stolen = create_customer(client, headers, customerAliases=["p-first"])
    body = customer_body(legalName="Renamed", contacts=[contact(name="Other")], customProperties={"tier": "bronze"})
    assert client.put(f"/api/customers/{ids['parent']}", json=body, headers=headers).status_code == 200
    create_alias(client, headers, stolen["id"], "p-first-2")
    assert client.post(f"/api/customers/{ids['first']}/archive", headers=headers).status_code == 200
    for _ in range(3):
        create_customer(client, headers)


class TestCreate:
    def test_answers_its_name_time_and_customers(self, client: Client, account: Account) -> None:
        state.populate(client, account)
        saved = save(client, account, "seeded-1.v2_~")
        assert set(saved) == {"name", "createdAt", "customers"}
        assert saved["name"] == "seeded-1.v2_~"
        assert saved["customers"] == 3
        assert datetime.fromisoformat(saved["createdAt"]) <= datetime.now(UTC)

    def test_an_empty_account_can_be_saved(self, client: Client, account: Account) -> None:
        assert save(client, account, "empty")["customers"] == 0

    def test_the_same_name_again_is_409(self, client: Client, account: Account) -> None:
        save(client, account, "once")
        answer = client.post(path(account), json={"name": "once"}, headers=ADMIN)
        assert answer.status_code == 409
        assert answer.json()["error"] == {"type": "Conflict", "message": "snapshot 'once' already exists"}

    def test_names_belong_to_their_account(self, client: Client, account: Account, other_account: Account) -> None:
        save(client, account, "shared")
        assert save(client, other_account, "shared")["name"] == "shared"

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"name": ""},
            {"name": "has space"},
            {"name": "a/b"},
            {"name": ".hidden"},
            {"name": "x" * 256},
            {"name": 1},
        ],
    )
    def test_a_bad_name_is_400_naming_it(self, client: Client, account: Account, body: dict[str, Any]) -> None:
        answer = client.post(path(account), json=body, headers=ADMIN)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["errors"][0]["field"] == "name"

    def test_an_account_holds_a_bounded_number(
        self, client: Client, account: Account, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(service, "MAX_SNAPSHOTS", 2)
        save(client, account, "a")
        save(client, account, "b")
        answer = client.post(path(account), json={"name": "c"}, headers=ADMIN)
        assert answer.status_code == 409
        assert "delete one first" in answer.json()["error"]["message"]
        assert client.delete(path(account, "/a"), headers=ADMIN).status_code == 204
        save(client, account, "c")

    def test_a_snapshot_holds_a_bounded_number_of_customers(
        self, client: Client, account: Account, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(service, "MAX_CUSTOMERS", 2)
        state.populate(client, account)
        answer = client.post(path(account), json={"name": "big"}, headers=ADMIN)
        assert answer.status_code == 409
        assert "at most 2" in answer.json()["error"]["message"]


class TestList:
    def test_lists_in_creation_order(self, client: Client, account: Account, other_account: Account) -> None:
        first, second = save(client, account, "b-first"), save(client, account, "a-second")
        save(client, other_account, "theirs")
        assert client.get(path(account), headers=ADMIN).json() == {"items": [first, second]}

    def test_none_yet_is_an_empty_list(self, client: Client, account: Account) -> None:
        assert client.get(path(account), headers=ADMIN).json() == {"items": []}


class TestRestore:
    def test_brings_back_exactly_the_saved_state(
        self, client: Client, database: Database, database_url: str, account: Account, tmp_path: Path
    ) -> None:
        ids = state.populate(client, account)
        before = state.export(database_url, account, tmp_path), state.registry(database, account)
        save(client, account, "seeded")
        mutate(client, account, ids)
        assert state.export(database_url, account, tmp_path) != before[0]
        restore(client, account, "seeded")
        assert (state.export(database_url, account, tmp_path), state.registry(database, account)) == before
        with database.read() as tx:
            assert consistency.check(tx) == []

    def test_the_api_serves_the_restored_state(self, client: Client, account: Account) -> None:
        ids = state.populate(client, account)
        save(client, account, "seeded")
        mutate(client, account, ids)
        restore(client, account, "seeded")
        headers = account.headers
        assert client.get("/api/customers", headers=headers).json()["pagination"]["totalResultSize"] == 2
        found = client.get("/api/customers/by-alias/p-first", headers=headers)
        assert found.json()["id"] == ids["first"]
        keys = client.get("/api/customer-custom-property-keys", headers=headers).json()["items"]
        assert sorted(keys) == ["region", "tier"]
        # New writes continue from the restored counters and alias values.
        taken = client.post("/api/customers", json=customer_body(customerAliases=["p-first"]), headers=headers)
        assert taken.status_code == 409
        created = client.post("/api/customers", json=customer_body(customerAliases=["fresh"]), headers=headers)
        assert created.status_code == 201
        assert client.get("/api/customers", headers=headers).json()["pagination"]["totalResultSize"] == 3

    def test_restores_an_empty_state(self, client: Client, database: Database, account: Account) -> None:
        save(client, account, "empty")
        state.populate(client, account)
        restore(client, account, "empty")
        assert state.registry(database, account) == {table.name: [] for table in tables.ACCOUNT_DATA}
        assert client.get("/api/customers", headers=account.headers).json()["pagination"]["totalResultSize"] == 0

    def test_restoring_twice_gives_the_same_state(self, client: Client, database: Database, account: Account) -> None:
        state.populate(client, account)
        save(client, account, "seeded")
        restore(client, account, "seeded")
        once = state.registry(database, account)
        restore(client, account, "seeded")
        assert state.registry(database, account) == once

    def test_forgets_idempotency_keys(self, client: Client, account: Account) -> None:
        save(client, account, "empty")
        keyed = {**account.headers, "Idempotency-Key": "k"}
        assert client.post("/api/customers", json=customer_body(legalName="One"), headers=keyed).status_code == 201
        restore(client, account, "empty")
        again = client.post("/api/customers", json=customer_body(legalName="Two"), headers=keyed)
        assert again.status_code == 201
        assert "idempotent-replayed" not in again.headers
        assert again.json()["legalName"] == "Two"

    def test_keeps_credentials_and_the_test_clock(self, client: Client, database: Database, account: Account) -> None:
        save(client, account, "empty")
        frozen = datetime(2030, 1, 1, tzinfo=UTC)
        with database.write() as tx:
            a = tables.account.c
            tx.execute(update(tables.account).where(a.id == uuid.UUID(account.account_id)).values(frozen_at=frozen))
        restore(client, account, "empty")
        item = client.get("/_patron/accounts", headers=ADMIN).json()["items"][0]
        assert (item["clientIds"], item["frozenTime"]) == ([account.client_id], "2030-01-01T00:00:00.000Z")

    def test_another_account_is_untouched(
        self,
        client: Client,
        database: Database,
        database_url: str,
        account: Account,
        other_account: Account,
        tmp_path: Path,
    ) -> None:
        save(client, account, "empty")
        state.populate(client, account)
        state.populate(client, other_account)
        before = state.export(database_url, other_account, tmp_path), state.rows(database, other_account)
        restore(client, account, "empty")
        assert (state.export(database_url, other_account, tmp_path), state.rows(database, other_account)) == before

    def test_another_accounts_snapshot_is_404(self, client: Client, account: Account, other_account: Account) -> None:
        save(client, account, "mine")
        answer = client.post(path(other_account, "/mine/restore"), headers=ADMIN)
        assert answer.status_code == 404
        assert answer.json()["error"] == {"type": "NotFound", "message": "snapshot 'mine' not found"}

    def test_an_older_snapshot_restores_into_a_changed_schema(
        self, client: Client, database: Database, account: Account
    ) -> None:
        """Kept by column name: a column the tables no longer have is dropped, one they
        gained takes its default (here: a label left out comes back as none), a table
        they no longer have is skipped."""
        ids = state.populate(client, account)
        save(client, account, "old")
        ident, s = uuid.UUID(account.account_id), tables.sandbox_snapshot.c
        with database.write() as tx:
            where = (s.account_id == ident, s.name == "old")
            content = repository.unpack(tx.execute(select(s.content).where(*where)).scalar_one())
            customers = content.tables["customers"]
            at = customers.columns.index("label")
            older = repository.Dumped(
                [*customers.columns[:at], "retired", *customers.columns[at + 1 :]],
                [[*row[:at], "gone", *row[at + 1 :]] for row in customers.rows],
            )
            changed = {**content.tables, "customers": older, "retired_table": older}
            packed = repository.pack(repository.Content(content.format, changed))
            tx.execute(update(tables.sandbox_snapshot).where(*where).values(content=packed))
        restore(client, account, "old")
        second = client.get(f"/api/customers/{ids['second']}", headers=account.headers).json()
        assert "label" not in second
        assert second["legalName"].startswith("Customer")

    def test_a_reference_moved_since_is_restored_too(
        self, client: Client, database: Database, database_url: str, account: Account, tmp_path: Path
    ) -> None:
        """A contact moved onto a customer made after the snapshot (no API call does this; a
        future table might): no row-by-row change can undo it, so the restore starts again
        from nothing, with the same result."""
        ids = state.populate(client, account)
        before = state.export(database_url, account, tmp_path), state.registry(database, account)
        save(client, account, "seeded")
        later = create_customer(client, account.headers)
        with database.write() as tx:
            ct = tables.contact.c
            moved = update(tables.contact).where(ct.account_id == uuid.UUID(account.account_id))
            tx.execute(
                moved.where(ct.customer_id == uuid.UUID(ids["parent"])).values(customer_id=uuid.UUID(later["id"]))
            )
        restore(client, account, "seeded")
        assert (state.export(database_url, account, tmp_path), state.registry(database, account)) == before

    def test_survives_a_restart(
        self, client: Client, settings: Settings, database_url: str, account: Account, tmp_path: Path
    ) -> None:
        ids = state.populate(client, account)
        saved = state.export(database_url, account, tmp_path)
        save(client, account, "kept")
        mutate(client, account, ids)
        restarted = create_app(settings)
        try:
            with TestClient(restarted) as fresh:
                assert [item["name"] for item in fresh.get(path(account), headers=ADMIN).json()["items"]] == ["kept"]
                restore(fresh, account, "kept")
        finally:
            restarted.state.database.close()
        assert state.export(database_url, account, tmp_path) == saved


class TestDelete:
    def test_a_deleted_snapshot_is_gone(self, client: Client, account: Account) -> None:
        save(client, account, "gone")
        kept = save(client, account, "kept")
        answer = client.delete(path(account, "/gone"), headers=ADMIN)
        assert answer.status_code == 204
        assert client.get(path(account), headers=ADMIN).json() == {"items": [kept]}
        assert client.post(path(account, "/gone/restore"), headers=ADMIN).status_code == 404
        assert client.delete(path(account, "/gone"), headers=ADMIN).status_code == 404

    def test_the_name_is_free_again(self, client: Client, account: Account) -> None:
        save(client, account, "again")
        assert client.delete(path(account, "/again"), headers=ADMIN).status_code == 204
        save(client, account, "again")

    def test_the_accounts_state_stays(self, client: Client, account: Account) -> None:
        state.populate(client, account)
        save(client, account, "s")
        assert client.delete(path(account, "/s"), headers=ADMIN).status_code == 204
        assert client.get("/api/customers", headers=account.headers).json()["pagination"]["totalResultSize"] == 2


_UNKNOWN = str(uuid.UUID(int=9))


class TestUnknownAndUnauthorised:
    @pytest.mark.parametrize("ident", [_UNKNOWN, "not-an-id"])
    @pytest.mark.parametrize(("method", "tail"), [("POST", ""), ("GET", ""), ("POST", "/s/restore"), ("DELETE", "/s")])
    def test_an_unknown_or_malformed_account_is_404(self, client: Client, ident: str, method: str, tail: str) -> None:
        body = {"name": "s"} if (method, tail) == ("POST", "") else None
        answer = client.request(method, f"/_patron/accounts/{ident}/snapshots{tail}", json=body, headers=ADMIN)
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"] == {"type": "NotFound", "message": f"account {ident!r} not found"}

    @pytest.mark.parametrize(("method", "tail"), [("POST", "/nope/restore"), ("DELETE", "/nope"), ("DELETE", "/a~b")])
    def test_an_unknown_snapshot_is_404(self, client: Client, account: Account, method: str, tail: str) -> None:
        answer = client.request(method, path(account, tail), headers=ADMIN)
        assert answer.status_code == 404
        assert answer.json()["error"]["type"] == "NotFound"

    @pytest.mark.parametrize(("method", "tail"), [("POST", ""), ("GET", ""), ("POST", "/s/restore"), ("DELETE", "/s")])
    def test_a_wrong_token_is_401_and_changes_nothing(
        self, client: Client, account: Account, method: str, tail: str
    ) -> None:
        save(client, account, "s")
        body = {"name": "t"} if (method, tail) == ("POST", "") else None
        wrong = {"Authorization": "Bearer wrong"}
        assert client.request(method, path(account, tail), json=body, headers=wrong).status_code == 401
        assert [item["name"] for item in client.get(path(account), headers=ADMIN).json()["items"]] == ["s"]
