"""POST /notifications/policies/{id}/recipients and DELETE .../recipients/{recipient}."""

from __future__ import annotations

from typing import Any

import pytest

from patron.server.db.engine import Database
from tests.conftest import Account
from tests.server.notifications.policies import (
    MISSING,
    POLICIES,
    Client,
    create_policy,
    delivery_states,
    get_policy,
    queue_deliveries,
    recipient_path,
)

FIRST = "https://hooks.example.com/sequence"


def add(client: Client, account: Account, policy_id: str, recipients: Any) -> Any:
    return client.post(f"{POLICIES}/{policy_id}/recipients", json={"recipients": recipients}, headers=account.headers)


def added(client: Client, account: Account, policy_id: str, recipients: list[str]) -> list[str]:
    response = add(client, account, policy_id, recipients)
    assert response.status_code == 200, response.text
    found: list[str] = response.json()["recipients"]
    return found


def removed(client: Client, account: Account, policy_id: str, recipient: str) -> dict[str, Any]:
    response = client.delete(recipient_path(policy_id, recipient), headers=account.headers)
    assert response.status_code == 200, response.text
    policy: dict[str, Any] = response.json()
    return policy


class TestAddRecipients:
    def test_new_ones_are_appended_in_the_order_given(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account)
        urls = ["https://b.example.com/", "https://a.example.com/"]
        assert added(client, account, policy["id"], urls) == [FIRST, *urls]
        assert get_policy(client, account, policy["id"])["recipients"] == [FIRST, *urls]

    def test_present_ones_and_repeats_change_nothing(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account)
        new = "https://b.example.com/"
        assert added(client, account, policy["id"], [FIRST, new, new]) == [FIRST, new]
        assert added(client, account, policy["id"], [new]) == [FIRST, new]

    def test_the_response_is_the_whole_policy(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account)
        response = add(client, account, policy["id"], ["https://b.example.com/"])
        assert response.json() == {**policy, "recipients": [FIRST, "https://b.example.com/"]}

    def test_an_email_policy_takes_addresses(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account, channel="EMAIL", recipients=["finance@example.com"])
        assert added(client, account, policy["id"], ["ops@example.com"]) == ["finance@example.com", "ops@example.com"]

    @pytest.mark.parametrize(
        ("channel", "first", "wrong"),
        [("WEBHOOK", FIRST, "ops@example.com"), ("EMAIL", "finance@example.com", "https://hooks.example.com/")],
    )
    def test_the_wrong_kind_for_the_channel_is_400_and_adds_nothing(
        self, client: Client, account: Account, channel: str, first: str, wrong: str
    ) -> None:
        policy = create_policy(client, account, channel=channel, recipients=[first])
        good = "https://ok.example.com/" if channel == "WEBHOOK" else "ok@example.com"
        response = add(client, account, policy["id"], [good, wrong])
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "recipients[1]"
        assert get_policy(client, account, policy["id"])["recipients"] == [first]

    @pytest.mark.parametrize("recipients", [[], None, "https://a.example.com/"])
    def test_nothing_to_add_is_400(self, client: Client, account: Account, recipients: Any) -> None:
        policy = create_policy(client, account)
        response = add(client, account, policy["id"], recipients)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "recipients"

    def test_a_missing_field_is_400(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account)
        response = client.post(f"{POLICIES}/{policy['id']}/recipients", json={}, headers=account.headers)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "recipients"

    def test_a_policy_holds_at_most_100(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account)
        more = [f"https://hooks.example.com/{n}" for n in range(99)]
        assert len(added(client, account, policy["id"], more)) == 100
        assert added(client, account, policy["id"], [FIRST]) == [FIRST, *more]  # nothing new: fine
        response = add(client, account, policy["id"], ["https://one-too-many.example.com/"])
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "recipients"

    @pytest.mark.parametrize("ident", [MISSING, "not-a-uuid"])
    def test_an_unknown_policy_is_404(self, client: Client, account: Account, ident: str) -> None:
        assert add(client, account, ident, ["https://a.example.com/"]).status_code == 404

    def test_another_accounts_policy_is_404(self, client: Client, account: Account, other_account: Account) -> None:
        theirs = create_policy(client, other_account)
        assert add(client, account, theirs["id"], ["https://a.example.com/"]).status_code == 404
        assert get_policy(client, other_account, theirs["id"])["recipients"] == [FIRST]


class TestRemoveRecipient:
    @pytest.mark.parametrize(
        "url",
        [
            "https://hooks.example.com/in?a=1&b=2",
            "https://hooks.example.com//double//slashes",
            "https://hooks.example.com/trailing/",
            "https://hooks.example.com/space%20and%2Fescapes",
            "http://localhost:8000/",
        ],
    )
    def test_a_percent_encoded_url_names_the_recipient(self, client: Client, account: Account, url: str) -> None:
        policy = create_policy(client, account, recipients=[FIRST, url])
        assert removed(client, account, policy["id"], url)["recipients"] == [FIRST]
        assert get_policy(client, account, policy["id"])["recipients"] == [FIRST]

    def test_the_url_matches_exactly(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account, recipients=["https://hooks.example.com/a/"])
        assert removed(client, account, policy["id"], "https://hooks.example.com/a")["recipients"] == [
            "https://hooks.example.com/a/"
        ]

    def test_an_unencoded_url_with_slashes_works_too(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account, recipients=[FIRST, "https://b.example.com/x"])
        response = client.delete(
            f"{POLICIES}/{policy['id']}/recipients/https://b.example.com/x", headers=account.headers
        )
        assert response.status_code == 200
        assert response.json()["recipients"] == [FIRST]

    @pytest.mark.parametrize("encoded", ["ops%2Bbilling%40example.com", "ops+billing@example.com"])
    def test_an_email_with_a_plus(self, client: Client, account: Account, encoded: str) -> None:
        policy = create_policy(
            client, account, channel="EMAIL", recipients=["ops+billing@example.com", "a@example.com"]
        )
        response = client.delete(f"{POLICIES}/{policy['id']}/recipients/{encoded}", headers=account.headers)
        assert response.status_code == 200
        assert response.json()["recipients"] == ["a@example.com"]

    def test_a_recipient_not_on_the_policy_changes_nothing(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account)
        assert removed(client, account, policy["id"], "https://elsewhere.example.com/") == policy

    def test_removing_the_last_leaves_none(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account)
        assert removed(client, account, policy["id"], FIRST)["recipients"] == []
        assert get_policy(client, account, policy["id"])["recipients"] == []
        assert added(client, account, policy["id"], [FIRST]) == [FIRST]

    def test_cancels_that_recipients_pending_deliveries_of_this_policy(
        self, client: Client, account: Account, database: Database
    ) -> None:
        other_url = "https://b.example.com/"
        policy = create_policy(client, account, recipients=[FIRST, other_url])
        sibling = create_policy(client, account, recipients=[FIRST])
        mine = queue_deliveries(database, account, policy["id"], [FIRST, other_url])
        sent = queue_deliveries(database, account, policy["id"], [FIRST], status="succeeded")
        theirs = queue_deliveries(database, account, sibling["id"], [FIRST])
        removed(client, account, policy["id"], FIRST)
        assert delivery_states(database, mine) == [("cancelled", True), ("pending", False)]
        assert delivery_states(database, sent + theirs) == [("succeeded", False), ("pending", False)]

    def test_a_recipient_not_on_the_policy_still_gets_nothing_waiting(
        self, client: Client, account: Account, database: Database
    ) -> None:
        # A delivery queued while the policy held the recipient, by a write that raced
        # its removal: removing it again cancels that too.
        policy = create_policy(client, account)
        pending = queue_deliveries(database, account, policy["id"], ["https://gone.example.com/"])
        assert removed(client, account, policy["id"], "https://gone.example.com/") == policy
        assert delivery_states(database, pending) == [("cancelled", True)]

    @pytest.mark.parametrize("ident", [MISSING, "not-a-uuid"])
    def test_an_unknown_policy_is_404(self, client: Client, account: Account, ident: str) -> None:
        assert client.delete(recipient_path(ident, FIRST), headers=account.headers).status_code == 404

    def test_another_accounts_policy_is_404(self, client: Client, account: Account, other_account: Account) -> None:
        theirs = create_policy(client, other_account)
        assert client.delete(recipient_path(theirs["id"], FIRST), headers=account.headers).status_code == 404
        assert get_policy(client, other_account, theirs["id"])["recipients"] == [FIRST]
