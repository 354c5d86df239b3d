"""Customers: create, get, update, archive, and the rules each enforces."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.conftest import Account
from tests.factories import contact, create_customer, customer_body

Client = TestClient[Litestar]
MISSING = "01890000-0000-7000-8000-000000000000"


class TestCreateCustomer:
    def test_returns_201_with_the_full_customer(self, client: Client, account: Account) -> None:
        body = customer_body(
            legalName="Acme Ltd",
            url="https://www.acme.test/path",
            label="key account",
            integrationIds=[{"service": "Stripe", "id": "cus_1"}],
        )
        response = client.post("/api/customers", json=body, headers=account.headers)
        assert response.status_code == 201
        created = response.json()
        assert created["legalName"] == "Acme Ltd"
        assert created["domain"] == "acme.test"
        assert created["label"] == "key account"
        assert created["status"] == "ACTIVE"
        assert created["organizations"] == []
        assert created["customProperties"] == {}
        assert created["integrationIds"] == [
            {"service": "Stripe", "id": "cus_1", "isPending": False, "lastSynced": created["createdAt"]}
        ]
        assert created["address"] == body["address"]
        assert [c["email"] for c in created["contacts"]] == [body["contacts"][0]["email"]]
        assert created["createdAt"].endswith("Z")
        assert "archivedAt" not in created

    def test_get_returns_what_create_returned(self, client: Client, account: Account) -> None:
        created = create_customer(client, account.headers)
        fetched = client.get(f"/api/customers/{created['id']}", headers=account.headers)
        assert fetched.status_code == 200
        assert fetched.json() == created

    def test_unknown_body_fields_are_ignored(self, client: Client, account: Account) -> None:
        response = client.post(
            "/api/customers", json=customer_body(telephone="123", somethingNew={"x": 1}), headers=account.headers
        )
        assert response.status_code == 201
        assert "telephone" not in response.json()

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"taxStatus": "EXEMPT"}, "taxStatus"),
            ({"status": "PAUSED"}, "status"),
            ({"address": {"line1": "x", "town": "y", "postcode": "1", "country": "ZZ"}}, "address.country"),
            (
                {"address": {"line1": "x", "town": "y", "postcode": "1", "country": "US", "state": "XX"}},
                "address.state",
            ),
            (
                {"contacts": [{"name": "a", "email": "a@b.c", "billingPreference": "MAIN"}]},
                "contacts[0].billingPreference",
            ),
            ({"integrationIds": [{"service": "Oracle", "id": "1"}]}, "integrationIds[0].service"),
            ({"pushToIntegrations": ["Stripe"]}, "pushToIntegrations[0]"),
            ({"legalName": 42}, "legalName"),
            ({"contacts": "nobody"}, "contacts"),
        ],
    )
    def test_wrong_types_and_unknown_enum_values_are_400_naming_the_field(
        self, client: Client, account: Account, change: dict[str, Any], field: str
    ) -> None:
        response = client.post("/api/customers", json=customer_body(**change), headers=account.headers)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["type"] == "ValidationError"
        assert field in error["message"]
        assert [e["field"] for e in error["errors"]] == [field]

    @pytest.mark.parametrize("missing", ["legalName", "address", "taxStatus", "contacts"])
    def test_required_fields_are_400(self, client: Client, account: Account, missing: str) -> None:
        body = customer_body()
        del body[missing]
        response = client.post("/api/customers", json=body, headers=account.headers)
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == missing

    def test_malformed_json_is_400(self, client: Client, account: Account) -> None:
        response = client.post(
            "/api/customers",
            content=b'{"legalName": ',
            headers={**account.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "ValidationError"

    @pytest.mark.parametrize("country", ["US", "CA"])
    def test_state_is_required_in_the_us_and_canada(self, client: Client, account: Account, country: str) -> None:
        address = {"line1": "1 Main", "town": "Town", "postcode": "1", "country": country}
        response = client.post("/api/customers", json=customer_body(address=address), headers=account.headers)
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == "address.state"

    def test_state_must_belong_to_the_country(self, client: Client, account: Account) -> None:
        address = {"line1": "1 Main", "town": "Town", "postcode": "1", "country": "US", "state": "ON"}
        response = client.post("/api/customers", json=customer_body(address=address), headers=account.headers)
        assert response.status_code == 400

    def test_state_is_optional_elsewhere(self, client: Client, account: Account) -> None:
        address = {"line1": "1 Quay", "town": "Dublin", "postcode": "D01", "country": "IE"}
        assert (
            client.post("/api/customers", json=customer_body(address=address), headers=account.headers).status_code
            == 201
        )

    def test_contacts_need_a_primary_contact(self, client: Client, account: Account) -> None:
        body = customer_body(contacts=[contact(billing_preference="STANDARD")])
        response = client.post("/api/customers", json=body, headers=account.headers)
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == "contacts"

    def test_empty_contacts_are_refused(self, client: Client, account: Account) -> None:
        assert (
            client.post("/api/customers", json=customer_body(contacts=[]), headers=account.headers).status_code == 400
        )

    def test_contact_email_must_look_like_one(self, client: Client, account: Account) -> None:
        body = customer_body(contacts=[contact(email="not-an-email")])
        response = client.post("/api/customers", json=body, headers=account.headers)
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == "contacts[0].email"

    def test_blank_legal_name_is_refused(self, client: Client, account: Account) -> None:
        response = client.post("/api/customers", json=customer_body(legalName="   "), headers=account.headers)
        assert response.status_code == 400

    def test_aliases_are_created(self, client: Client, account: Account) -> None:
        created = create_customer(client, account.headers, customerAliases=["crm-1", "erp-1"])
        aliases = client.get(f"/api/customers/{created['id']}/aliases", headers=account.headers).json()
        assert sorted(a["value"] for a in aliases["items"]) == ["crm-1", "erp-1"]

    def test_an_alias_in_use_is_409_and_nothing_is_created(self, client: Client, account: Account) -> None:
        create_customer(client, account.headers, customerAliases=["crm-1"])
        response = client.post("/api/customers", json=customer_body(customerAliases=["crm-1"]), headers=account.headers)
        assert response.status_code == 409
        assert response.json()["error"]["type"] == "Conflict"
        listed = client.get("/api/customers", headers=account.headers).json()
        assert listed["pagination"]["totalResultSize"] == 1

    def test_the_same_alias_twice_in_one_request_is_400(self, client: Client, account: Account) -> None:
        response = client.post(
            "/api/customers", json=customer_body(customerAliases=["x", "x"]), headers=account.headers
        )
        assert response.status_code == 400


class TestGetCustomer:
    def test_unknown_id_is_404(self, client: Client, account: Account) -> None:
        response = client.get(f"/api/customers/{MISSING}", headers=account.headers)
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "NotFound"

    def test_malformed_id_is_404(self, client: Client, account: Account) -> None:
        assert client.get("/api/customers/not-a-uuid", headers=account.headers).status_code == 404


class TestUpdateCustomer:
    def test_replaces_fields_and_clears_omitted_optional_ones(self, client: Client, account: Account) -> None:
        created = create_customer(client, account.headers, url="https://a.test", label="old")
        body = customer_body(legalName="Renamed plc", taxStatus="TAX_EXEMPT")
        response = client.put(f"/api/customers/{created['id']}", json=body, headers=account.headers)
        assert response.status_code == 200
        updated = response.json()
        assert updated["legalName"] == "Renamed plc"
        assert updated["taxStatus"] == "TAX_EXEMPT"
        assert "url" not in updated
        assert "label" not in updated
        assert updated["createdAt"] == created["createdAt"]
        assert client.get(f"/api/customers/{created['id']}", headers=account.headers).json() == updated

    def test_keeps_status_and_integrations_when_left_out(self, client: Client, account: Account) -> None:
        created = create_customer(
            client, account.headers, status="DRAFT", integrationIds=[{"service": "Xero", "id": "x-1"}]
        )
        updated = client.put(f"/api/customers/{created['id']}", json=customer_body(), headers=account.headers).json()
        assert updated["status"] == "DRAFT"
        assert updated["integrationIds"] == created["integrationIds"]

    def test_last_synced_is_kept_while_a_link_is_unchanged(self, client: Client, account: Account) -> None:
        created = create_customer(client, account.headers, integrationIds=[{"service": "Xero", "id": "x-1"}])
        links = [{"service": "Xero", "id": "x-1"}, {"service": "Stripe", "id": "cus_2"}]
        body = customer_body(integrationIds=links)
        updated = client.put(f"/api/customers/{created['id']}", json=body, headers=account.headers).json()
        assert updated["integrationIds"][0] == created["integrationIds"][0]
        assert updated["integrationIds"][1]["lastSynced"] >= created["integrationIds"][0]["lastSynced"]

    def test_adds_aliases_without_removing_others(self, client: Client, account: Account) -> None:
        created = create_customer(client, account.headers, customerAliases=["a-1"])
        body = customer_body(customerAliases=["a-2"])
        assert client.put(f"/api/customers/{created['id']}", json=body, headers=account.headers).status_code == 200
        aliases = client.get(f"/api/customers/{created['id']}/aliases", headers=account.headers).json()["items"]
        assert sorted(a["value"] for a in aliases) == ["a-1", "a-2"]

    def test_alias_of_another_customer_is_409(self, client: Client, account: Account) -> None:
        create_customer(client, account.headers, customerAliases=["taken"])
        other = create_customer(client, account.headers)
        body = customer_body(customerAliases=["taken"])
        assert client.put(f"/api/customers/{other['id']}", json=body, headers=account.headers).status_code == 409

    def test_unknown_id_is_404(self, client: Client, account: Account) -> None:
        assert client.put(f"/api/customers/{MISSING}", json=customer_body(), headers=account.headers).status_code == 404

    def test_invalid_body_is_400_not_404_first(self, client: Client, account: Account) -> None:
        created = create_customer(client, account.headers)
        response = client.put(f"/api/customers/{created['id']}", json={"legalName": "x"}, headers=account.headers)
        assert response.status_code == 400


class TestArchiveCustomer:
    def test_sets_archived_at(self, client: Client, account: Account) -> None:
        created = create_customer(client, account.headers)
        response = client.post(f"/api/customers/{created['id']}/archive", headers=account.headers)
        assert response.status_code == 200
        assert response.json()["archivedAt"].endswith("Z")

    def test_is_idempotent(self, client: Client, account: Account) -> None:
        created = create_customer(client, account.headers)
        first = client.post(f"/api/customers/{created['id']}/archive", headers=account.headers).json()
        second = client.post(f"/api/customers/{created['id']}/archive", headers=account.headers)
        assert second.status_code == 200
        assert second.json() == first

    def test_archived_customer_is_still_found_by_id(self, client: Client, account: Account) -> None:
        created = create_customer(client, account.headers)
        client.post(f"/api/customers/{created['id']}/archive", headers=account.headers)
        fetched = client.get(f"/api/customers/{created['id']}", headers=account.headers)
        assert fetched.status_code == 200
        assert "archivedAt" in fetched.json()

    def test_unknown_id_is_404(self, client: Client, account: Account) -> None:
        assert client.post(f"/api/customers/{MISSING}/archive", headers=account.headers).status_code == 404


class TestGetCustomerByAlias:
    def test_returns_the_2024_05_09_shape_derived_from_contacts(self, client: Client, account: Account) -> None:
        contacts = [
            contact(name="Nobody", email="none@acme.test", billing_preference="NONE"),
            contact(name="Ada", email="ada@acme.test", billing_preference="PRIMARY"),
            contact(name="Bob", email="bob@acme.test", billing_preference="STANDARD"),
        ]
        created = create_customer(client, account.headers, contacts=contacts, customerAliases=["crm-9"])
        response = client.get("/api/customers/by-alias/crm-9", headers=account.headers)
        assert response.status_code == 200
        found = response.json()
        assert found["id"] == created["id"]
        assert found["email"] == "ada@acme.test"
        assert found["contactName"] == "Ada"
        assert found["billingEmails"] == ["ada@acme.test", "bob@acme.test"]
        for absent in ("contacts", "organizations", "status", "domain", "customProperties"):
            assert absent not in found

    def test_the_customer_id_works_as_an_alias(self, client: Client, account: Account) -> None:
        created = create_customer(client, account.headers)
        response = client.get(f"/api/customers/by-alias/{created['id']}", headers=account.headers)
        assert response.status_code == 200
        assert response.json()["id"] == created["id"]

    def test_unknown_alias_is_404(self, client: Client, account: Account) -> None:
        response = client.get("/api/customers/by-alias/nope", headers=account.headers)
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "NotFound"

    def test_archived_customers_are_found(self, client: Client, account: Account) -> None:
        created = create_customer(client, account.headers, customerAliases=["old-1"])
        client.post(f"/api/customers/{created['id']}/archive", headers=account.headers)
        found = client.get("/api/customers/by-alias/old-1", headers=account.headers).json()
        assert found["archivedAt"].endswith("Z")
