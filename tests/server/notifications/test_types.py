"""POST /notifications/policies/{id}/notification-types and DELETE .../notification-types/{type}:
absent means every type, `[]` means none."""

from __future__ import annotations

from typing import Any

import pytest

from patron.wire.enums import NotificationType
from tests.conftest import Account
from tests.server.notifications.policies import MISSING, POLICIES, Client, create_policy, get_policy

EVERY = [kind.value for kind in NotificationType]


def add(client: Client, account: Account, policy_id: str, types: Any) -> Any:
    return client.post(
        f"{POLICIES}/{policy_id}/notification-types", json={"notificationTypes": types}, headers=account.headers
    )


def added(client: Client, account: Account, policy_id: str, types: list[str]) -> dict[str, Any]:
    response = add(client, account, policy_id, types)
    assert response.status_code == 200, response.text
    policy: dict[str, Any] = response.json()
    return policy


def remove(client: Client, account: Account, policy_id: str, kind: str) -> Any:
    return client.delete(f"{POLICIES}/{policy_id}/notification-types/{kind}", headers=account.headers)


def removed(client: Client, account: Account, policy_id: str, kind: str) -> dict[str, Any]:
    response = remove(client, account, policy_id, kind)
    assert response.status_code == 200, response.text
    policy: dict[str, Any] = response.json()
    return policy


class TestAddTypes:
    def test_new_ones_are_appended(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account, notificationTypes=["CUSTOMER_CREATED"])
        types = added(client, account, policy["id"], ["INVOICE_ISSUED", "CUSTOMER_UPDATED"])["notificationTypes"]
        assert types == ["CUSTOMER_CREATED", "INVOICE_ISSUED", "CUSTOMER_UPDATED"]
        assert get_policy(client, account, policy["id"])["notificationTypes"] == types

    def test_present_ones_and_repeats_change_nothing(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account, notificationTypes=["CUSTOMER_CREATED"])
        types = ["CUSTOMER_CREATED", "CUSTOMER_ARCHIVED", "CUSTOMER_ARCHIVED"]
        assert added(client, account, policy["id"], types)["notificationTypes"] == [
            "CUSTOMER_CREATED",
            "CUSTOMER_ARCHIVED",
        ]

    def test_on_a_policy_with_no_list_it_still_matches_every_type(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account)
        assert added(client, account, policy["id"], ["CUSTOMER_CREATED"]) == policy
        assert "notificationTypes" not in get_policy(client, account, policy["id"])

    def test_on_an_empty_list_it_starts_one(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account, notificationTypes=[])
        assert added(client, account, policy["id"], ["QUOTE_SIGNED"])["notificationTypes"] == ["QUOTE_SIGNED"]

    @pytest.mark.parametrize("types", [[], None])
    def test_nothing_to_add_is_400(self, client: Client, account: Account, types: Any) -> None:
        policy = create_policy(client, account)
        response = add(client, account, policy["id"], types)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "notificationTypes"

    @pytest.mark.parametrize("kind", ["CUSTOMER_DELETED", "BILLING_SCHEDULE_DELETED", "nope"])
    def test_a_value_outside_the_twenty_is_400_and_adds_nothing(
        self, client: Client, account: Account, kind: str
    ) -> None:
        policy = create_policy(client, account, notificationTypes=["CUSTOMER_CREATED"])
        response = add(client, account, policy["id"], ["CUSTOMER_UPDATED", kind])
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "notificationTypes[1]"
        assert get_policy(client, account, policy["id"])["notificationTypes"] == ["CUSTOMER_CREATED"]

    @pytest.mark.parametrize("ident", [MISSING, "not-a-uuid"])
    def test_an_unknown_policy_is_404(self, client: Client, account: Account, ident: str) -> None:
        assert add(client, account, ident, ["CUSTOMER_CREATED"]).status_code == 404

    def test_another_accounts_policy_is_404(self, client: Client, account: Account, other_account: Account) -> None:
        theirs = create_policy(client, other_account, notificationTypes=[])
        assert add(client, account, theirs["id"], ["CUSTOMER_CREATED"]).status_code == 404
        assert get_policy(client, other_account, theirs["id"])["notificationTypes"] == []


class TestRemoveType:
    def test_takes_it_off_the_list(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account, notificationTypes=["CUSTOMER_CREATED", "CUSTOMER_UPDATED"])
        assert removed(client, account, policy["id"], "CUSTOMER_CREATED")["notificationTypes"] == ["CUSTOMER_UPDATED"]
        assert get_policy(client, account, policy["id"])["notificationTypes"] == ["CUSTOMER_UPDATED"]

    def test_a_type_not_on_the_list_changes_nothing(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account, notificationTypes=["CUSTOMER_CREATED"])
        assert removed(client, account, policy["id"], "INVOICE_ISSUED") == policy

    def test_on_a_policy_with_no_list_the_other_19_remain_in_order(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account)
        types = removed(client, account, policy["id"], "INVOICE_CREATED")["notificationTypes"]
        assert types == [kind for kind in EVERY if kind != "INVOICE_CREATED"]
        assert len(types) == 19

    def test_removing_the_last_leaves_an_empty_list_not_every_type(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account, notificationTypes=["CUSTOMER_CREATED"])
        assert removed(client, account, policy["id"], "CUSTOMER_CREATED")["notificationTypes"] == []
        assert get_policy(client, account, policy["id"])["notificationTypes"] == []
        assert removed(client, account, policy["id"], "CUSTOMER_CREATED")["notificationTypes"] == []

    @pytest.mark.parametrize("kind", ["CUSTOMER_DELETED", "customer_created", "NOTIFICATION_SENT"])
    def test_a_value_outside_the_twenty_is_400(self, client: Client, account: Account, kind: str) -> None:
        policy = create_policy(client, account, notificationTypes=["CUSTOMER_CREATED"])
        response = remove(client, account, policy["id"], kind)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "type"
        assert get_policy(client, account, policy["id"])["notificationTypes"] == ["CUSTOMER_CREATED"]

    @pytest.mark.parametrize("ident", [MISSING, "not-a-uuid"])
    def test_an_unknown_policy_is_404(self, client: Client, account: Account, ident: str) -> None:
        assert remove(client, account, ident, "CUSTOMER_CREATED").status_code == 404

    def test_another_accounts_policy_is_404(self, client: Client, account: Account, other_account: Account) -> None:
        theirs = create_policy(client, other_account)
        assert remove(client, account, theirs["id"], "CUSTOMER_CREATED").status_code == 404
        assert "notificationTypes" not in get_policy(client, other_account, theirs["id"])
