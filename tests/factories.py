"""Request bodies and objects with sensible defaults; tests override what they assert on."""

from __future__ import annotations

import itertools
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

_counter = itertools.count(1)


def contact(
    *, name: str = "Ada Lovelace", email: str | None = None, billing_preference: str = "PRIMARY"
) -> dict[str, Any]:
    return {
        "name": name,
        "email": email or f"ada{next(_counter)}@example.com",
        "billingPreference": billing_preference,
    }


def customer_body(**overrides: Any) -> dict[str, Any]:
    """A valid CreateOrUpdateCustomerRequest."""
    body: dict[str, Any] = {
        "legalName": f"Customer {next(_counter)} Ltd",
        "address": {"line1": "1 Main St", "town": "Springfield", "state": "IL", "postcode": "62701", "country": "US"},
        "taxStatus": "TAXED",
        "contacts": [contact()],
    }
    body.update(overrides)
    return body


def create_customer(client: TestClient[Litestar], headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/customers", json=customer_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def create_alias(
    client: TestClient[Litestar], headers: dict[str, str], customer_id: str, value: str, **extra: Any
) -> dict[str, Any]:
    response = client.post(
        "/api/customer-aliases", json={"customerId": customer_id, "value": value, **extra}, headers=headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
