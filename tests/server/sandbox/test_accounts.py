"""The operator's accounts over HTTP: `POST`, `GET` and `DELETE /_patron/accounts`."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import insert, update

from patron.server import clock
from patron.server.accounts import service as accounts
from patron.server.db import consistency, tables
from patron.server.db.engine import Database
from tests.conftest import Account
from tests.factories import create_customer
from tests.server.sandbox import state
from tests.server.sandbox.conftest import ADMIN

Client = TestClient[Litestar]
_JSON = {**ADMIN, "Content-Type": "application/json"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def create(client: Client, **body: Any) -> dict[str, Any]:
    answer = client.post("/_patron/accounts", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def field_of(answer: Any) -> str:
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "ValidationError"
    return str(error["errors"][0]["field"])


class TestCreate:
    def test_a_new_account_serves_the_api_with_its_credentials(self, client: Client) -> None:
        created = create(client, name="ci")
        assert set(created) == {"accountId", "clientId", "clientSecret"}
        uuid.UUID(created["accountId"])
        headers = basic(created["clientId"], created["clientSecret"])
        listed = client.get("/api/customers", headers=headers)
        assert listed.status_code == 200
        assert listed.json()["pagination"]["totalResultSize"] == 0

    def test_chosen_credentials_are_kept_as_given(self, client: Client) -> None:
        created = create(client, name="ci", clientId="ci-fixed.id_1", clientSecret="s3cret!~")
        assert (created["clientId"], created["clientSecret"]) == ("ci-fixed.id_1", "s3cret!~")
        assert client.get("/api/customers", headers=basic("ci-fixed.id_1", "s3cret!~")).status_code == 200

    def test_a_chosen_client_id_alone_gets_a_random_secret(self, client: Client) -> None:
        created = create(client, name="ci", clientId="only-the-id")
        assert len(created["clientSecret"]) >= 32
        assert client.get("/api/customers", headers=basic("only-the-id", created["clientSecret"])).status_code == 200

    def test_a_client_id_in_use_is_409_and_makes_no_account(self, client: Client, account: Account) -> None:
        create(client, name="first", clientId="taken")
        for client_id in ("taken", account.client_id):
            answer = client.post("/_patron/accounts", json={"name": "second", "clientId": client_id}, headers=ADMIN)
            assert answer.status_code == 409
            assert answer.json()["error"] == {
                "type": "Conflict",
                "message": f"clientId {client_id!r} is already in use",
            }
        names = [item["name"] for item in client.get("/_patron/accounts", headers=ADMIN).json()["items"]]
        assert names == ["acme", "first"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "name"),
            ({"name": ""}, "name"),
            ({"name": "   "}, "name"),
            ({"name": "x" * 1001}, "name"),
            ({"name": "nul\x00"}, "name"),
            ({"name": 7}, "name"),
            ({"name": "ci", "clientId": ""}, "clientId"),
            ({"name": "ci", "clientId": "has:colon"}, "clientId"),
            ({"name": "ci", "clientId": "x" * 65}, "clientId"),
            ({"name": "ci", "clientSecret": "has space"}, "clientSecret"),
            ({"name": "ci", "clientSecret": "x" * 256}, "clientSecret"),
        ],
    )
    def test_bad_input_is_400_naming_the_field(self, client: Client, body: dict[str, Any], field: str) -> None:
        assert field_of(client.post("/_patron/accounts", json=body, headers=ADMIN)) == field

    def test_a_body_that_is_not_an_object_is_400(self, client: Client) -> None:
        assert client.post("/_patron/accounts", content=b"[]", headers=_JSON).status_code == 400

    def test_a_wrong_token_is_401_and_makes_nothing(self, client: Client) -> None:
        answer = client.post("/_patron/accounts", json={"name": "x"}, headers={"Authorization": "Bearer nope"})
        assert answer.status_code == 401
        assert client.get("/_patron/accounts", headers=ADMIN).json() == {"items": []}


class TestList:
    def test_accounts_come_in_creation_order_with_their_live_client_ids(
        self, client: Client, database: Database
    ) -> None:
        first = create(client, name="one", clientId="one-a")
        second = create(client, name="two")
        with database.write() as tx:
            extra = accounts.create_credential(tx, database.key, uuid.UUID(first["accountId"]), client_id="one-b")
            accounts.create_credential(tx, database.key, uuid.UUID(first["accountId"]), client_id="one-c")
            accounts.revoke_credential(tx, "one-c")
        items = client.get("/_patron/accounts", headers=ADMIN).json()["items"]
        assert [item["accountId"] for item in items] == [first["accountId"], second["accountId"]]
        assert items[0]["clientIds"] == ["one-a", extra.client_id]
        assert items[1]["clientIds"] == [second["clientId"]]
        assert items[0]["name"] == "one"
        assert items[0]["frozenTime"] is None
        assert datetime.fromisoformat(items[0]["createdAt"]) <= datetime.now(UTC)

    def test_a_frozen_clock_shows(self, client: Client, database: Database, account: Account) -> None:
        moment = datetime(2030, 1, 1, tzinfo=UTC)
        with database.write() as tx:
            a = tables.account.c
            tx.execute(update(tables.account).where(a.id == uuid.UUID(account.account_id)).values(frozen_at=moment))
        items = client.get("/_patron/accounts", headers=ADMIN).json()["items"]
        assert items == [
            {
                "accountId": account.account_id,
                "name": "acme",
                "createdAt": items[0]["createdAt"],
                "clientIds": [account.client_id],
                "frozenTime": "2030-01-01T00:00:00.000Z",
            }
        ]

    def test_pages_follow_each_other_by_account_id(self, client: Client) -> None:
        made = [create(client, name=f"a{n}")["accountId"] for n in range(5)]
        seen: list[str] = []
        after: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": 2, **({"after": after} if after else {})}
            page = client.get("/_patron/accounts", params=params, headers=ADMIN).json()["items"]
            if not page:
                break
            assert len(page) <= 2
            seen += [item["accountId"] for item in page]
            after = page[-1]["accountId"]
        assert seen == made

    def test_after_a_deleted_account_still_pages(self, client: Client) -> None:
        made = [create(client, name=f"a{n}")["accountId"] for n in range(3)]
        assert client.delete(f"/_patron/accounts/{made[0]}", headers=ADMIN).status_code == 204
        page = client.get("/_patron/accounts", params={"after": made[0]}, headers=ADMIN).json()["items"]
        assert [item["accountId"] for item in page] == made[1:]

    @pytest.mark.parametrize(
        ("params", "field"),
        [({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"limit": "x"}, "limit"), ({"after": "nope"}, "after")],
    )
    def test_bad_paging_is_400_naming_the_parameter(self, client: Client, params: dict[str, Any], field: str) -> None:
        assert field_of(client.get("/_patron/accounts", params=params, headers=ADMIN)) == field

    def test_the_largest_page_is_allowed(self, client: Client, account: Account) -> None:
        answer = client.get("/_patron/accounts", params={"limit": 1000}, headers=ADMIN)
        assert [item["accountId"] for item in answer.json()["items"]] == [account.account_id]


class TestDelete:
    def test_the_account_and_every_row_of_it_go(
        self, client: Client, database: Database, account: Account, tmp_path: Path
    ) -> None:
        state.populate(client, account)
        create_customer(client, {**account.headers, "Idempotency-Key": "k1"})
        assert client.post(f"/_patron/accounts/{account.account_id}/snapshots", json={"name": "s"}, headers=ADMIN)
        _sandbox_rows(database, account)
        assert any(state.rows(database, account).values())

        assert client.delete(f"/_patron/accounts/{account.account_id}", headers=ADMIN).status_code == 204
        assert not any(state.rows(database, account).values())
        assert client.get("/_patron/accounts", headers=ADMIN).json() == {"items": []}

    def test_its_credentials_are_401_on_the_api(self, client: Client, account: Account) -> None:
        assert client.get("/api/customers", headers=account.headers).status_code == 200
        assert client.delete(f"/_patron/accounts/{account.account_id}", headers=ADMIN).status_code == 204
        assert client.get("/api/customers", headers=account.headers).status_code == 401

    def test_another_account_is_untouched(
        self,
        client: Client,
        database: Database,
        database_url: str,
        account: Account,
        other_account: Account,
        tmp_path: Path,
    ) -> None:
        state.populate(client, account, "a")
        state.populate(client, other_account, "a")
        before = state.export(database_url, other_account, tmp_path), state.rows(database, other_account)
        assert client.delete(f"/_patron/accounts/{account.account_id}", headers=ADMIN).status_code == 204
        after = state.export(database_url, other_account, tmp_path), state.rows(database, other_account)
        assert after == before
        assert client.get("/api/customers", headers=other_account.headers).json()["pagination"]["totalResultSize"] == 2
        with database.read() as tx:
            assert consistency.check(tx) == []

    def test_the_chosen_client_id_is_free_again(self, client: Client) -> None:
        created = create(client, name="ci", clientId="reused")
        assert client.delete(f"/_patron/accounts/{created['accountId']}", headers=ADMIN).status_code == 204
        assert create(client, name="ci again", clientId="reused")["clientId"] == "reused"

    @pytest.mark.parametrize("ident", [str(uuid.UUID(int=1)), "not-an-id", "0"])
    def test_an_unknown_or_malformed_id_is_404(self, client: Client, ident: str) -> None:
        answer = client.delete(f"/_patron/accounts/{ident}", headers=ADMIN)
        assert answer.status_code == 404
        assert answer.json()["error"]["type"] == "NotFound"

    def test_a_second_delete_is_404(self, client: Client, account: Account) -> None:
        assert client.delete(f"/_patron/accounts/{account.account_id}", headers=ADMIN).status_code == 204
        assert client.delete(f"/_patron/accounts/{account.account_id}", headers=ADMIN).status_code == 404

    def test_a_wrong_token_is_401_and_deletes_nothing(self, client: Client, account: Account) -> None:
        answer = client.delete(f"/_patron/accounts/{account.account_id}", headers={"Authorization": "Bearer no"})
        assert answer.status_code == 401
        assert client.get("/api/customers", headers=account.headers).status_code == 200


def _sandbox_rows(database: Database, account: Account) -> None:
    """A fault and a journal entry of the account, as the sandbox's hooks store them."""
    ident, now = uuid.UUID(account.account_id), clock.utc_now()
    with database.write() as tx:
        fault = {
            "account_id": ident,
            "id": clock.new_id(),
            "path": "/api/customers/by-alias/unused",
            "status": 503,
            "created_at": now,
        }
        tx.execute(insert(tables.sandbox_fault).values(fault))
        entry = {
            "account_id": ident,
            "id": clock.new_wall_id(),
            "request_id": "r1",
            "at": now,
            "method": "GET",
            "path": "/api/customers",
            "query": "",
            "status": 200,
            "duration_ms": 1.0,
            "request_body": "",
            "response_body": "{}",
        }
        tx.execute(insert(tables.sandbox_request).values(entry))
