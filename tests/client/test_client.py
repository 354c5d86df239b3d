"""The Python client against the real app, in process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.client import ApiError, Client
from patron.wire import models as wire
from patron.wire.enums import BillingPreference, CountryCode, TaxStatus
from tests.conftest import Account


@pytest.fixture
def api(app: Litestar, account: Account) -> Iterator[Client]:
    with TestClient(app, base_url="http://testserver.local/api") as http:
        yield Client("http://testserver.local/api", account.client_id, account.client_secret, http=http)


def _request(name: str, alias: str) -> wire.CreateOrUpdateCustomerRequest:
    return wire.CreateOrUpdateCustomerRequest(
        legal_name=name,
        address=wire.Address(line1="1 Quay", town="Dublin", postcode="D01", country=CountryCode.IE),
        tax_status=TaxStatus.TAXED,
        contacts=[
            wire.ContactRequest(name="Ann", email=f"{alias}@example.com", billing_preference=BillingPreference.PRIMARY)
        ],
        customer_aliases=[alias],
    )


class TestClientRoundTrips:
    def test_create_then_find_by_alias(self, api: Client) -> None:
        created = api.create_customer(_request("Acme", "crm-1"))
        found = api.get_customer_by_alias("crm-1")
        assert found.id == created.id
        assert found.email == "crm-1@example.com"

    def test_iter_customers_follows_cursors(self, api: Client) -> None:
        ids = {api.create_customer(_request(f"Customer {i}", f"c-{i}")).id for i in range(5)}
        assert {item.id for item in api.iter_customers(limit=2)} == ids

    def test_errors_raise_with_sequence_type(self, api: Client) -> None:
        with pytest.raises(ApiError) as caught:
            api.get_customer("00000000-0000-0000-0000-000000000000")
        assert caught.value.status == 404
        assert caught.value.type == "NotFound"

    def test_alias_with_slash_is_escaped(self, api: Client) -> None:
        created = api.create_customer(_request("Slash", "crm/7"))
        assert api.get_customer_by_alias("crm/7").id == created.id

    def test_alias_with_double_slash_and_dots_is_exact(self, api: Client) -> None:
        created = api.create_customer(_request("Dots", "a//b/./c"))
        assert api.get_customer_by_alias("a//b/./c").id == created.id
        with pytest.raises(ApiError):
            api.get_customer_by_alias("a/b/c")
