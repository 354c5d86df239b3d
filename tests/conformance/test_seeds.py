"""The two seed endpoints match Sequence's pages exactly: schema-valid, every example field
present with the example's JSON type."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.conformance.schemas import BASELINE, HEAD, component_schema, example_of, load
from tests.conftest import Account
from tests.factories import contact, create_customer

Client = TestClient[Litestar]


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}[type(value)]


def assert_same_shape(example: Any, actual: Any, where: str = "$") -> None:
    """Every field of the example is in `actual` with the same JSON type, recursively."""
    assert _json_type(actual) == _json_type(example), f"{where}: {actual!r} vs example {example!r}"
    if isinstance(example, dict):
        for key, value in example.items():
            assert key in actual, f"{where}.{key} is missing"
            assert_same_shape(value, actual[key], f"{where}.{key}")
    elif isinstance(example, list) and example:
        assert actual, f"{where} is empty; the example has items"
        for item in actual:
            assert_same_shape(example[0], item, f"{where}[]")


@pytest.fixture
def populated(client: Client, account: Account) -> dict[str, Any]:
    """A customer with every optional field set, inside an organization, archived."""
    parent = create_customer(client, account.headers, legalName="FinTech Solutions Inc.")
    child = create_customer(
        client,
        account.headers,
        legalName="Fintech Payment Processing",
        url="https://example.com/",
        label="Example customer",
        parentId=parent["id"],
        customerAliases=["seed-alias"],
        integrationIds=[{"service": "Xero", "id": "2aaff66f"}, {"service": "Stripe", "id": "cus_OCtCxqQDgu1uX9"}],
        address={
            "line1": "Flat 1",
            "line2": "123 Fake Street",
            "town": "New York",
            "state": "NY",
            "postcode": "AB1 2EF",
            "country": "US",
        },
        contacts=[
            contact(name="John Doe", email="john@example.com"),
            contact(name="Invoices", email="exampleCorpInvoices@example.com", billing_preference="STANDARD"),
        ],
    )
    client.post(f"/api/customers/{child['id']}/archive", headers=account.headers)
    create_customer(client, account.headers, legalName="Newest")
    return child


class TestListCustomersSeed:
    @pytest.mark.parametrize("schema_file", [BASELINE, HEAD], ids=["baseline", "head"])
    def test_response_validates_against_sequences_schema(
        self, client: Client, account: Account, populated: dict[str, Any], schema_file: Any
    ) -> None:
        document = load(schema_file)
        page = client.get("/api/customers", params={"includeArchived": "true"}, headers=account.headers).json()
        jsonschema.validate(page, component_schema(document, "ListCustomerResponse"))

    def test_every_example_field_is_present_with_its_type(
        self, client: Client, account: Account, populated: dict[str, Any]
    ) -> None:
        example = example_of(load(BASELINE), "/customers", "get")
        params: dict[str, str | int] = {"includeArchived": "true", "limit": 1}
        first = client.get("/api/customers", params=params, headers=account.headers).json()
        after = first["pagination"]["after"]
        page = client.get("/api/customers", params={**params, "after": after}, headers=account.headers).json()
        assert [item["id"] for item in page["items"]] == [populated["id"]]
        assert_same_shape(example, page)


class TestGetCustomerByAliasSeed:
    @pytest.mark.parametrize("schema_file", [BASELINE, HEAD], ids=["baseline", "head"])
    def test_response_validates_against_sequences_schema(
        self, client: Client, account: Account, populated: dict[str, Any], schema_file: Any
    ) -> None:
        document = load(schema_file)
        found = client.get("/api/customers/by-alias/seed-alias", headers=account.headers).json()
        jsonschema.validate(found, component_schema(document, "Customer20240509"))

    def test_every_example_field_is_present_with_its_type(
        self, client: Client, account: Account, populated: dict[str, Any]
    ) -> None:
        example = dict(example_of(load(BASELINE), "/customers/by-alias/{alias}", "get"))
        # 2024-07-30 customers have no telephone: Sequence's own schema marks it optional.
        example.pop("telephone")
        found = client.get("/api/customers/by-alias/seed-alias", headers=account.headers).json()
        assert_same_shape(example, found)
        assert found["billingEmails"] == ["john@example.com", "exampleCorpInvoices@example.com"]
