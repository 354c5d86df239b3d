"""GET /notifications/policies/{id} and GET /notifications/policies (pages, the type filter)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from patron.server import clock
from patron.server.auth import Principal
from patron.server.db.engine import Database
from patron.server.notifications import service
from patron.wire import notifications as wire
from patron.wire.enums import NotificationChannel
from tests.conftest import Account
from tests.server.notifications.policies import MISSING, POLICIES, Client, create_policy, get_policy


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


def list_page(client: Client, account: Account, **params: Any) -> dict[str, Any]:
    response = client.get(POLICIES, params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


class TestGetPolicy:
    def test_a_webhook_policy_shows_its_secret_on_every_read(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account)
        assert get_policy(client, account, policy["id"])["webhookSecret"] == policy["webhookSecret"]
        assert list_page(client, account)["items"][0]["webhookSecret"] == policy["webhookSecret"]

    @pytest.mark.parametrize("ident", [MISSING, "not-a-uuid", "1"])
    def test_an_unknown_or_malformed_id_is_404(self, client: Client, account: Account, ident: str) -> None:
        response = client.get(f"{POLICIES}/{ident}", headers=account.headers)
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "NotFound"

    def test_another_accounts_policy_is_404(self, client: Client, account: Account, other_account: Account) -> None:
        theirs = create_policy(client, other_account)
        assert client.get(f"{POLICIES}/{theirs['id']}", headers=account.headers).status_code == 404

    def test_credentials_are_required(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account)
        assert client.get(f"{POLICIES}/{policy['id']}").status_code == 401


class TestListPolicies:
    def test_newest_first_twenty_a_page(self, client: Client, account: Account) -> None:
        created = [create_policy(client, account)["id"] for _ in range(25)]
        page = list_page(client, account)
        assert ids(page) == list(reversed(created))[:20]
        assert page["pagination"]["totalResultSize"] == 25
        assert "before" not in page["pagination"]
        rest = list_page(client, account, after=page["pagination"]["after"])
        assert ids(rest) == list(reversed(created))[20:]
        assert "after" not in rest["pagination"]
        back = list_page(client, account, before=rest["pagination"]["before"])
        assert ids(back) == ids(page)

    def test_policies_created_in_one_millisecond_still_list_newest_first(
        self, client: Client, account: Account, database: Database
    ) -> None:
        # A frozen moment (a test clock): the ids, minted in order, break the tie.
        who = Principal(account_id=uuid.UUID(account.account_id), client_id=account.client_id)
        request = wire.CreateNotificationPolicyRequest(
            name="Same moment", recipients=["https://hooks.example.com/"], channel=NotificationChannel.WEBHOOK
        )
        with clock.pinned(datetime(2026, 1, 1, tzinfo=UTC)), database.write() as tx:
            created = [service.create(tx, who, request).id for _ in range(3)]
        page = list_page(client, account, limit=2)
        assert ids(page) == list(reversed(created))[:2]
        assert ids(list_page(client, account, after=page["pagination"]["after"])) == [created[0]]

    def test_an_empty_account_lists_nothing(self, client: Client, account: Account) -> None:
        assert list_page(client, account) == {"items": [], "pagination": {"totalResultSize": 0}}

    @pytest.mark.parametrize("limit", [1, 100])
    def test_limit_is_1_to_100(self, client: Client, account: Account, limit: int) -> None:
        for _ in range(2):
            create_policy(client, account)
        assert len(list_page(client, account, limit=limit)["items"]) == min(limit, 2)

    @pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
    def test_a_limit_outside_1_to_100_is_400(self, client: Client, account: Account, limit: str) -> None:
        response = client.get(POLICIES, params={"limit": limit}, headers=account.headers)
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == "limit"

    def test_a_malformed_cursor_is_400(self, client: Client, account: Account) -> None:
        response = client.get(POLICIES, params={"after": "nonsense"}, headers=account.headers)
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == "after"

    def test_a_cursor_of_another_filter_is_400(self, client: Client, account: Account) -> None:
        for _ in range(3):
            create_policy(client, account)
        after = list_page(client, account, limit=1)["pagination"]["after"]
        response = client.get(
            POLICIES, params={"after": after, "notificationType": "CUSTOMER_CREATED"}, headers=account.headers
        )
        assert response.status_code == 400

    def test_only_the_callers_live_policies(self, client: Client, account: Account, other_account: Account) -> None:
        kept = create_policy(client, account)
        gone = create_policy(client, account)
        create_policy(client, other_account)
        assert client.delete(f"{POLICIES}/{gone['id']}", headers=account.headers).status_code == 200
        page = list_page(client, account)
        assert ids(page) == [kept["id"]]
        assert page["pagination"]["totalResultSize"] == 1


class TestNotificationTypeFilter:
    def test_lists_the_policies_naming_it_and_those_with_no_list(self, client: Client, account: Account) -> None:
        every = create_policy(client, account)["id"]
        created = create_policy(client, account, notificationTypes=["INVOICE_ISSUED", "CUSTOMER_CREATED"])["id"]
        create_policy(client, account, notificationTypes=["CUSTOMER_UPDATED"])
        create_policy(client, account, notificationTypes=[])
        create_policy(
            client, account, channel="EMAIL", recipients=["a@example.com"], notificationTypes=["QUOTE_SIGNED"]
        )
        page = list_page(client, account, notificationType="CUSTOMER_CREATED")
        assert ids(page) == [created, every]
        assert page["pagination"]["totalResultSize"] == 2

    def test_a_type_patron_never_fires_filters_too(self, client: Client, account: Account) -> None:
        every = create_policy(client, account)["id"]
        quotes = create_policy(client, account, notificationTypes=["QUOTE_SIGNED"])["id"]
        create_policy(client, account, notificationTypes=["CUSTOMER_CREATED"])
        assert ids(list_page(client, account, notificationType="QUOTE_SIGNED")) == [quotes, every]

    def test_pages_through_the_filtered_list(self, client: Client, account: Account) -> None:
        matching = [create_policy(client, account, notificationTypes=["CUSTOMER_ARCHIVED"])["id"] for _ in range(3)]
        create_policy(client, account, notificationTypes=["CUSTOMER_UPDATED"])
        first = list_page(client, account, notificationType="CUSTOMER_ARCHIVED", limit=2)
        assert ids(first) == list(reversed(matching))[:2]
        assert first["pagination"]["totalResultSize"] == 3
        after = first["pagination"]["after"]
        second = list_page(client, account, notificationType="CUSTOMER_ARCHIVED", limit=2, after=after)
        assert ids(second) == [matching[0]]

    def test_a_policy_whose_list_changed_is_found_by_its_new_list(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account)["id"]
        client.delete(f"{POLICIES}/{policy}/notification-types/CUSTOMER_CREATED", headers=account.headers)
        assert ids(list_page(client, account, notificationType="CUSTOMER_CREATED")) == []
        assert ids(list_page(client, account, notificationType="CUSTOMER_UPDATED")) == [policy]

    @pytest.mark.parametrize("kind", ["CUSTOMER_DELETED", "customer_created", ""])
    def test_a_value_outside_the_twenty_is_400(self, client: Client, account: Account, kind: str) -> None:
        response = client.get(POLICIES, params={"notificationType": kind}, headers=account.headers)
        assert response.status_code == 400
        body = response.json()
        assert body["error"]["errors"][0]["field"] == "notificationType"
        # Sequence declares this 400 with no body: patron's usual one, nothing added.
        assert set(body) == {"error"}
