"""Custom properties, integration ids, status, domain and the billingStatus filter."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.conftest import Account
from tests.factories import create_customer, customer_body

Client = TestClient[Litestar]


def names(client: Client, account: Account, **params: Any) -> list[str]:
    page = client.get("/api/customers", params=params, headers=account.headers).json()
    return [item["legalName"] for item in page["items"]]


class TestCustomProperties:
    def test_set_on_create_and_returned_everywhere(self, client: Client, account: Account) -> None:
        created = create_customer(client, account.headers, customProperties={"region": "EU", "tier": "gold"})
        assert created["customProperties"] == {"region": "EU", "tier": "gold"}
        listed = client.get("/api/customers", headers=account.headers).json()["items"][0]
        assert listed["customProperties"] == {"region": "EU", "tier": "gold"}

    def test_absent_on_put_keeps_them_and_present_replaces_them(self, client: Client, account: Account) -> None:
        created = create_customer(client, account.headers, customProperties={"region": "EU"})
        url = f"/api/customers/{created['id']}"
        kept = client.put(url, json=customer_body(), headers=account.headers).json()
        assert kept["customProperties"] == {"region": "EU"}
        replaced = client.put(url, json=customer_body(customProperties={"tier": "b"}), headers=account.headers).json()
        assert replaced["customProperties"] == {"tier": "b"}
        cleared = client.put(url, json=customer_body(customProperties={}), headers=account.headers).json()
        assert cleared["customProperties"] == {}

    def test_values_must_be_strings(self, client: Client, account: Account) -> None:
        response = client.post("/api/customers", json=customer_body(customProperties={"n": 1}), headers=account.headers)
        assert response.status_code == 400

    def test_keys_lists_the_accounts_distinct_keys(
        self, client: Client, account: Account, other_account: Account
    ) -> None:
        create_customer(client, account.headers, customProperties={"tier": "a", "region": "EU"})
        create_customer(client, account.headers, customProperties={"tier": "b"})
        create_customer(client, other_account.headers, customProperties={"secret": "x"})
        response = client.get("/api/customer-custom-property-keys", headers=account.headers)
        assert response.json() == {"items": ["region", "tier"]}

    @pytest.mark.parametrize(
        ("order", "expected"), [("ASC", ["a", "b", "c", "-", "-"]), ("DESC", ["c", "b", "a", "-", "-"])]
    )
    def test_sort_by_a_property_puts_customers_without_it_last(
        self, client: Client, account: Account, order: str, expected: list[str]
    ) -> None:
        for tier in ["b", None, "c", None, "a"]:
            properties = {"tier": tier} if tier else {"other": "x"}
            create_customer(client, account.headers, legalName=tier or "-", customProperties=properties)
        assert names(client, account, sortBy="customProperties.tier", sortOrder=order) == expected

    def test_paging_a_property_sort_visits_each_customer_once(self, client: Client, account: Account) -> None:
        made = set()
        for index in range(11):
            properties = {"rank": f"{index % 4}"} if index % 3 else {}
            made.add(create_customer(client, account.headers, customProperties=properties)["id"])
        seen: list[str] = []
        params: dict[str, Any] = {"sortBy": "customProperties.rank", "limit": 3}
        page = client.get("/api/customers", params=params, headers=account.headers).json()
        pages = [page]
        while "after" in page["pagination"]:
            page = client.get(
                "/api/customers", params={**params, "after": page["pagination"]["after"]}, headers=account.headers
            ).json()
            pages.append(page)
        seen = [item["id"] for p in pages for item in p["items"]]
        assert sorted(seen) == sorted(made)
        back: list[str] = [item["id"] for item in reversed(page["items"])]
        while "before" in page["pagination"]:
            page = client.get(
                "/api/customers", params={**params, "before": page["pagination"]["before"]}, headers=account.headers
            ).json()
            back += [item["id"] for item in reversed(page["items"])]
        assert back == list(reversed(seen))


class TestIntegrationsAndStatus:
    def test_push_to_xero_is_recorded_as_pending(self, client: Client, account: Account) -> None:
        created = create_customer(client, account.headers, pushToIntegrations=["Xero"])
        assert created["integrationIds"] == [{"service": "Xero", "id": "", "isPending": True}]

    def test_push_does_not_override_a_known_id(self, client: Client, account: Account) -> None:
        created = create_customer(
            client, account.headers, pushToIntegrations=["Xero"], integrationIds=[{"service": "Xero", "id": "x-1"}]
        )
        assert [(i["id"], i["isPending"]) for i in created["integrationIds"]] == [("x-1", False)]

    def test_a_service_listed_twice_is_400(self, client: Client, account: Account) -> None:
        links = [{"service": "Xero", "id": "1"}, {"service": "Xero", "id": "2"}]
        response = client.post("/api/customers", json=customer_body(integrationIds=links), headers=account.headers)
        assert response.status_code == 400

    def test_status_defaults_to_active_and_draft_is_kept(self, client: Client, account: Account) -> None:
        assert create_customer(client, account.headers)["status"] == "ACTIVE"
        draft = create_customer(client, account.headers, status="DRAFT")
        assert draft["status"] == "DRAFT"
        activated = client.put(
            f"/api/customers/{draft['id']}", json=customer_body(status="ACTIVE"), headers=account.headers
        ).json()
        assert activated["status"] == "ACTIVE"

    @pytest.mark.parametrize(
        ("url", "domain"),
        [
            ("https://www.example.com/", "example.com"),
            ("http://shop.example.co.uk/path?q=1", "shop.example.co.uk"),
            ("example.org", "example.org"),
            ("HTTPS://EXAMPLE.NET", "example.net"),
        ],
    )
    def test_domain_is_derived_from_url(self, client: Client, account: Account, url: str, domain: str) -> None:
        assert create_customer(client, account.headers, url=url)["domain"] == domain

    def test_billing_status_inactive_is_everyone_and_active_is_no_one(self, client: Client, account: Account) -> None:
        create_customer(client, account.headers, legalName="Only")
        assert names(client, account, billingStatus="INACTIVE") == ["Only"]
        page = client.get("/api/customers", params={"billingStatus": "ACTIVE"}, headers=account.headers).json()
        assert page == {"items": [], "pagination": {"totalResultSize": 0}}
        bad = client.get("/api/customers", params={"billingStatus": "SOMETIMES"}, headers=account.headers)
        assert bad.status_code == 400
