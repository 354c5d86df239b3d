"""The indexed paths answer exactly what the plain definitions say: counts kept beside the
writes equal a real count, and indexed name search equals a casefolded substring match."""

from __future__ import annotations

import uuid

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.server.accounts.service import Principal
from patron.server.customers import bulk
from patron.server.db.engine import Database
from patron.wire import models as wire
from tests.conftest import Account
from tests.factories import create_customer, customer_body

Client = TestClient[Litestar]

NAMES = [
    "Große Straße GmbH", "GROSSE Holdings", "Ærø Shipping", "Café de Flore", "CAFE Society", "100% Organic",
    "Under_score Ltd", "back\\slash plc", 'Quote "Q" Inc.', "日本語 株式会社", "Σίσυφος ΑΕ", "ab", "abc", "xabcx",
]  # fmt: skip
QUERIES = ["gross", "straße", "STRASSE", "caf", "café", "%", "_", "\\", '"q"', "株式", "σίσυφος", "ab", "abc", "b", "e"]


def total(client: Client, account: Account, **params: str) -> int:
    page = client.get("/api/customers", params=params, headers=account.headers).json()
    result: int = page["pagination"]["totalResultSize"]
    return result


class TestNameSearch:
    @pytest.mark.parametrize("query", QUERIES)
    def test_matches_exactly_the_casefolded_substring(self, client: Client, account: Account, query: str) -> None:
        made = {create_customer(client, account.headers, legalName=name)["id"]: name for name in NAMES}
        page = client.get("/api/customers", params={"legalName": query, "limit": 100}, headers=account.headers).json()
        expected = {ident for ident, name in made.items() if query.casefold() in name.casefold()}
        assert {item["id"] for item in page["items"]} == expected
        assert page["pagination"]["totalResultSize"] == len(expected)

    def test_renamed_customers_are_found_by_their_new_name(self, client: Client, account: Account) -> None:
        created = create_customer(client, account.headers, legalName="Old Name Ltd")
        client.put(
            f"/api/customers/{created['id']}", json=customer_body(legalName="Fresh Label"), headers=account.headers
        )
        assert total(client, account, legalName="old name") == 0
        assert total(client, account, legalName="fresh lab") == 1


class TestCounts:
    def test_totals_stay_exact_through_creates_archives_and_imports(
        self, client: Client, account: Account, database: Database
    ) -> None:
        made = [create_customer(client, account.headers)["id"] for _ in range(4)]
        client.post(f"/api/customers/{made[0]}/archive", headers=account.headers)
        client.post(f"/api/customers/{made[0]}/archive", headers=account.headers)  # again: no change
        who = Principal(account_id=uuid.UUID(account.account_id), client_id="test")
        rows = [(i, msgspec.convert(customer_body(), wire.CreateOrUpdateCustomerRequest)) for i in range(3)]
        with database.write() as tx:
            assert bulk.import_batch(tx, who, rows).created == 3
        assert total(client, account) == 6
        assert total(client, account, includeArchived="true") == 7
        assert total(client, account, label="none") == 0

    def test_each_account_has_its_own_count(self, client: Client, account: Account, other_account: Account) -> None:
        create_customer(client, account.headers)
        assert total(client, other_account) == 0
        assert total(client, account) == 1
