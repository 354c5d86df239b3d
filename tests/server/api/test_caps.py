"""Per-object caps (`server/caps.py`): what one customer or organization may hold, so the
responses listing its parts stay bounded. Past a cap: 400 ValidationError naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.server import caps
from tests.conftest import Account
from tests.factories import contact, create_customer, customer_body

Client = TestClient[Litestar]


def refused(response: Any, field: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "ValidationError"
    assert [e["field"] for e in error["errors"]] == [field]


def full_of_aliases(client: Client, account: Account) -> dict[str, Any]:
    values = [f"alias-{i}" for i in range(caps.ALIASES_PER_CUSTOMER)]
    return create_customer(client, account.headers, customerAliases=values)


class TestAliases:
    def test_the_cap_is_100_live_aliases(self) -> None:
        assert caps.ALIASES_PER_CUSTOMER == 100

    def test_a_customer_at_the_cap_takes_no_more(self, client: Client, account: Account) -> None:
        customer = full_of_aliases(client, account)
        body = {"customerId": customer["id"], "value": "one-too-many"}
        refused(client.post("/api/customer-aliases", json=body, headers=account.headers), "customerId")
        listed = client.get(f"/api/customers/{customer['id']}/aliases", headers=account.headers).json()["items"]
        assert len(listed) == caps.ALIASES_PER_CUSTOMER

    def test_deleted_aliases_free_room(self, client: Client, account: Account) -> None:
        customer = full_of_aliases(client, account)
        listed = client.get(f"/api/customers/{customer['id']}/aliases", headers=account.headers).json()["items"]
        client.delete(f"/api/customer-aliases/{listed[0]['id']}", headers=account.headers)
        body = {"customerId": customer["id"], "value": "room-again"}
        assert client.post("/api/customer-aliases", json=body, headers=account.headers).status_code == 201

    def test_an_update_adding_past_the_cap_is_refused(self, client: Client, account: Account) -> None:
        customer = full_of_aliases(client, account)
        body = customer_body(customerAliases=["alias-0", "one-too-many"])
        refused(client.put(f"/api/customers/{customer['id']}", json=body, headers=account.headers), "customerAliases")
        again = customer_body(customerAliases=["alias-0", "alias-1"])
        assert client.put(f"/api/customers/{customer['id']}", json=again, headers=account.headers).status_code == 200


class TestContacts:
    def test_the_caps_are_100_live_contacts_and_1000_in_all(self) -> None:
        assert (caps.LIVE_CONTACTS_PER_CUSTOMER, caps.CONTACTS_PER_CUSTOMER) == (100, 1000)

    def test_a_customer_at_the_cap_takes_no_more(self, client: Client, account: Account) -> None:
        people = [contact() for _ in range(caps.LIVE_CONTACTS_PER_CUSTOMER)]
        customer = create_customer(client, account.headers, contacts=people)
        path = f"/api/customers/{customer['id']}/contacts"
        refused(client.post(path, json=contact(billing_preference="STANDARD"), headers=account.headers), "contacts")

    def test_replacing_a_full_set_of_contacts_is_within_the_caps(self, client: Client, account: Account) -> None:
        people = [contact() for _ in range(caps.LIVE_CONTACTS_PER_CUSTOMER)]
        customer = create_customer(client, account.headers, contacts=people)
        body = customer_body(contacts=[contact() for _ in range(caps.LIVE_CONTACTS_PER_CUSTOMER)])
        assert client.put(f"/api/customers/{customer['id']}", json=body, headers=account.headers).status_code == 200

    def test_archived_contacts_count_towards_the_cap_in_all(
        self, client: Client, account: Account, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(caps, "CONTACTS_PER_CUSTOMER", 5)
        customer = create_customer(client, account.headers, contacts=[contact(), contact(), contact()])
        # Replacing every contact archives the 3 and adds 3: 6 in all.
        body = customer_body(contacts=[contact(), contact(), contact()])
        refused(client.put(f"/api/customers/{customer['id']}", json=body, headers=account.headers), "contacts")
        kept = client.get(f"/api/customers/{customer['id']}/contacts", headers=account.headers).json()["items"]
        assert len(kept) == 3


class TestMembers:
    @pytest.fixture(autouse=True)
    def small_cap(self, monkeypatch: pytest.MonkeyPatch) -> None:
        assert caps.MEMBERS_PER_ORGANIZATION == 1000
        monkeypatch.setattr(caps, "MEMBERS_PER_ORGANIZATION", 3)

    def customers(self, client: Client, account: Account, count: int) -> list[str]:
        return [create_customer(client, account.headers)["id"] for _ in range(count)]

    def test_create_past_the_cap(self, client: Client, account: Account) -> None:
        owner, *members = self.customers(client, account, 5)
        body = {"ownerId": owner, "memberIds": members}
        refused(client.post("/api/customer-organizations", json=body, headers=account.headers), "memberIds")
        body = {"ownerId": owner, "memberIds": members[:3]}
        assert client.post("/api/customer-organizations", json=body, headers=account.headers).status_code == 201

    def test_adding_and_replacing_past_the_cap(self, client: Client, account: Account) -> None:
        owner, *members = self.customers(client, account, 5)
        body = {"ownerId": owner, "memberIds": members[:3]}
        organization = client.post("/api/customer-organizations", json=body, headers=account.headers).json()
        path = f"/api/customer-organizations/{organization['id']}/members"
        refused(client.post(path, json={"customerIds": [members[3]]}, headers=account.headers), "customerIds")
        refused(client.put(path, json={"customerIds": members}, headers=account.headers), "customerIds")
        # Members already in take no room.
        assert client.post(path, json={"customerIds": members[:2]}, headers=account.headers).status_code == 200

    def test_a_child_past_the_cap(self, client: Client, account: Account) -> None:
        owner, *members = self.customers(client, account, 4)
        body = {"ownerId": owner, "memberIds": members}
        assert client.post("/api/customer-organizations", json=body, headers=account.headers).status_code == 201
        child = customer_body(parentId=owner)
        refused(client.post("/api/customers", json=child, headers=account.headers), "parentId")
