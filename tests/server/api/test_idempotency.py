"""Idempotency-Key on POST /customer-aliases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.server import clock
from tests.conftest import Account
from tests.factories import create_customer

Client = TestClient[Litestar]


def post(client: Client, account: Account, body: dict[str, Any], key: str) -> Any:
    return client.post("/api/customer-aliases", json=body, headers={**account.headers, "Idempotency-Key": key})


class TestIdempotencyKey:
    def test_a_retry_replays_the_first_answer_and_creates_nothing(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        body = {"customerId": customer["id"], "value": "crm-1"}
        first = post(client, account, body, "key-1")
        again = post(client, account, body, "key-1")
        assert first.status_code == again.status_code == 201
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        aliases = client.get(f"/api/customers/{customer['id']}/aliases", headers=account.headers).json()["items"]
        assert len(aliases) == 1

    def test_the_same_key_with_another_body_is_400(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        post(client, account, {"customerId": customer["id"], "value": "a"}, "key-1")
        response = post(client, account, {"customerId": customer["id"], "value": "b"}, "key-1")
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "IdempotencyError"

    def test_keys_over_255_characters_are_400(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        response = post(client, account, {"customerId": customer["id"], "value": "a"}, "k" * 256)
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == "Idempotency-Key"
        assert post(client, account, {"customerId": customer["id"], "value": "a"}, "k" * 255).status_code == 201

    def test_keys_are_per_account(self, client: Client, account: Account, other_account: Account) -> None:
        mine = create_customer(client, account.headers)
        theirs = create_customer(client, other_account.headers)
        assert post(client, account, {"customerId": mine["id"], "value": "a"}, "shared").status_code == 201
        response = post(client, other_account, {"customerId": theirs["id"], "value": "a"}, "shared")
        assert response.status_code == 201
        assert response.json()["customerId"] == theirs["id"]

    def test_failures_are_not_stored(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers, customerAliases=["taken"])
        body = {"customerId": customer["id"], "value": "taken"}
        assert post(client, account, body, "key-1").status_code == 409
        [taken] = client.get("/api/customer-aliases", headers=account.headers).json()["items"]
        client.delete(f"/api/customer-aliases/{taken['id']}", headers=account.headers)
        assert post(client, account, body, "key-1").status_code == 201

    def test_after_24_hours_the_key_runs_again(
        self, client: Client, account: Account, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        customer = create_customer(client, account.headers)
        first = post(client, account, {"customerId": customer["id"], "value": "a"}, "key-1")
        real_now = clock.utc_now
        monkeypatch.setattr(clock, "utc_now", lambda: real_now() + timedelta(hours=23, minutes=59))
        assert post(client, account, {"customerId": customer["id"], "value": "a"}, "key-1").content == first.content
        monkeypatch.setattr(clock, "utc_now", lambda: real_now() + timedelta(hours=24, seconds=1))
        rerun = post(client, account, {"customerId": customer["id"], "value": "a"}, "key-1")
        assert rerun.status_code == 409  # the work ran again: the value is now taken
