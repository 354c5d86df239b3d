"""Customer aliases: list, create, update, delete, and one customer's aliases."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.conftest import Account
from tests.factories import create_alias, create_customer

Client = TestClient[Litestar]
MISSING = "01890000-0000-7000-8000-000000000000"


class TestCreateAlias:
    def test_returns_201_with_the_alias(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        response = client.post(
            "/api/customer-aliases",
            json={"customerId": customer["id"], "value": "crm-7", "label": "CRM ID"},
            headers=account.headers,
        )
        assert response.status_code == 201
        alias = response.json()
        assert alias["customerId"] == customer["id"]
        assert alias["sequenceAccountId"] == account.account_id
        assert alias["value"] == "crm-7"
        assert alias["label"] == "CRM ID"
        assert "deletedAt" not in alias

    def test_the_alias_resolves_its_customer(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        create_alias(client, account.headers, customer["id"], "crm-7")
        assert client.get("/api/customers/by-alias/crm-7", headers=account.headers).json()["id"] == customer["id"]

    def test_duplicate_value_is_409(self, client: Client, account: Account) -> None:
        first = create_customer(client, account.headers)
        second = create_customer(client, account.headers)
        create_alias(client, account.headers, first["id"], "crm-7")
        response = client.post(
            "/api/customer-aliases", json={"customerId": second["id"], "value": "crm-7"}, headers=account.headers
        )
        assert response.status_code == 409
        assert response.json()["error"]["type"] == "Conflict"

    def test_another_customers_id_cannot_be_an_alias(self, client: Client, account: Account) -> None:
        first = create_customer(client, account.headers)
        second = create_customer(client, account.headers)
        response = client.post(
            "/api/customer-aliases", json={"customerId": second["id"], "value": first["id"]}, headers=account.headers
        )
        assert response.status_code == 409

    def test_values_are_per_account(self, client: Client, account: Account, other_account: Account) -> None:
        mine = create_customer(client, account.headers)
        theirs = create_customer(client, other_account.headers)
        create_alias(client, account.headers, mine["id"], "shared")
        create_alias(client, other_account.headers, theirs["id"], "shared")
        assert client.get("/api/customers/by-alias/shared", headers=account.headers).json()["id"] == mine["id"]
        assert client.get("/api/customers/by-alias/shared", headers=other_account.headers).json()["id"] == theirs["id"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"value": "x"}, "customerId"),
            ({"customerId": "not-a-uuid", "value": "x"}, "customerId"),
            ({"customerId": MISSING, "value": "x"}, "customerId"),
            ({"customerId": None, "value": ""}, "customerId"),
        ],
    )
    def test_bad_customer_reference_is_400(
        self, client: Client, account: Account, body: dict[str, Any], field: str
    ) -> None:
        response = client.post("/api/customer-aliases", json=body, headers=account.headers)
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == field

    @pytest.mark.parametrize("value", ["", "   ", "x" * 256])
    def test_bad_values_are_400(self, client: Client, account: Account, value: str) -> None:
        customer = create_customer(client, account.headers)
        response = client.post(
            "/api/customer-aliases", json={"customerId": customer["id"], "value": value}, headers=account.headers
        )
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == "value"

    def test_legacy_fields_are_accepted_and_ignored(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        body = {"customerId": customer["id"], "value": "v", "sequenceAccountId": "someone-else", "deletedAt": "x"}
        response = client.post("/api/customer-aliases", json=body, headers=account.headers)
        assert response.status_code == 201
        assert response.json()["sequenceAccountId"] == account.account_id


class TestUpdateAlias:
    def test_changes_only_the_label(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        alias = create_alias(client, account.headers, customer["id"], "crm-7", label="old")
        response = client.put(
            f"/api/customer-aliases/{alias['id']}", json={"label": "new", "value": "hacked"}, headers=account.headers
        )
        assert response.status_code == 200
        assert response.json() == {**alias, "label": "new"}

    def test_empty_body_clears_the_label(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        alias = create_alias(client, account.headers, customer["id"], "crm-7", label="old")
        updated = client.put(f"/api/customer-aliases/{alias['id']}", json={}, headers=account.headers).json()
        assert "label" not in updated

    def test_unknown_alias_is_404(self, client: Client, account: Account) -> None:
        response = client.put(f"/api/customer-aliases/{MISSING}", json={"label": "x"}, headers=account.headers)
        assert response.status_code == 404


class TestDeleteAlias:
    def test_returns_the_alias_with_deleted_at_and_frees_the_value(self, client: Client, account: Account) -> None:
        first = create_customer(client, account.headers)
        second = create_customer(client, account.headers)
        alias = create_alias(client, account.headers, first["id"], "crm-7")
        response = client.delete(f"/api/customer-aliases/{alias['id']}", headers=account.headers)
        assert response.status_code == 200
        deleted = response.json()
        assert deleted["id"] == alias["id"]
        assert deleted["deletedAt"].endswith("Z")
        assert client.get("/api/customers/by-alias/crm-7", headers=account.headers).status_code == 404
        reused = create_alias(client, account.headers, second["id"], "crm-7")
        assert client.get("/api/customers/by-alias/crm-7", headers=account.headers).json()["id"] == second["id"]
        assert reused["id"] != alias["id"]

    def test_deleting_twice_is_404(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        alias = create_alias(client, account.headers, customer["id"], "crm-7")
        client.delete(f"/api/customer-aliases/{alias['id']}", headers=account.headers)
        assert client.delete(f"/api/customer-aliases/{alias['id']}", headers=account.headers).status_code == 404

    def test_deleted_aliases_are_not_listed(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        alias = create_alias(client, account.headers, customer["id"], "crm-7")
        client.delete(f"/api/customer-aliases/{alias['id']}", headers=account.headers)
        assert client.get("/api/customer-aliases", headers=account.headers).json()["items"] == []
        assert client.get(f"/api/customers/{customer['id']}/aliases", headers=account.headers).json() == {"items": []}


class TestListAliases:
    def test_lists_newest_first_with_pagination(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        made = [create_alias(client, account.headers, customer["id"], f"v-{i}")["id"] for i in range(5)]
        first = client.get("/api/customer-aliases", params={"limit": 3}, headers=account.headers).json()
        assert [a["id"] for a in first["items"]] == list(reversed(made))[:3]
        assert first["pagination"]["totalResultSize"] == 5
        second = client.get(
            "/api/customer-aliases", params={"limit": 3, "after": first["pagination"]["after"]}, headers=account.headers
        ).json()
        assert [a["id"] for a in second["items"]] == list(reversed(made))[3:]
        assert "after" not in second["pagination"]
        back = client.get(
            "/api/customer-aliases",
            params={"limit": 3, "before": second["pagination"]["before"]},
            headers=account.headers,
        ).json()
        assert back["items"] == first["items"]

    def test_filters_by_value(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        wanted = create_alias(client, account.headers, customer["id"], "wanted")
        create_alias(client, account.headers, customer["id"], "wanted-not")
        page = client.get("/api/customer-aliases", params={"value": "wanted"}, headers=account.headers).json()
        assert page["items"] == [wanted]
        assert page["pagination"] == {"totalResultSize": 1}

    def test_a_cursor_for_another_value_filter_is_400(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        for i in range(3):
            create_alias(client, account.headers, customer["id"], f"v-{i}")
        cursor = client.get("/api/customer-aliases", params={"limit": 1}, headers=account.headers).json()
        response = client.get(
            "/api/customer-aliases",
            params={"after": cursor["pagination"]["after"], "value": "v-1"},
            headers=account.headers,
        )
        assert response.status_code == 400

    @pytest.mark.parametrize("limit", ["0", "101", "x"])
    def test_bad_limit_is_400(self, client: Client, account: Account, limit: str) -> None:
        response = client.get("/api/customer-aliases", params={"limit": limit}, headers=account.headers)
        assert response.status_code == 400


class TestCustomerAliases:
    def test_lists_the_customers_aliases_in_the_small_shape(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers, customerAliases=["a"])
        create_alias(client, account.headers, customer["id"], "b", label="L")
        items = client.get(f"/api/customers/{customer['id']}/aliases", headers=account.headers).json()["items"]
        assert [a["value"] for a in items] == ["a", "b"]
        assert set(items[1]) == {"id", "sequenceAccountId", "customerId", "value", "createdAt"}

    def test_unknown_customer_is_404(self, client: Client, account: Account) -> None:
        assert client.get(f"/api/customers/{MISSING}/aliases", headers=account.headers).status_code == 404
