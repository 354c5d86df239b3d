"""Which writes record which webhook events (docs/webhooks.md): one event per customer whose
representation a committed write changed, with a delivery per matching policy and recipient,
in the write's own transaction."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from patron.server.db import tables
from patron.server.db.engine import Database
from patron.server.webhooks.service import outbox
from tests.conftest import Account
from tests.factories import contact, create_customer, customer_body
from tests.server.webhooks.logrows import add_policy

e = tables.webhook_event.c
w = tables.webhook_delivery.c


def events(database: Database, account: Account) -> list[tuple[str, str, dict[str, Any]]]:
    """(type, resource id, body) of the account's events, in the order they were recorded."""
    with database.read() as tx:
        rows = tx.execute(
            select(e.notification_type, e.resource_id, e.body)
            .where(e.account_id == uuid.UUID(account.account_id))
            .order_by(e.id)
        ).all()
    return [(row.notification_type, str(row.resource_id), json.loads(row.body)) for row in rows]


def types(database: Database, account: Account) -> list[tuple[str, str]]:
    return [(kind, resource) for kind, resource, _ in events(database, account)]


def test_a_create_records_the_customer_as_get_renders_it(
    client: TestClient[Litestar], account: Account, database: Database
) -> None:
    created = create_customer(client, account.headers)
    [(kind, resource_id, body)] = events(database, account)
    assert (kind, resource_id) == ("CUSTOMER_CREATED", created["id"])
    fetched = client.get(f"/api/customers/{created['id']}", headers=account.headers).json()
    assert body == {
        "notificationType": "CUSTOMER_CREATED",
        "sequenceAccountId": account.account_id,
        "resourceType": "Customer",
        "resourceId": created["id"],
        "resource": fetched,
    }
    assert list(body) == ["notificationType", "sequenceAccountId", "resourceType", "resourceId", "resource"]


def test_the_body_is_compact_json_with_the_customer_bytes_as_the_api_answers(
    client: TestClient[Litestar], account: Account, database: Database
) -> None:
    created = create_customer(client, account.headers)
    fetched = client.get(f"/api/customers/{created['id']}", headers=account.headers)
    with database.read() as tx:
        body = tx.execute(select(e.body)).scalar_one()
    assert body.endswith(b',"resource":' + fetched.content + b"}")
    assert b": " not in body
    assert not body.endswith(b"\n")


def test_a_child_fires_created_and_its_parent_updated(
    client: TestClient[Litestar], account: Account, database: Database
) -> None:
    parent = create_customer(client, account.headers)
    child = create_customer(client, account.headers, parentId=parent["id"])
    recorded = {(kind, resource): body for kind, resource, body in events(database, account)[1:]}
    assert set(recorded) == {("CUSTOMER_CREATED", child["id"]), ("CUSTOMER_UPDATED", parent["id"])}
    members = recorded["CUSTOMER_UPDATED", parent["id"]]["resource"]["organizations"][0]["members"]
    assert members == [{"id": child["id"], "name": child["legalName"]}]


def test_a_put_that_changes_nothing_fires_nothing(
    client: TestClient[Litestar], account: Account, database: Database
) -> None:
    body = customer_body()
    created = client.post("/api/customers", json=body, headers=account.headers).json()
    same = client.put(f"/api/customers/{created['id']}", json=body, headers=account.headers)
    assert same.status_code == 200
    assert types(database, account) == [("CUSTOMER_CREATED", created["id"])]
    changed = client.put(f"/api/customers/{created['id']}", json={**body, "label": "vip"}, headers=account.headers)
    assert changed.status_code == 200
    assert types(database, account)[-1] == ("CUSTOMER_UPDATED", created["id"])
    assert events(database, account)[-1][2]["resource"]["label"] == "vip"


def test_archive_fires_archived_once(client: TestClient[Litestar], account: Account, database: Database) -> None:
    created = create_customer(client, account.headers)
    for _ in range(2):
        assert client.post(f"/api/customers/{created['id']}/archive", headers=account.headers).status_code == 200
    assert types(database, account) == [("CUSTOMER_CREATED", created["id"]), ("CUSTOMER_ARCHIVED", created["id"])]
    assert events(database, account)[-1][2]["resource"]["archivedAt"]


def test_contact_writes_fire_updated_for_their_customer(
    client: TestClient[Litestar], account: Account, database: Database
) -> None:
    created = create_customer(client, account.headers)
    url = f"/api/customers/{created['id']}/contacts"
    added = client.post(url, json=contact(billing_preference="STANDARD"), headers=account.headers)
    assert added.status_code == 201
    archived = client.post(f"{url}/{added.json()['id']}/archive", headers=account.headers)
    assert archived.status_code == 200
    assert types(database, account) == [("CUSTOMER_CREATED", created["id"])] + [("CUSTOMER_UPDATED", created["id"])] * 2


def test_organization_writes_fire_updated_for_owner_and_members(
    client: TestClient[Litestar], account: Account, database: Database
) -> None:
    owner, first, second = (create_customer(client, account.headers) for _ in range(3))
    made = client.post(
        "/api/customer-organizations",
        json={"ownerId": owner["id"], "memberIds": [first["id"]]},
        headers=account.headers,
    )
    assert made.status_code == 201
    assert sorted(types(database, account)[3:]) == sorted(
        [("CUSTOMER_UPDATED", owner["id"]), ("CUSTOMER_UPDATED", first["id"])]
    )
    before = len(events(database, account))
    added = client.post(
        f"/api/customer-organizations/{made.json()['id']}/members",
        json={"customerIds": [second["id"]]},
        headers=account.headers,
    )
    assert added.status_code == 200
    # Everyone's `organizations` now lists the new member.
    assert sorted(r for _, r in types(database, account)[before:]) == sorted([owner["id"], first["id"], second["id"]])


def test_renaming_an_owner_fires_updated_for_its_members(
    client: TestClient[Litestar], account: Account, database: Database
) -> None:
    body = customer_body()
    owner = client.post("/api/customers", json=body, headers=account.headers).json()
    member = create_customer(client, account.headers, parentId=owner["id"])
    before = len(events(database, account))
    renamed = client.put(
        f"/api/customers/{owner['id']}", json={**body, "legalName": "Renamed Ltd"}, headers=account.headers
    )
    assert renamed.status_code == 200
    after = events(database, account)[before:]
    assert sorted(r for _, r, _ in after) == sorted([owner["id"], member["id"]])
    member_body = next(b for _, r, b in after if r == member["id"])
    assert member_body["resource"]["organizations"][0]["owner"]["name"] == "Renamed Ltd"


def test_aliases_fire_nothing(client: TestClient[Litestar], account: Account, database: Database) -> None:
    created = create_customer(client, account.headers)
    alias = client.post(
        "/api/customer-aliases", json={"customerId": created["id"], "value": "crm-1"}, headers=account.headers
    )
    assert alias.status_code == 201
    assert types(database, account) == [("CUSTOMER_CREATED", created["id"])]


def test_an_idempotent_replay_fires_nothing(client: TestClient[Litestar], account: Account, database: Database) -> None:
    body = customer_body()
    headers = {**account.headers, "Idempotency-Key": "once"}
    first = client.post("/api/customers", json=body, headers=headers)
    again = client.post("/api/customers", json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert len(events(database, account)) == 1


def test_a_failed_write_records_nothing(client: TestClient[Litestar], account: Account, database: Database) -> None:
    bad = client.post("/api/customers", json=customer_body(parentId=str(uuid.uuid4())), headers=account.headers)
    assert bad.status_code == 400
    assert events(database, account) == []


def test_a_delivery_per_matching_webhook_recipient_and_skipped_for_email(
    client: TestClient[Litestar], account: Account, database: Database
) -> None:
    hooks = uuid.UUID(add_policy(database, account, ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"]))
    add_policy(database, account, ["http://127.0.0.1:9/c"], kinds=["CUSTOMER_ARCHIVED"])
    mail = uuid.UUID(add_policy(database, account, ["ops@example.com"], channel="EMAIL", kinds=["CUSTOMER_CREATED"]))
    create_customer(client, account.headers)
    with database.read() as tx:
        rows = tx.execute(select(w.policy_id, w.recipient, w.status, w.attempts).order_by(w.recipient)).all()
    assert [tuple(r) for r in rows] == [
        (hooks, "http://127.0.0.1:9/a", "pending", 0),
        (hooks, "http://127.0.0.1:9/b", "pending", 0),
        (mail, "ops@example.com", "skipped", 0),
    ]


def test_another_accounts_policy_never_matches(
    client: TestClient[Litestar], account: Account, other_account: Account, database: Database
) -> None:
    add_policy(database, other_account, ["http://127.0.0.1:9/a"])
    create_customer(client, account.headers)
    with database.read() as tx:
        assert tx.execute(select(w.id)).all() == []


@pytest.mark.parametrize("kinds", [[], ["INVOICE_CREATED"]])
def test_a_policy_whose_types_exclude_the_event_gets_no_delivery(
    client: TestClient[Litestar], account: Account, database: Database, kinds: list[str]
) -> None:
    add_policy(database, account, ["http://127.0.0.1:9/a"], kinds=kinds)
    create_customer(client, account.headers)
    with database.read() as tx:
        assert tx.execute(select(w.id)).all() == []


def test_a_write_that_fails_after_recording_its_event_keeps_none(
    client: TestClient[Litestar], account: Account, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_policy(database, account, ["http://127.0.0.1:9/a"])
    real = outbox.record

    def record_then_fail(*args: Any, **kwargs: Any) -> frozenset[str]:
        real(*args, **kwargs)
        raise RuntimeError("the write fails after its event is recorded")

    monkeypatch.setattr(outbox, "record", record_then_fail)
    failed = client.post("/api/customers", json=customer_body(), headers=account.headers)
    assert failed.status_code == 500
    assert events(database, account) == []
    with database.read() as tx:
        assert tx.execute(select(w.id)).all() == []
        assert tx.execute(select(tables.customer.c.id)).all() == []
