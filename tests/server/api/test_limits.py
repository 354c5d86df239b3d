"""The maxima of request bodies (docs/limits.md): a body at every maximum is served, one past
it is a 400 naming the field, and patron's OpenAPI document states each maximum."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.wire import models as wire
from tests.conftest import Account
from tests.factories import contact, create_customer, customer_body

Client = TestClient[Litestar]


def full_customer() -> dict[str, Any]:
    """Every list at its maximum, the strings at theirs."""
    text = "x" * wire.MAX_TEXT
    return customer_body(
        legalName=text,
        address={"line1": text, "line2": text, "town": text, "postcode": "p" * wire.MAX_POSTCODE, "country": "GB"},
        url=text,
        label=text,
        contacts=[contact(name=text) for _ in range(wire.MAX_CONTACTS)],
        customerAliases=[f"{i}-".ljust(wire.MAX_VALUE, "a") for i in range(wire.MAX_ALIASES)],
        customProperties={f"{i}-".ljust(wire.MAX_VALUE, "k"): text for i in range(wire.MAX_PROPERTIES)},
    )


def refusal(response: Any) -> tuple[int, list[str]]:
    return response.status_code, [f["field"] for f in response.json()["error"].get("errors", [])]


class TestAtTheMaximum:
    def test_a_customer_with_every_list_full_is_created_and_updated(self, client: Client, account: Account) -> None:
        created = client.post("/api/customers", json=full_customer(), headers=account.headers)
        assert created.status_code == 201, created.text[:300]
        assert len(created.json()["contacts"]) == wire.MAX_CONTACTS
        assert len(created.json()["customProperties"]) == wire.MAX_PROPERTIES
        updated = client.put(f"/api/customers/{created.json()['id']}", json=full_customer(), headers=account.headers)
        assert updated.status_code == 200, updated.text[:300]

    def test_an_organization_of_the_most_members(self, client: Client, account: Account) -> None:
        owner = create_customer(client, account.headers)["id"]
        members = [create_customer(client, account.headers)["id"] for _ in range(30)]
        # 1,000 distinct customers would make the test slow; repeats are the same size to decode.
        body = {"ownerId": owner, "memberIds": (members * 34)[: wire.MAX_MEMBERS]}
        response = client.post("/api/customer-organizations", json=body, headers=account.headers)
        assert response.status_code == 201, response.text[:300]
        assert len(response.json()["members"]) == len(members)


class TestOnePast:
    @pytest.mark.parametrize(
        ("change", "field", "message"),
        [
            ({"customerAliases": ["a"] * 101}, "customerAliases", "must hold at most 100 items"),
            ({"contacts": [contact()] * 101}, "contacts", "must hold at most 100 items"),
            (
                {"customProperties": {f"k{i}": "v" for i in range(101)}},
                "customProperties",
                "must hold at most 100 keys",
            ),
            ({"customProperties": {"k" * 256: "v"}}, "customProperties", "a key must be at most 255 characters"),
            ({"customProperties": {"k": "v" * 1001}}, "customProperties", "a value must be at most 1000 characters"),
            ({"customerAliases": ["a" * 256]}, "customerAliases[0]", "must be at most 255 characters"),
            ({"legalName": "x" * 1001}, "legalName", "must be at most 1000 characters"),
            ({"parentId": "x" * 65}, "parentId", "must be at most 64 characters"),
            (
                {"integrationIds": [{"service": "Slack", "id": "1"}] * 21},
                "integrationIds",
                "must hold at most 20 items",
            ),
        ],
    )
    def test_a_customer_past_a_maximum_is_400_naming_it(
        self, client: Client, account: Account, change: dict[str, Any], field: str, message: str
    ) -> None:
        response = client.post("/api/customers", json=customer_body(**change), headers=account.headers)
        assert response.status_code == 400
        assert response.json()["error"]["errors"] == [{"field": field, "message": message}]

    def test_the_fourth_contacts_email_is_named(self, client: Client, account: Account) -> None:
        contacts = [contact(), contact(), contact(), contact(email="a" * 1000 + "@example.com")]
        response = client.post("/api/customers", json=customer_body(contacts=contacts), headers=account.headers)
        assert refusal(response) == (400, ["contacts[3].email"])

    @pytest.mark.parametrize(
        ("path", "body", "field"),
        [
            ("/api/customer-organizations", {"ownerId": "x", "memberIds": ["x"] * 1001}, "memberIds"),
            ("/api/customer-aliases", {"customerId": "x", "value": "v" * 256}, "value"),
            ("/api/customer-aliases", {"customerId": "x" * 65, "value": "v"}, "customerId"),
        ],
    )
    def test_other_bodies_past_a_maximum(
        self, client: Client, account: Account, path: str, body: dict[str, Any], field: str
    ) -> None:
        assert refusal(client.post(path, json=body, headers=account.headers)) == (400, [field])


def test_the_openapi_document_states_every_maximum(client: Client) -> None:
    schemas = client.get("/api/openapi.json").json()["components"]["schemas"]
    customer = schemas["CreateOrUpdateCustomerRequest"]["properties"]
    assert customer["legalName"]["maxLength"] == wire.MAX_TEXT
    assert customer["contacts"]["maxItems"] == wire.MAX_CONTACTS
    assert customer["customerAliases"]["maxItems"] == wire.MAX_ALIASES
    assert customer["customerAliases"]["items"]["maxLength"] == wire.MAX_VALUE
    assert customer["customProperties"]["maxProperties"] == wire.MAX_PROPERTIES
    assert customer["customProperties"]["propertyNames"]["maxLength"] == wire.MAX_VALUE
    assert customer["customProperties"]["additionalProperties"]["maxLength"] == wire.MAX_TEXT
    assert schemas["Address"]["properties"]["postcode"]["maxLength"] == wire.MAX_POSTCODE
    assert schemas["ContactRequest"]["properties"]["email"]["maxLength"] == wire.MAX_TEXT
    members = schemas["CustomerOrganizationMembers"]["properties"]["customerIds"]
    assert (members["maxItems"], members["items"]["maxLength"]) == (wire.MAX_MEMBERS, wire.MAX_ID)
