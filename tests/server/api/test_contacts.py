"""Contacts of a customer, and the PRIMARY rule."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from tests.conftest import Account
from tests.factories import contact, create_customer, customer_body

Client = TestClient[Litestar]
MISSING = "01890000-0000-7000-8000-000000000000"


def contacts_url(customer: dict[str, Any]) -> str:
    return f"/api/customers/{customer['id']}/contacts"


class TestListContacts:
    def test_lists_live_contacts_in_order(self, client: Client, account: Account) -> None:
        people = [contact(name="A"), contact(name="B", billing_preference="NONE")]
        customer = create_customer(client, account.headers, contacts=people)
        items = client.get(contacts_url(customer), headers=account.headers).json()["items"]
        assert [c["name"] for c in items] == ["A", "B"]
        assert items == customer["contacts"]

    def test_archived_contacts_only_when_asked(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers, contacts=[contact(), contact(billing_preference="NONE")])
        second = customer["contacts"][1]
        client.post(f"{contacts_url(customer)}/{second['id']}/archive", headers=account.headers)
        assert len(client.get(contacts_url(customer), headers=account.headers).json()["items"]) == 1
        everything = client.get(contacts_url(customer), params={"includeArchived": "true"}, headers=account.headers)
        assert [c["id"] for c in everything.json()["items"]] == [c["id"] for c in customer["contacts"]]

    def test_unknown_customer_is_404(self, client: Client, account: Account) -> None:
        assert client.get(f"/api/customers/{MISSING}/contacts", headers=account.headers).status_code == 404


class TestCreateContact:
    def test_returns_201_and_the_customer_shows_it(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        body = {"name": "John Smith", "email": "john.smith@example.com", "billingPreference": "NONE"}
        response = client.post(contacts_url(customer), json=body, headers=account.headers)
        assert response.status_code == 201
        created = response.json()
        assert {k: created[k] for k in body} == body
        assert created["createdAt"] == created["updatedAt"]
        fetched = client.get(f"/api/customers/{customer['id']}", headers=account.headers).json()
        assert fetched["contacts"][-1] == created

    def test_a_second_primary_changes_no_other_contact(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        first = customer["contacts"][0]
        second = client.post(contacts_url(customer), json=contact(name="Second"), headers=account.headers).json()
        assert second["billingPreference"] == "PRIMARY"
        items = client.get(contacts_url(customer), headers=account.headers).json()["items"]
        assert items[0] == first
        by_alias = client.get(f"/api/customers/by-alias/{customer['id']}", headers=account.headers).json()
        assert by_alias["email"] == first["email"]
        assert by_alias["billingEmails"] == [first["email"], second["email"]]

    def test_billed_contact_without_any_primary_is_400(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        client.post(f"{contacts_url(customer)}/{customer['contacts'][0]['id']}/archive", headers=account.headers)
        response = client.post(
            contacts_url(customer), json=contact(billing_preference="STANDARD"), headers=account.headers
        )
        assert response.status_code == 400
        assert "PRIMARY" in response.json()["error"]["message"]

    def test_validation_errors_name_the_field(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        response = client.post(
            contacts_url(customer),
            json={"name": "x", "email": "nope", "billingPreference": "NONE"},
            headers=account.headers,
        )
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == "contact.email"
        missing = client.post(contacts_url(customer), json={"name": "x"}, headers=account.headers)
        assert missing.status_code == 400

    def test_unknown_customer_is_404(self, client: Client, account: Account) -> None:
        response = client.post(f"/api/customers/{MISSING}/contacts", json=contact(), headers=account.headers)
        assert response.status_code == 404


class TestUpdateContact:
    def test_replaces_every_field_and_bumps_updated_at(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers, contacts=[contact(), contact(billing_preference="NONE")])
        target = customer["contacts"][1]
        body = {"name": "Renamed", "email": "renamed@example.com", "billingPreference": "STANDARD"}
        response = client.put(f"{contacts_url(customer)}/{target['id']}", json=body, headers=account.headers)
        assert response.status_code == 200
        updated = response.json()
        assert {k: updated[k] for k in body} == body
        assert updated["createdAt"] == target["createdAt"]
        assert updated["updatedAt"] >= target["updatedAt"]

    def test_demoting_the_last_primary_while_billed_is_400(self, client: Client, account: Account) -> None:
        customer = create_customer(
            client, account.headers, contacts=[contact(), contact(billing_preference="STANDARD")]
        )
        primary = customer["contacts"][0]
        body = {"name": "x", "email": primary["email"], "billingPreference": "NONE"}
        response = client.put(f"{contacts_url(customer)}/{primary['id']}", json=body, headers=account.headers)
        assert response.status_code == 400

    def test_demoting_the_only_contact_is_allowed(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        primary = customer["contacts"][0]
        body = {"name": "x", "email": primary["email"], "billingPreference": "NONE"}
        response = client.put(f"{contacts_url(customer)}/{primary['id']}", json=body, headers=account.headers)
        assert response.status_code == 200

    def test_all_fields_are_required(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        url = f"{contacts_url(customer)}/{customer['contacts'][0]['id']}"
        assert client.put(url, json={"name": "x"}, headers=account.headers).status_code == 400

    def test_contact_of_another_customer_is_404(self, client: Client, account: Account) -> None:
        mine = create_customer(client, account.headers)
        other = create_customer(client, account.headers)
        url = f"{contacts_url(mine)}/{other['contacts'][0]['id']}"
        assert client.put(url, json=contact(), headers=account.headers).status_code == 404


class TestArchiveContact:
    def test_sets_archived_at_and_is_idempotent(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers, contacts=[contact(), contact(billing_preference="NONE")])
        url = f"{contacts_url(customer)}/{customer['contacts'][1]['id']}/archive"
        first = client.post(url, headers=account.headers)
        assert first.status_code == 200
        assert first.json()["archivedAt"].endswith("Z")
        assert client.post(url, headers=account.headers).json() == first.json()
        fetched = client.get(f"/api/customers/{customer['id']}", headers=account.headers).json()
        assert [c["id"] for c in fetched["contacts"]] == [customer["contacts"][0]["id"]]

    def test_archiving_the_last_primary_while_a_standard_remains_is_400(self, client: Client, account: Account) -> None:
        customer = create_customer(
            client, account.headers, contacts=[contact(), contact(billing_preference="STANDARD")]
        )
        url = f"{contacts_url(customer)}/{customer['contacts'][0]['id']}/archive"
        response = client.post(url, headers=account.headers)
        assert response.status_code == 400
        assert "PRIMARY" in response.json()["error"]["message"]

    def test_unknown_contact_is_404(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        assert client.post(f"{contacts_url(customer)}/{MISSING}/archive", headers=account.headers).status_code == 404


class TestContactsOnCustomerUpdate:
    def test_matching_email_keeps_the_id_and_the_rest_are_archived(self, client: Client, account: Account) -> None:
        keep, drop = contact(email="keep@acme.test"), contact(email="drop@acme.test", billing_preference="NONE")
        customer = create_customer(client, account.headers, contacts=[keep, drop])
        kept_id, dropped_id = customer["contacts"][0]["id"], customer["contacts"][1]["id"]
        body = customer_body(contacts=[contact(name="Kept", email="KEEP@acme.test"), contact(email="new@acme.test")])
        updated = client.put(f"/api/customers/{customer['id']}", json=body, headers=account.headers).json()
        assert updated["contacts"][0]["id"] == kept_id
        assert updated["contacts"][0]["name"] == "Kept"
        assert dropped_id not in [c["id"] for c in updated["contacts"]]
        archived = client.get(contacts_url(customer), params={"includeArchived": "true"}, headers=account.headers)
        dropped = next(c for c in archived.json()["items"] if c["id"] == dropped_id)
        assert "archivedAt" in dropped
