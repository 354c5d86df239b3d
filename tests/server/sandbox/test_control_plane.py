"""The control plane's two roles at the edge: the operator's bearer token, and nothing of it
without one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import update

from patron.server.app import create_app
from patron.server.config import Settings
from patron.server.db import tables
from patron.server.db.engine import Database
from tests.conftest import NO_LIMITS, SECRET_KEY, Account
from tests.factories import create_customer
from tests.server.sandbox.conftest import ADMIN, ADMIN_TOKEN

Client = TestClient[Litestar]


class TestOperatorToken:
    @pytest.mark.parametrize(
        "authorization",
        [None, "Bearer wrong", f"Basic {ADMIN_TOKEN}", f"bearer {ADMIN_TOKEN}x", "Bearer ", ""],
    )
    def test_a_missing_or_wrong_token_is_401_with_sequences_error_body(
        self, client: Client, authorization: str | None
    ) -> None:
        headers = {} if authorization is None else {"Authorization": authorization}
        answer = client.get("/_patron/accounts", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"]["type"] == "Unauthorized"
        assert answer.headers["www-authenticate"] == 'Bearer realm="patron"'

    def test_an_accounts_basic_credentials_are_not_the_operators(self, client: Client, account: Account) -> None:
        assert client.get("/_patron/accounts", headers=account.headers).status_code == 401

    def test_the_scheme_is_case_insensitive(self, client: Client) -> None:
        assert client.get("/_patron/accounts", headers={"Authorization": f"bearer {ADMIN_TOKEN}"}).status_code != 401

    def test_the_api_still_takes_only_basic_credentials(self, client: Client) -> None:
        assert client.get("/api/customers", headers=ADMIN).status_code == 401


class TestWithoutAToken:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return Settings(database_url=database_url, secret_key=SECRET_KEY, **NO_LIMITS)

    @pytest.mark.parametrize("path", ["/_patron/accounts", "/_patron/accounts/x/reset"])
    def test_the_control_planes_paths_are_404(self, client: Client, path: str) -> None:
        answer = client.get(path, headers=ADMIN)
        assert answer.status_code == 404
        assert answer.json()["error"]["type"] == "NotFound"

    def test_an_account_s_own_paths_still_take_its_credentials(self, client: Client, account: Account) -> None:
        # The webhook log (docs/webhooks.md) is the account's, not the control plane's.
        assert client.get("/_patron/events", headers=ADMIN).status_code == 401
        assert client.get("/_patron/events", headers=account.headers).status_code == 200

    def test_the_api_is_unchanged(self, client: Client, account: Account) -> None:
        assert client.get("/api/customers", headers=account.headers).status_code == 200

    def test_a_test_clock_left_in_the_database_is_not_applied(
        self, client: Client, database: Database, account: Account
    ) -> None:
        with database.write() as tx:
            frozen = tables.account.c.id == uuid.UUID(account.account_id)
            tx.execute(update(tables.account).where(frozen).values(frozen_at=datetime(2030, 1, 1, tzinfo=UTC)))
        created = create_customer(client, account.headers)
        assert not created["createdAt"].startswith("2030")


def test_an_empty_token_turns_the_control_plane_off(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, secret_key=SECRET_KEY, admin_token="", **NO_LIMITS))
    with TestClient(app) as client:
        assert client.get("/_patron/accounts", headers={"Authorization": "Bearer "}).status_code == 404
    app.state.database.close()
