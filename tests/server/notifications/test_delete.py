"""DELETE /notifications/policies/{id}: 200 with the policy as it was, then gone; its
deliveries still waiting are cancelled."""

from __future__ import annotations

import pytest

from patron.server.db.engine import Database
from tests.conftest import Account
from tests.server.notifications.policies import (
    MISSING,
    POLICIES,
    Client,
    create_policy,
    delivery_states,
    queue_deliveries,
)


class TestDeletePolicy:
    def test_answers_200_with_the_policy_as_it_was(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account, notificationTypes=["CUSTOMER_CREATED"])
        response = client.delete(f"{POLICIES}/{policy['id']}", headers=account.headers)
        assert response.status_code == 200
        assert response.json() == policy

    def test_then_it_is_gone(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account)
        client.delete(f"{POLICIES}/{policy['id']}", headers=account.headers)
        assert client.get(f"{POLICIES}/{policy['id']}", headers=account.headers).status_code == 404
        assert client.delete(f"{POLICIES}/{policy['id']}", headers=account.headers).status_code == 404
        adding = client.post(
            f"{POLICIES}/{policy['id']}/recipients",
            json={"recipients": ["https://x.example.com/"]},
            headers=account.headers,
        )
        assert adding.status_code == 404

    @pytest.mark.parametrize("ident", [MISSING, "not-a-uuid"])
    def test_an_unknown_or_malformed_id_is_404(self, client: Client, account: Account, ident: str) -> None:
        assert client.delete(f"{POLICIES}/{ident}", headers=account.headers).status_code == 404

    def test_another_accounts_policy_is_404_and_stays(
        self, client: Client, account: Account, other_account: Account
    ) -> None:
        theirs = create_policy(client, other_account)
        assert client.delete(f"{POLICIES}/{theirs['id']}", headers=account.headers).status_code == 404
        assert client.get(f"{POLICIES}/{theirs['id']}", headers=other_account.headers).status_code == 200

    def test_its_pending_deliveries_are_cancelled(self, client: Client, account: Account, database: Database) -> None:
        urls = ["https://a.example.com/", "https://b.example.com/"]
        policy = create_policy(client, account, recipients=urls)
        other = create_policy(client, account, recipients=urls)
        pending = queue_deliveries(database, account, policy["id"], urls)
        done = queue_deliveries(database, account, policy["id"], urls[:1], status="succeeded")
        failed = queue_deliveries(database, account, policy["id"], urls[:1], status="failed")
        others = queue_deliveries(database, account, other["id"], urls)
        client.delete(f"{POLICIES}/{policy['id']}", headers=account.headers)
        assert delivery_states(database, pending) == [("cancelled", True), ("cancelled", True)]
        assert delivery_states(database, done + failed) == [("succeeded", False), ("failed", False)]
        assert delivery_states(database, others) == [("pending", False), ("pending", False)]
