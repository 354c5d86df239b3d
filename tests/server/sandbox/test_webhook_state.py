"""The sandbox's controls and the webhook outbox (docs/webhooks.md): a reset removes the
account's policies, events and deliveries; a snapshot keeps the policies (Sequence's
objects) but not the event log; neither a reset, a restore nor a seed fires an event."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from patron.server.db import tables
from patron.server.db.engine import Database
from tests.conftest import Account
from tests.factories import create_customer, customer_body
from tests.server.sandbox.conftest import ADMIN
from tests.server.webhooks.logrows import add_policy

Client = TestClient[Litestar]


def counts(database: Database, account: Account) -> dict[str, int]:
    owner = uuid.UUID(account.account_id)
    found = {}
    with database.read() as tx:
        for table in (tables.notification_policy, tables.webhook_event, tables.webhook_delivery):
            query = select(func.count()).select_from(table).where(table.c.account_id == owner)
            found[table.name] = tx.execute(query).scalar_one()
    return found


def control(client: Client, account: Account, tail: str, **kwargs: object) -> None:
    answer = client.post(f"/_patron/accounts/{account.account_id}{tail}", headers=ADMIN, **kwargs)  # type: ignore[arg-type]
    assert answer.status_code in {200, 201, 204}, answer.text


def test_a_reset_removes_policies_events_and_deliveries(client: Client, database: Database, account: Account) -> None:
    add_policy(database, account, ["http://127.0.0.1:9/a"])
    create_customer(client, account.headers)
    assert counts(database, account) == {"notification_policies": 1, "webhook_events": 1, "webhook_deliveries": 1}
    control(client, account, "/reset")
    assert counts(database, account) == {"notification_policies": 0, "webhook_events": 0, "webhook_deliveries": 0}


def test_a_restore_brings_the_policies_back_keeps_the_log_and_fires_nothing(
    client: Client, database: Database, account: Account
) -> None:
    add_policy(database, account, ["http://127.0.0.1:9/a"])
    customer = create_customer(client, account.headers)
    control(client, account, "/snapshots", json={"name": "base"})
    body = {**customer_body(), "legalName": customer["legalName"]}
    client.put(f"/api/customers/{customer['id']}", json={**body, "label": "changed"}, headers=account.headers)
    with database.write() as tx:
        tx.execute(tables.notification_policy.delete())
    before = counts(database, account)
    control(client, account, "/snapshots/base/restore")
    after = counts(database, account)
    assert after == {**before, "notification_policies": 1}


def test_the_change_a_restore_undid_fires_again_when_made_again(
    client: Client, database: Database, account: Account
) -> None:
    body = customer_body()
    customer = client.post("/api/customers", json=body, headers=account.headers).json()
    control(client, account, "/snapshots", json={"name": "base"})
    url = f"/api/customers/{customer['id']}"
    client.put(url, json={**body, "label": "changed"}, headers=account.headers)
    control(client, account, "/snapshots/base/restore")
    client.put(url, json={**body, "label": "changed"}, headers=account.headers)
    assert counts(database, account)["webhook_events"] == 3


def test_a_seed_fires_nothing(client: Client, database: Database, account: Account) -> None:
    control(client, account, "/seed", json={"customers": [customer_body(), customer_body()]})
    assert counts(database, account)["webhook_events"] == 0
