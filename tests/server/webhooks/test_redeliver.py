"""`POST /_patron/events/{id}/redeliver` (docs/webhooks.md): new pending deliveries of the
same event (same `webhook-id`, same body), due now, for the live webhook policies taking
its type, or only the policy or recipient named; whatever became of the earlier ones."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from patron.server.config import Settings
from patron.server.db import tables
from patron.server.db.engine import Database
from tests.conftest import NO_LIMITS, SECRET_KEY, Account
from tests.factories import create_customer
from tests.server.notifications.policies import create_policy
from tests.server.webhooks.logrows import add_delivery, add_event, add_policy

Client = TestClient[Litestar]


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Deliveries recorded, never sent (`PATRON_WEBHOOKS=off`): the rows stay as a test left them."""
    return Settings(database_url=database_url, secret_key=SECRET_KEY, webhooks=False, **NO_LIMITS)


A, B = "http://127.0.0.1:9/a", "http://127.0.0.1:9/b"
d = tables.webhook_delivery.c


def redeliver(client: Client, account: Account, event_id: str, status: int = 201, **body: Any) -> Any:
    answer = client.post(f"/_patron/events/{event_id}/redeliver", json=body, headers=account.headers)
    assert answer.status_code == status, answer.text
    return answer.json()


def stored(database: Database, event_id: str) -> list[Any]:
    with database.read() as tx:
        query = select(d.id, d.recipient, d.status, d.redelivery, d.attempts, d.next_attempt_at).where(
            d.event_id == uuid.UUID(event_id)
        )
        return list(tx.execute(query.order_by(d.id)))


class TestRedeliver:
    def test_every_recipient_of_every_live_webhook_policy_taking_the_type(
        self, client: Client, database: Database, account: Account
    ) -> None:
        event = add_event(database, account, "CUSTOMER_UPDATED")
        both = add_policy(database, account, [A, B])
        updates = add_policy(database, account, [A], kinds=["CUSTOMER_UPDATED"])
        add_policy(database, account, [A], kinds=["CUSTOMER_CREATED"])  # another type
        add_policy(database, account, [A], deleted=True)
        add_policy(database, account, ["ops@example.com"], channel="EMAIL")
        made = redeliver(client, account, event)["items"]
        assert sorted((item["policyId"], item["recipient"]) for item in made) == sorted(
            [(both, A), (both, B), (updates, A)]
        )
        for item in made:
            assert item["eventId"] == event
            assert item["status"] == "pending"
            assert item["redelivery"] is True
            assert item["attemptCount"] == 0
            assert item["nextAttemptAt"] == item["createdAt"]
        rows = stored(database, event)
        assert {str(row.id) for row in rows} == {item["id"] for item in made}
        assert all(row.redelivery and row.status == "pending" and row.attempts == 0 for row in rows)

    def test_also_after_failed_and_succeeded_deliveries(
        self, client: Client, database: Database, account: Account
    ) -> None:
        event = add_event(database, account)
        policy = add_policy(database, account, [A, B])
        failed = add_delivery(database, account, event, policy, A, status="failed", attempts=10, last_status=500)
        done = add_delivery(database, account, event, policy, B, status="succeeded", attempts=1, last_status=200)
        made = redeliver(client, account, event)["items"]
        assert {item["recipient"] for item in made} == {A, B}
        found = client.get(f"/_patron/events/{event}", headers=account.headers).json()["deliveries"]
        statuses = {item["id"]: item["status"] for item in found}
        assert statuses[failed] == "failed"
        assert statuses[done] == "succeeded"
        assert sorted(s for i, s in statuses.items() if i not in {failed, done}) == ["pending", "pending"]

    def test_the_policy_or_the_recipient_named(self, client: Client, database: Database, account: Account) -> None:
        event = add_event(database, account)
        first = add_policy(database, account, [A, B])
        second = add_policy(database, account, [A])
        by_policy = redeliver(client, account, event, policyId=second)["items"]
        assert [(item["policyId"], item["recipient"]) for item in by_policy] == [(second, A)]
        by_recipient = redeliver(client, account, event, recipient=B)["items"]
        assert [(item["policyId"], item["recipient"]) for item in by_recipient] == [(first, B)]
        both = redeliver(client, account, event, policyId=first, recipient=A)["items"]
        assert [(item["policyId"], item["recipient"]) for item in both] == [(first, A)]

    def test_no_body_is_every_policy(self, client: Client, database: Database, account: Account) -> None:
        event = add_event(database, account)
        add_policy(database, account, [A])
        answer = client.post(f"/_patron/events/{event}/redeliver", headers=account.headers)
        assert answer.status_code == 201, answer.text
        assert [item["recipient"] for item in answer.json()["items"]] == [A]

    def test_with_no_policy_taking_it_nothing_is_made(
        self, client: Client, database: Database, account: Account
    ) -> None:
        event = add_event(database, account)
        assert redeliver(client, account, event) == {"items": []}
        assert stored(database, event) == []

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"policyId": "nope"}, "policyId"),
            ({"policyId": "0190c6a2-05c0-7a2b-89f1-0c4d5e6f7a8b"}, "policyId"),
            ({"recipient": "http://127.0.0.1:9/elsewhere"}, "recipient"),
        ],
    )
    def test_a_name_that_matches_nothing_is_400(
        self, client: Client, database: Database, account: Account, body: dict[str, str], field: str
    ) -> None:
        event = add_event(database, account)
        add_policy(database, account, [A])
        answer = redeliver(client, account, event, 400, **body)
        assert field in answer["error"]["message"]
        assert stored(database, event) == []

    def test_a_policy_that_does_not_take_the_type_or_is_an_email_one_is_400(
        self, client: Client, database: Database, account: Account
    ) -> None:
        event = add_event(database, account, "CUSTOMER_ARCHIVED")
        created_only = add_policy(database, account, [A], kinds=["CUSTOMER_CREATED"])
        email = add_policy(database, account, ["ops@example.com"], channel="EMAIL")
        gone = add_policy(database, account, [A], deleted=True)
        for policy in (created_only, email, gone):
            assert "policyId" in redeliver(client, account, event, 400, policyId=policy)["error"]["message"]

    @pytest.mark.parametrize("ident", ["not-a-uuid", "0190c6a2-05c0-7a2b-89f1-0c4d5e6f7a8b"])
    def test_an_unknown_event_is_404(self, client: Client, account: Account, ident: str) -> None:
        assert redeliver(client, account, ident, 404)["error"]["type"] == "NotFound"

    def test_another_account_s_event_is_404(
        self, client: Client, database: Database, account: Account, other_account: Account
    ) -> None:
        event = add_event(database, account)
        add_policy(database, account, [A])
        add_policy(database, other_account, [A])
        redeliver(client, other_account, event, 404)
        assert stored(database, event) == []

    def test_a_retry_with_its_idempotency_key_redelivers_once(
        self, client: Client, database: Database, account: Account
    ) -> None:
        event = add_event(database, account)
        add_policy(database, account, [A])
        headers = {**account.headers, "Idempotency-Key": "resend-1"}
        first = client.post(f"/_patron/events/{event}/redeliver", json={}, headers=headers)
        again = client.post(f"/_patron/events/{event}/redeliver", json={}, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.content == first.content
        assert len(stored(database, event)) == 1

    def test_wakes_the_dispatcher_once_committed(
        self, app: Litestar, client: Client, database: Database, account: Account
    ) -> None:
        event = add_event(database, account)
        add_policy(database, account, [A])
        seen: list[int] = []

        class Dispatcher:
            def offer(self) -> None:
                return None

            def wake(self, queued: object = None) -> None:
                # Woken after the commit: a fresh transaction already sees the new delivery.
                seen.append(len(stored(database, event)))

        app.state.dispatcher = Dispatcher()
        redeliver(client, account, event)
        assert seen == [1]

    def test_without_credentials_it_is_401(self, client: Client, database: Database, account: Account) -> None:
        event = add_event(database, account)
        assert client.post(f"/_patron/events/{event}/redeliver", json={}).status_code == 401


class TestOnTheAccountsClock:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return Settings(
            database_url=database_url, secret_key=SECRET_KEY, admin_token="token", webhooks=False, **NO_LIMITS
        )

    def test_due_at_the_frozen_time(self, client: Client, database: Database, account: Account) -> None:
        operator = {"Authorization": "Bearer token"}
        frozen = "2031-05-06T07:08:09.010Z"
        answer = client.put(
            f"/_patron/accounts/{account.account_id}/clock", json={"frozenTime": frozen}, headers=operator
        )
        assert answer.status_code == 200, answer.text
        event = add_event(database, account)
        add_policy(database, account, [A])
        (made,) = redeliver(client, account, event)["items"]
        assert made["nextAttemptAt"] == made["createdAt"] == frozen
        (row,) = stored(database, event)
        assert row.next_attempt_at.astimezone(UTC) == datetime(2031, 5, 6, 7, 8, 9, 10_000, tzinfo=UTC)


def test_a_real_event_redelivered_keeps_its_id_and_body(client: Client, account: Account) -> None:
    policy = create_policy(client, account, recipients=[A])["id"]
    created = create_customer(client, account.headers)
    (event,) = client.get("/_patron/events", headers=account.headers).json()["items"]
    assert event["resourceId"] == created["id"]
    (again,) = redeliver(client, account, event["id"])["items"]
    assert (again["eventId"], again["policyId"], again["redelivery"]) == (event["id"], policy, True)
    found = client.get(f"/_patron/events/{event['id']}", headers=account.headers).json()
    assert found["rawBody"] == event["rawBody"]
    assert sorted(d["redelivery"] for d in found["deliveries"]) == [False, True]


def test_a_policy_deleted_through_the_api_is_not_redelivered_to(client: Client, account: Account) -> None:
    kept = create_policy(client, account, recipients=[A])["id"]
    gone = create_policy(client, account, recipients=[B])["id"]
    create_customer(client, account.headers)
    (event,) = client.get("/_patron/events", headers=account.headers).json()["items"]
    assert client.delete(f"/api/notifications/policies/{gone}", headers=account.headers).status_code == 200
    made = redeliver(client, account, event["id"])["items"]
    assert [(item["policyId"], item["recipient"]) for item in made] == [(kept, A)]
    assert "policyId" in redeliver(client, account, event["id"], 400, policyId=gone)["error"]["message"]
