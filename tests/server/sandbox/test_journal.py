"""The request journal through HTTP: every `/api` request of an account, newest first, with
its bodies and never its credentials."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select, update

from patron.server.config import Settings
from patron.server.db import tables
from patron.server.db.engine import Database
from tests.conftest import NO_LIMITS, SECRET_KEY, Account
from tests.factories import customer_body
from tests.server.sandbox.conftest import ADMIN

Client = TestClient[Litestar]
MISSING = "01890000-0000-7000-8000-000000000000"


def journal(client: Client, account: Account, limit: int | None = None) -> list[dict[str, Any]]:
    query = "" if limit is None else f"?limit={limit}"
    answer = client.get(f"/_patron/accounts/{account.account_id}/requests{query}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def stored(database: Database, account: Account | None = None) -> int:
    query = select(func.count()).select_from(tables.sandbox_request)
    if account is not None:
        query = query.where(tables.sandbox_request.c.account_id == uuid.UUID(account.account_id))
    with database.read() as tx:
        return int(tx.execute(query).scalar_one())


class TestAnEntry:
    def test_holds_the_request_and_its_answer(self, client: Client, account: Account) -> None:
        body = customer_body(legalName="Acme Ltd")
        answer = client.post("/api/customers?x=1&y=%C3%A9", json=body, headers=account.headers)
        [entry] = journal(client, account)
        assert entry["method"] == "POST"
        assert entry["path"] == "/api/customers"
        assert entry["query"] == "x=1&y=%C3%A9"
        assert entry["status"] == 201
        assert entry["requestId"] == answer.headers["request-id"]
        assert json.loads(entry["requestBody"]) == body
        assert json.loads(entry["responseBody"]) == answer.json()
        assert entry["durationMs"] >= 0
        assert set(entry) == {
            "id",
            "requestId",
            "at",
            "method",
            "path",
            "query",
            "status",
            "durationMs",
            "requestBody",
            "responseBody",
        }

    def test_keeps_the_callers_request_id(self, client: Client, account: Account) -> None:
        client.get("/api/customers", headers={**account.headers, "Request-Id": "r" * 128})
        assert journal(client, account)[0]["requestId"] == "r" * 128

    def test_at_is_the_wall_clock_whatever_the_accounts_test_clock(
        self, client: Client, account: Account, database: Database
    ) -> None:
        with database.write() as tx:
            frozen = datetime(2030, 1, 1, tzinfo=UTC)
            tx.execute(
                update(tables.account)
                .where(tables.account.c.id == uuid.UUID(account.account_id))
                .values(frozen_at=frozen)
            )
        created = client.post("/api/customers", json=customer_body(), headers=account.headers).json()
        assert created["createdAt"] == "2030-01-01T00:00:00.000Z"
        [entry] = journal(client, account)
        assert entry["at"] < "2030"
        assert entry["at"].endswith("Z")

    def test_never_holds_the_authorization_header_or_the_secret(self, client: Client, account: Account) -> None:
        client.post("/api/customers", json=customer_body(), headers=account.headers)
        client.get("/api/customers", headers={**account.headers, "Idempotency-Key": "k"})
        page = client.get(f"/_patron/accounts/{account.account_id}/requests", headers=ADMIN).text
        token = account.headers["Authorization"].split()[1]
        for secret in (account.client_secret, token, "Basic", "authorization", "Authorization"):
            assert secret not in page

    def test_a_body_past_64_kib_is_cut_with_a_marker(self, client: Client, account: Account) -> None:
        body = customer_body(padding="x" * 100_000)  # an unknown field: ignored by the API
        content = json.dumps(body).encode()
        headers = {**account.headers, "Content-Type": "application/json"}
        assert client.post("/api/customers", content=content, headers=headers).status_code == 201
        [entry] = journal(client, account)
        size = len(content)
        assert entry["requestBody"].endswith(f"\n[patron: cut at 65536 of {size} bytes]")
        assert entry["requestBody"].startswith('{"legalName"')
        assert json.loads(entry["responseBody"])["legalName"] == body["legalName"]

    def test_a_body_that_is_not_utf_8_is_kept_with_replacement_characters(
        self, client: Client, account: Account
    ) -> None:
        headers = {**account.headers, "Content-Type": "application/json"}
        answer = client.post("/api/customers", content=b'{"legalName": "\xff\x00"}', headers=headers)
        assert answer.status_code == 400
        [entry] = journal(client, account)
        assert entry["requestBody"] == '{"legalName": "\ufffd\ufffd"}'
        assert entry["status"] == 400


class TestWhatIsJournaled:
    def test_newest_first(self, client: Client, account: Account) -> None:
        for value in ("a", "b", "c"):
            client.get(f"/api/customers/by-alias/{value}", headers=account.headers)
        assert [e["path"] for e in journal(client, account)] == [f"/api/customers/by-alias/{v}" for v in "cba"]

    def test_limit(self, client: Client, account: Account) -> None:
        for value in ("a", "b", "c"):
            client.get(f"/api/customers/by-alias/{value}", headers=account.headers)
        assert [e["path"] for e in journal(client, account, 2)] == [
            "/api/customers/by-alias/c",
            "/api/customers/by-alias/b",
        ]

    def test_errors_guard_refusals_faults_and_prefer_answers_with_the_status_they_got(
        self, client: Client, account: Account
    ) -> None:
        faults = f"/_patron/accounts/{account.account_id}/faults"
        client.post(faults, json={"path": "/api/customers/*/aliases", "status": 503, "count": 1}, headers=ADMIN)
        client.get(f"/api/customers/{MISSING}", headers=account.headers)
        client.post("/api/customers", content=b"hi", headers={**account.headers, "Content-Type": "text/plain"})
        client.get(f"/api/customers/{MISSING}/aliases", headers=account.headers)
        client.get("/api/customers", headers={**account.headers, "Prefer": "code=429"})
        client.get("/api/customers", headers={**account.headers, "Prefer": "code=nope"})
        entries = journal(client, account)
        assert [e["status"] for e in entries] == [400, 429, 503, 415, 404]
        assert json.loads(entries[2]["responseBody"])["error"]["type"] == "ServiceUnavailable"
        assert json.loads(entries[0]["responseBody"])["error"]["errors"][0]["field"] == "Prefer"

    def test_a_faulted_requests_body_is_journaled(self, client: Client, account: Account) -> None:
        faults = f"/_patron/accounts/{account.account_id}/faults"
        client.post(faults, json={"method": "POST", "path": "/api/customers", "status": 503}, headers=ADMIN)
        body = customer_body()
        assert client.post("/api/customers", json=body, headers=account.headers).status_code == 503
        assert json.loads(journal(client, account)[0]["requestBody"]) == body

    def test_only_the_accounts_own_requests(self, client: Client, account: Account, other_account: Account) -> None:
        client.get("/api/customers", headers=account.headers)
        client.get("/api/customers/by-alias/theirs", headers=other_account.headers)
        client.get("/api/customers", headers={"Authorization": "Basic bm86cGU="})  # no account: a 401
        assert [e["path"] for e in journal(client, account)] == ["/api/customers"]
        assert [e["path"] for e in journal(client, other_account)] == ["/api/customers/by-alias/theirs"]

    def test_not_paths_no_route_serves(self, client: Client, account: Account) -> None:
        assert client.get("/api/nothing-here", headers=account.headers).status_code == 404
        assert journal(client, account) == []

    def test_not_the_control_planes_own_requests(self, client: Client, account: Account) -> None:
        client.get(f"/_patron/accounts/{account.account_id}/faults", headers=ADMIN)
        assert journal(client, account) == []

    def test_not_the_accounts_own_patron_tools(self, client: Client, account: Account) -> None:
        """The webhook log and flush are the test's tools, not the code under test: never
        journaled, and `Prefer` does not act on them."""
        headers = {**account.headers, "Prefer": "code=503"}
        assert client.get("/_patron/events", headers=headers).status_code == 200
        assert client.post("/_patron/webhooks/flush", headers=account.headers).status_code == 200
        assert journal(client, account) == []

    def test_keeps_the_newest_1000_at_least_and_drops_the_oldest(
        self, client: Client, account: Account, database: Database
    ) -> None:
        for n in range(1150):
            client.get(f"/api/customers/by-alias/n{n}", headers=account.headers)
        entries = journal(client, account, 1000)
        assert [e["path"] for e in entries] == [f"/api/customers/by-alias/n{n}" for n in range(1149, 149, -1)]
        assert 1000 <= stored(database, account) <= 1100
        with database.read() as tx:
            paths = set(tx.execute(select(tables.sandbox_request.c.path)).scalars())
        assert "/api/customers/by-alias/n0" not in paths


class TestTheEndpoint:
    @pytest.mark.parametrize("limit", ["0", "1001", "x", "-1", "1.5"])
    def test_a_bad_limit_is_400_naming_it(self, client: Client, account: Account, limit: str) -> None:
        answer = client.get(f"/_patron/accounts/{account.account_id}/requests?limit={limit}", headers=ADMIN)
        assert answer.status_code == 400
        assert [e["field"] for e in answer.json()["error"]["errors"]] == ["limit"]

    def test_the_limit_defaults_to_100(self, client: Client, account: Account) -> None:
        for n in range(101):
            client.get(f"/api/customers/by-alias/n{n}", headers=account.headers)
        assert len(journal(client, account)) == 100
        assert len(journal(client, account, 1000)) == 101

    @pytest.mark.parametrize("headers", [{"Authorization": "Bearer wrong"}, {}])
    def test_a_wrong_token_is_401(self, client: Client, account: Account, headers: dict[str, str]) -> None:
        answer = client.get(f"/_patron/accounts/{account.account_id}/requests", headers=headers)
        assert answer.status_code == 401

    def test_an_accounts_own_credentials_are_401(self, client: Client, account: Account) -> None:
        answer = client.get(f"/_patron/accounts/{account.account_id}/requests", headers=account.headers)
        assert answer.status_code == 401

    @pytest.mark.parametrize("account_id", [MISSING, "not-an-id"])
    def test_an_unknown_or_malformed_account_is_404(self, client: Client, account_id: str) -> None:
        answer = client.get(f"/_patron/accounts/{account_id}/requests", headers=ADMIN)
        assert answer.status_code == 404
        assert answer.json()["error"]["type"] == "NotFound"


class TestFailingToRecord:
    def test_is_logged_and_the_caller_gets_its_answer(
        self, app: Litestar, client: Client, account: Account, monkeypatch: pytest.MonkeyPatch, caplog: Any
    ) -> None:
        def broken(*_: Any) -> None:
            raise RuntimeError("the journal is broken")

        monkeypatch.setattr(type(app.state.database), "write", broken)
        with caplog.at_level(logging.WARNING, logger="patron.sandbox"):
            answer = client.get("/api/customers", headers=account.headers)
        assert answer.status_code == 200
        assert answer.headers["request-id"] in caplog.text
        monkeypatch.undo()
        assert journal(client, account) == []


class TestWithTheControlPlaneOff:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return Settings(database_url=database_url, secret_key=SECRET_KEY, **NO_LIMITS)

    def test_nothing_is_journaled(self, client: Client, account: Account, database: Database) -> None:
        client.get("/api/customers", headers=account.headers)
        client.post("/api/customers", json=customer_body(), headers=account.headers)
        assert stored(database) == 0
