"""What the outbox asks of the policies (`service.targets`), after changes through the API."""

from __future__ import annotations

import uuid

from patron.server.db.engine import Database
from patron.server.notifications import service
from tests.conftest import Account
from tests.server.notifications.policies import POLICIES, Client, create_policy, recipient_path


def targeted(database: Database, account: Account, kind: str) -> dict[uuid.UUID, list[str]]:
    with database.read() as tx:
        return {t.policy_id: t.recipients for t in service.targets(tx, uuid.UUID(account.account_id), kind)}


def test_policies_match_by_their_lists(client: Client, account: Account, database: Database) -> None:
    every = uuid.UUID(create_policy(client, account)["id"])
    created = uuid.UUID(create_policy(client, account, notificationTypes=["CUSTOMER_CREATED"])["id"])
    create_policy(client, account, notificationTypes=[])
    assert set(targeted(database, account, "CUSTOMER_CREATED")) == {every, created}
    assert set(targeted(database, account, "CUSTOMER_UPDATED")) == {every}


def test_changes_through_the_api_change_what_matches(client: Client, account: Account, database: Database) -> None:
    first = create_policy(client, account)
    gone = create_policy(client, account)
    client.delete(f"{POLICIES}/{first['id']}/notification-types/CUSTOMER_UPDATED", headers=account.headers)
    client.post(
        f"{POLICIES}/{first['id']}/recipients", json={"recipients": ["https://b.example.com/"]}, headers=account.headers
    )
    client.delete(recipient_path(first["id"], "https://hooks.example.com/sequence"), headers=account.headers)
    client.delete(f"{POLICIES}/{gone['id']}", headers=account.headers)
    assert targeted(database, account, "CUSTOMER_UPDATED") == {}
    assert targeted(database, account, "CUSTOMER_CREATED") == {uuid.UUID(first["id"]): ["https://b.example.com/"]}


def test_another_accounts_policies_never_match(
    client: Client, account: Account, other_account: Account, database: Database
) -> None:
    create_policy(client, other_account)
    assert targeted(database, account, "CUSTOMER_CREATED") == {}
