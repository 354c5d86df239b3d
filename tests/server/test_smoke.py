"""The first request a newcomer makes works end to end."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient

from tests.conftest import Account
from tests.factories import create_customer


class TestFirstRequests:
    def test_create_then_list_returns_the_customer(self, client: TestClient[Litestar], account: Account) -> None:
        created = create_customer(client, account.headers, legalName="Acme Ltd")
        listed = client.get("/api/customers", headers=account.headers).json()
        assert [item["id"] for item in listed["items"]] == [created["id"]]
        assert listed["pagination"] == {"totalResultSize": 1}
