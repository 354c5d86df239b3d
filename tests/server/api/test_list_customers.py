"""GET /customers: filters, sorts, limits and keyset pagination."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.server.auth import Principal
from patron.server.customers import service
from patron.server.db.engine import Database
from patron.wire import models as wire
from patron.wire.enums import BillingPreference, CountryCode, TaxStatus
from tests.conftest import Account
from tests.factories import contact, create_customer, customer_body

Client = TestClient[Litestar]


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


def list_page(client: Client, account: Account, **params: Any) -> dict[str, Any]:
    response = client.get("/api/customers", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def bulk_create(database: Database, account: Account, count: int, *, prefix: str = "Customer") -> list[str]:
    """Create customers through the service layer in one transaction (fast setup)."""
    who = Principal(account_id=uuid.UUID(account.account_id), client_id=account.client_id)
    created = []
    with database.write() as tx:
        for index in range(count):
            request = wire.CreateOrUpdateCustomerRequest(
                legal_name=f"{prefix} {index:05d}",
                address=wire.Address(line1="1 Main", town="Town", postcode="1", country=CountryCode.IE),
                tax_status=TaxStatus.TAXED,
                contacts=[
                    wire.ContactRequest(
                        name="A", email=f"a{index}@x.test", billing_preference=BillingPreference.PRIMARY
                    )
                ],
            )
            created.append(service.create(tx, who, request).id)
    return created


class TestFilters:
    def test_default_is_newest_first_twenty_a_page(self, client: Client, account: Account, database: Database) -> None:
        created = bulk_create(database, account, 25)
        page = list_page(client, account)
        assert ids(page) == list(reversed(created))[:20]
        assert page["pagination"]["totalResultSize"] == 25
        assert "after" in page["pagination"]
        assert "before" not in page["pagination"]

    def test_legal_name_is_a_case_insensitive_substring(self, client: Client, account: Account) -> None:
        acme = create_customer(client, account.headers, legalName="ACME Holdings")
        create_customer(client, account.headers, legalName="Globex")
        assert ids(list_page(client, account, legalName="me hol")) == [acme["id"]]

    def test_legal_name_folds_unicode_case(self, client: Client, account: Account) -> None:
        strasse = create_customer(client, account.headers, legalName="Große Straße GmbH")
        assert ids(list_page(client, account, legalName="GROSSE")) == [strasse["id"]]

    @pytest.mark.parametrize("pattern", ["%", "_", "\\"])
    def test_like_metacharacters_match_literally(self, client: Client, account: Account, pattern: str) -> None:
        literal = create_customer(client, account.headers, legalName=f"Odd {pattern} Name")
        create_customer(client, account.headers, legalName="Plain Name")
        assert ids(list_page(client, account, legalName=pattern)) == [literal["id"]]

    def test_email_matches_any_live_contact_case_insensitively(self, client: Client, account: Account) -> None:
        contacts = [contact(email="boss@acme.test"), contact(email="Billing@Acme.test", billing_preference="STANDARD")]
        acme = create_customer(client, account.headers, contacts=contacts)
        create_customer(client, account.headers)
        assert ids(list_page(client, account, email="billing@ACME.test")) == [acme["id"]]
        assert ids(list_page(client, account, email="acme.test")) == []

    def test_email_ignores_archived_contacts(self, client: Client, account: Account) -> None:
        acme = create_customer(client, account.headers, contacts=[contact(email="old@acme.test")])
        body = customer_body(contacts=[contact(email="new@acme.test")])
        client.put(f"/api/customers/{acme['id']}", json=body, headers=account.headers)
        assert ids(list_page(client, account, email="old@acme.test")) == []
        assert ids(list_page(client, account, email="new@acme.test")) == [acme["id"]]

    def test_alias_matches_a_live_alias_or_the_id(self, client: Client, account: Account) -> None:
        acme = create_customer(client, account.headers, customerAliases=["crm-1"])
        create_customer(client, account.headers, customerAliases=["crm-2"])
        assert ids(list_page(client, account, alias="crm-1")) == [acme["id"]]
        assert ids(list_page(client, account, alias=acme["id"])) == [acme["id"]]
        assert ids(list_page(client, account, alias="crm")) == []

    def test_label_is_exact(self, client: Client, account: Account) -> None:
        vip = create_customer(client, account.headers, label="vip")
        create_customer(client, account.headers, label="vip2")
        assert ids(list_page(client, account, label="vip")) == [vip["id"]]

    def test_archived_customers_are_hidden_unless_asked_for(self, client: Client, account: Account) -> None:
        kept = create_customer(client, account.headers)
        gone = create_customer(client, account.headers)
        client.post(f"/api/customers/{gone['id']}/archive", headers=account.headers)
        assert ids(list_page(client, account)) == [kept["id"]]
        page = list_page(client, account, includeArchived="true")
        assert ids(page) == [gone["id"], kept["id"]]
        assert page["pagination"]["totalResultSize"] == 2

    def test_filters_combine(self, client: Client, account: Account) -> None:
        match = create_customer(client, account.headers, legalName="Acme One", label="a")
        create_customer(client, account.headers, legalName="Acme Two", label="b")
        assert ids(list_page(client, account, legalName="acme", label="a")) == [match["id"]]

    def test_total_counts_every_match_not_the_page(self, client: Client, account: Account, database: Database) -> None:
        bulk_create(database, account, 30, prefix="Match")
        bulk_create(database, account, 5, prefix="Other")
        page = list_page(client, account, legalName="match", limit=7)
        assert len(page["items"]) == 7
        assert page["pagination"]["totalResultSize"] == 30


class TestSorting:
    def test_legal_name_ascending_and_descending(self, client: Client, account: Account) -> None:
        names = ["banana Co", "Apple Ltd", "cherry Inc"]
        for name in names:
            create_customer(client, account.headers, legalName=name)
        ascending = [i["legalName"] for i in list_page(client, account, sortBy="legalName", sortOrder="ASC")["items"]]
        assert ascending == ["Apple Ltd", "banana Co", "cherry Inc"]
        descending = [i["legalName"] for i in list_page(client, account, sortBy="legalName")["items"]]
        assert descending == list(reversed(ascending))

    def test_created_at_ascending(self, client: Client, account: Account, database: Database) -> None:
        created = bulk_create(database, account, 5)
        assert ids(list_page(client, account, sortBy="createdAt", sortOrder="ASC")) == created

    @pytest.mark.parametrize("sort_by", ["name", "created_at", "customProperties.", "id"])
    def test_unknown_sort_column_is_400(self, client: Client, account: Account, sort_by: str) -> None:
        response = client.get("/api/customers", params={"sortBy": sort_by}, headers=account.headers)
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == "sortBy"

    def test_unknown_sort_order_is_400(self, client: Client, account: Account) -> None:
        response = client.get("/api/customers", params={"sortOrder": "UP"}, headers=account.headers)
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == "sortOrder"


class TestLimit:
    @pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "2.5"])
    def test_out_of_range_or_not_an_integer_is_400(self, client: Client, account: Account, limit: str) -> None:
        response = client.get("/api/customers", params={"limit": limit}, headers=account.headers)
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == "limit"

    @pytest.mark.parametrize("limit", [1, 100])
    def test_bounds_are_accepted(self, client: Client, account: Account, database: Database, limit: int) -> None:
        bulk_create(database, account, 3)
        assert len(list_page(client, account, limit=limit)["items"]) == min(limit, 3)


def walk(client: Client, account: Account, limit: int, **params: Any) -> tuple[list[str], list[str], int]:
    """Walk every page forward, then every page backward from the last one."""
    forward: list[str] = []
    page = list_page(client, account, limit=limit, **params)
    total = page["pagination"]["totalResultSize"]
    pages = [page]
    forward += ids(page)
    while "after" in page["pagination"]:
        page = list_page(client, account, limit=limit, after=page["pagination"]["after"], **params)
        pages.append(page)
        forward += ids(page)
    backward: list[str] = list(reversed(ids(page)))
    while "before" in page["pagination"]:
        page = list_page(client, account, limit=limit, before=page["pagination"]["before"], **params)
        backward += list(reversed(ids(page)))
    return forward, backward, total


class TestPagination:
    @pytest.mark.parametrize("sort", [{}, {"sortBy": "legalName", "sortOrder": "ASC"}])
    def test_1000_customers_37_at_a_time_forward_then_backward(
        self, client: Client, account: Account, database: Database, sort: dict[str, str]
    ) -> None:
        created = bulk_create(database, account, 1000)
        forward, backward, total = walk(client, account, 37, **sort)
        assert total == 1000
        assert len(forward) == 1000
        assert set(forward) == set(created)
        assert backward == list(reversed(forward))

    def test_ties_in_the_sort_value_are_broken_by_id(self, client: Client, account: Account) -> None:
        for _ in range(7):
            create_customer(client, account.headers, legalName="Same Name")
        forward, backward, _ = walk(client, account, 2, sortBy="legalName")
        assert len(set(forward)) == 7
        assert backward == list(reversed(forward))

    def test_inserts_during_a_walk_never_duplicate_or_skip(
        self, client: Client, account: Account, database: Database
    ) -> None:
        existing = set(bulk_create(database, account, 60))
        seen: list[str] = []
        page = list_page(client, account, limit=10)
        seen += ids(page)
        while "after" in page["pagination"]:
            create_customer(client, account.headers)  # newest first: lands before the walk
            page = list_page(client, account, limit=10, after=page["pagination"]["after"])
            seen += ids(page)
        assert len(seen) == len(set(seen))
        assert existing <= set(seen)

    def test_first_page_has_no_before_and_last_page_no_after(
        self, client: Client, account: Account, database: Database
    ) -> None:
        bulk_create(database, account, 5)
        first = list_page(client, account, limit=3)
        assert "before" not in first["pagination"]
        last = list_page(client, account, limit=3, after=first["pagination"]["after"])
        assert "after" not in last["pagination"]
        assert "before" in last["pagination"]
        again = list_page(client, account, limit=3, before=last["pagination"]["before"])
        assert ids(again) == ids(first)
        assert "before" not in again["pagination"]

    def test_a_single_page_has_neither_cursor(self, client: Client, account: Account) -> None:
        create_customer(client, account.headers)
        assert list_page(client, account)["pagination"] == {"totalResultSize": 1}


class TestCursors:
    def _after(self, client: Client, account: Account, database: Database, **params: Any) -> str:
        bulk_create(database, account, 4)
        cursor: str = list_page(client, account, limit=2, **params)["pagination"]["after"]
        return cursor

    def _status(self, client: Client, account: Account, **params: Any) -> int:
        return client.get("/api/customers", params=params, headers=account.headers).status_code

    def test_a_tampered_cursor_is_400(self, client: Client, account: Account, database: Database) -> None:
        cursor = self._after(client, account, database)
        payload, signature = cursor.split(".")
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).replace(b'"a"', b'"b"')
        forged = base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + signature
        assert self._status(client, account, after=forged) == 400
        assert self._status(client, account, after=cursor[:-2]) == 400

    @pytest.mark.parametrize(
        "garbage", ["", "abc", "....", "%%%", "eyJ9.AAAA", "MDE4NDUyNjYtNmQ2NC03N2M4LTlhZGYtNDQ4N2Q5NGQxNDU3"]
    )
    def test_garbage_cursors_are_400(self, client: Client, account: Account, garbage: str) -> None:
        response = client.get("/api/customers", params={"after": garbage}, headers=account.headers)
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == "after"

    def test_a_cursor_of_another_account_is_400(
        self, client: Client, account: Account, other_account: Account, database: Database
    ) -> None:
        cursor = self._after(client, account, database)
        assert self._status(client, other_account, after=cursor) == 400

    @pytest.mark.parametrize(
        "changed", [{"legalName": "x"}, {"sortBy": "legalName"}, {"sortOrder": "ASC"}, {"includeArchived": "true"}]
    )
    def test_a_cursor_reused_with_other_filters_or_sort_is_400(
        self, client: Client, account: Account, database: Database, changed: dict[str, str]
    ) -> None:
        cursor = self._after(client, account, database)
        assert self._status(client, account, after=cursor, **changed) == 400

    def test_a_cursor_may_be_reused_with_another_limit(
        self, client: Client, account: Account, database: Database
    ) -> None:
        cursor = self._after(client, account, database)
        assert len(list_page(client, account, after=cursor, limit=1)["items"]) == 1

    def test_after_and_before_together_are_400(self, client: Client, account: Account, database: Database) -> None:
        cursor = self._after(client, account, database)
        assert self._status(client, account, after=cursor, before=cursor) == 400

    def test_an_after_cursor_passed_as_before_is_400(
        self, client: Client, account: Account, database: Database
    ) -> None:
        cursor = self._after(client, account, database)
        assert self._status(client, account, before=cursor) == 400
