"""Sending webhook deliveries (docs/webhooks.md): what a receiver gets, retries and their
schedule by the account's clock, the status codes that end a delivery, leases, flush and
the switches (`PATRON_WEBHOOKS`, `PATRON_WEBHOOK_ALLOW_PRIVATE`)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import insert, select, update

from patron.server import clock
from patron.server.app import create_app
from patron.server.config import Settings
from patron.server.db import tables
from patron.server.db.engine import Database
from patron.server.webhooks.repository.deliveries import Candidate
from patron.server.webhooks.service import dispatch
from patron.wire import signature
from tests.conftest import NO_LIMITS, SECRET_KEY, Account, make_account
from tests.factories import create_customer
from tests.server.sandbox.conftest import ADMIN, ADMIN_TOKEN
from tests.system.receiver import Receiver, Reply

Client = TestClient[Litestar]
SECRET = "whsec_DispatchTestSecret0123456789abcd"
FROZEN = "2030-01-01T00:00:00.000Z"
d = tables.webhook_delivery.c
t = tables.webhook_attempt.c
p = tables.notification_policy.c


def _settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhooks": False,
        "webhook_retry_schedule": (0.0, 1.0, 2.0),
        "webhook_timeout": 2.0,
        "admin_token": ADMIN_TOKEN,
        **NO_LIMITS,
        **overrides,
    }
    return Settings(database_url=database_url, secret_key=SECRET_KEY, **values)


@contextmanager
def served(database_url: str, **overrides: Any) -> Iterator[tuple[Client, Database, Account]]:
    """An app of its own with these settings, started (its dispatcher runs), and an account."""
    app = create_app(_settings(database_url, **overrides))
    try:
        with TestClient(app) as client:
            yield client, app.state.database, make_account(app.state.database, "own")
    finally:
        app.state.database.close()


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Nothing sent on its own (each test flushes), the test schedule `0,1s,2s`, the
    control plane on (test clocks)."""
    return _settings(database_url)


@dataclass(frozen=True)
class Queued:
    policy_id: uuid.UUID
    event_id: uuid.UUID
    delivery_id: uuid.UUID
    body: bytes
    recipient: str


def add_policy(database: Database, account: Account, recipients: list[str], secret: str = SECRET) -> uuid.UUID:
    policy_id = clock.new_id()
    with database.write() as tx:
        tx.execute(
            insert(tables.notification_policy).values(
                account_id=uuid.UUID(account.account_id),
                id=policy_id,
                name="hooks",
                channel="WEBHOOK",
                recipients=recipients,
                notification_types=None,
                webhook_secret=secret,
                created_at=clock.utc_now(),
            )
        )
    return policy_id


def queue(
    database: Database, account: Account, url: str, *, policy_id: uuid.UUID | None = None, at: datetime | None = None
) -> Queued:
    """An event and its pending delivery to `url`, as the outbox records them (due `at`,
    the account's now: its test clock when frozen)."""
    policy_id = policy_id or add_policy(database, account, [url])
    now = at or clock.utc_now()
    event_id, delivery_id = clock.new_id(), clock.new_id()
    customer = str(clock.new_id())
    body = json.dumps(
        {
            "notificationType": "CUSTOMER_CREATED",
            "sequenceAccountId": account.account_id,
            "resourceType": "Customer",
            "resourceId": customer,
            "resource": {"id": customer, "legalName": "Acme Ltd"},
        },
        separators=(",", ":"),
    ).encode()
    owner = uuid.UUID(account.account_id)
    with database.write() as tx:
        tx.execute(
            insert(tables.webhook_event).values(
                account_id=owner,
                id=event_id,
                notification_type="CUSTOMER_CREATED",
                resource_type="Customer",
                resource_id=uuid.UUID(customer),
                body=body,
                created_at=now,
            )
        )
        tx.execute(
            insert(tables.webhook_delivery).values(
                account_id=owner,
                id=delivery_id,
                event_id=event_id,
                policy_id=policy_id,
                recipient=url,
                channel="WEBHOOK",
                status="pending",
                attempts=0,
                next_attempt_at=now,
                redelivery=False,
                created_at=now,
            )
        )
    return Queued(policy_id, event_id, delivery_id, body, url)


def written(client: Client, database: Database, account: Account) -> list[Queued]:
    """`POST /api/customers`, and the deliveries its `CUSTOMER_CREATED` event queued (in
    the order of the policies and their recipients)."""
    customer = create_customer(client, account.headers)
    e = tables.webhook_event.c
    with database.read() as tx:
        event = tx.execute(
            select(e.id, e.body).where(
                e.resource_id == uuid.UUID(customer["id"]), e.notification_type == "CUSTOMER_CREATED"
            )
        ).one()
        rows = tx.execute(select(d.id, d.policy_id, d.recipient).where(d.event_id == event.id).order_by(d.id)).all()
    return [Queued(row.policy_id, event.id, row.id, bytes(event.body), row.recipient) for row in rows]


def create_policy(client: Client, account: Account, recipients: list[str], secret: str = SECRET) -> str:
    """`POST /api/notifications/policies`: a webhook policy for every event; its id."""
    body = {"name": "hooks", "channel": "WEBHOOK", "recipients": recipients, "webhookSecret": secret}
    answer = client.post("/api/notifications/policies", json=body, headers=account.headers)
    assert answer.status_code == 201, answer.text
    policy_id: str = answer.json()["id"]
    return policy_id


def created(client: Client, database: Database, account: Account, url: str) -> Queued:
    """A policy (through the API) sending every event to `url`, then a real write
    (`POST /api/customers`): its one delivery."""
    create_policy(client, account, [url])
    [queued] = written(client, database, account)
    return queued


def flush(client: Client, account: Account, *, every: bool = False) -> dict[str, int]:
    answer = client.post("/_patron/webhooks/flush", params={"all": "true"} if every else None, headers=account.headers)
    assert answer.status_code == 200, answer.text
    counts: dict[str, int] = answer.json()
    return counts


def delivery(database: Database, queued: Queued) -> Any:
    with database.read() as tx:
        return tx.execute(select(tables.webhook_delivery).where(d.id == queued.delivery_id)).one()


def attempts(database: Database, queued: Queued) -> list[Any]:
    with database.read() as tx:
        query = select(tables.webhook_attempt).where(t.delivery_id == queued.delivery_id).order_by(t.number)
        return list(tx.execute(query).all())


def freeze(client: Client, account: Account, moment: str = FROZEN) -> datetime:
    answer = client.put(f"/_patron/accounts/{account.account_id}/clock", json={"frozenTime": moment}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return datetime.fromisoformat(moment)


def advance(client: Client, account: Account, by: str) -> None:
    path = f"/_patron/accounts/{account.account_id}/clock/advance"
    answer = client.post(path, json={"by": by}, headers=ADMIN)
    assert answer.status_code == 200, answer.text


class TestWhatTheReceiverGets:
    def test_the_body_is_the_events_bytes_and_the_signature_verifies(
        self, client: Client, account: Account, database: Database
    ) -> None:
        with Receiver() as hook:
            queued = created(client, database, account, hook.url)
            assert flush(client, account) == {
                "attempts": 1,
                "succeeded": 1,
                "failed": 0,
                "retrying": 0,
                "cancelled": 0,
                "pending": 0,
            }
            [got] = hook.received
        assert got.method == "POST"
        assert got.path == "/hooks"
        assert got.body == queued.body
        t_ms = signature.verify(got.body, got.headers["sequence-signature"], SECRET)
        assert got.headers["content-type"] == "application/json"
        assert got.headers["user-agent"].startswith("patron/")
        assert got.headers["user-agent"].endswith(" (webhooks)")
        assert got.headers["webhook-id"] == str(queued.event_id)
        assert got.headers["webhook-timestamp"] == str(t_ms // 1000)
        expected = signature.standard(SECRET, str(queued.event_id), t_ms // 1000, queued.body)
        assert got.headers["webhook-signature"] == expected

    def test_the_delivery_and_its_attempt_are_recorded_without_the_secret(
        self, client: Client, account: Account, database: Database
    ) -> None:
        with Receiver(Reply(201, {"X-Receiver": "yes"}, b"thanks " * 1000)) as hook:
            queued = created(client, database, account, hook.url)
            flush(client, account)
            [got] = hook.received
        row = delivery(database, queued)
        assert (row.status, row.attempts, row.last_status, row.last_error) == ("succeeded", 1, 201, None)
        assert row.lease_until is None
        assert row.finished_at is not None
        [attempt] = attempts(database, queued)
        assert attempt.number == 1
        assert attempt.status_code == 201
        assert attempt.response_headers["x-receiver"] == "yes"
        assert len(attempt.response_excerpt.encode()) == 4096
        assert attempt.error is None
        assert attempt.duration_ms >= 0
        assert attempt.request_headers["Sequence-Signature"] == got.headers["sequence-signature"]
        assert attempt.signed_at_ms == signature.parse(got.headers["sequence-signature"])[0]
        assert all(SECRET not in value for value in attempt.request_headers.values())
        assert SECRET.removeprefix("whsec_") not in json.dumps(attempt.request_headers)

    def test_without_standard_headers_only_sequences_are_sent(self, database_url: str) -> None:
        with served(database_url, webhook_standard_headers=False) as (client, database, owner), Receiver() as hook:
            created(client, database, owner, hook.url)
            flush(client, owner)
            [got] = hook.received
        assert "sequence-signature" in got.headers
        assert not [name for name in got.headers if name.startswith("webhook-")]

    def test_a_secret_that_is_not_base64_sends_no_webhook_signature(
        self, client: Client, account: Account, database: Database
    ) -> None:
        with Receiver() as hook:
            policy = add_policy(database, account, [hook.url], secret="not base64!")
            queued = queue(database, account, hook.url, policy_id=policy)
            flush(client, account)
            [got] = hook.received
        signature.verify(got.body, got.headers["sequence-signature"], "not base64!")
        assert got.headers["webhook-id"] == str(queued.event_id)
        assert "webhook-signature" not in got.headers


class TestRetries:
    def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt_of_one_flush(
        self, client: Client, account: Account, database: Database
    ) -> None:
        with Receiver(Reply(500), Reply(500)) as hook:
            queued = created(client, database, account, hook.url)
            counts = flush(client, account, every=True)
            got = hook.received
        assert (counts["attempts"], counts["retrying"], counts["succeeded"], counts["pending"]) == (3, 2, 1, 0)
        assert len(got) == 3
        assert {request.headers["webhook-id"] for request in got} == {str(queued.event_id)}
        assert {request.body for request in got} == {queued.body}
        assert [a.status_code for a in attempts(database, queued)] == [500, 500, 200]
        assert delivery(database, queued).status == "succeeded"

    def test_a_failed_attempt_waits_for_the_next_step_of_the_schedule(
        self, client: Client, account: Account, database: Database
    ) -> None:
        with Receiver(Reply(500)) as hook:
            queued = created(client, database, account, hook.url)
            counts = flush(client, account)
            assert (counts["attempts"], counts["retrying"], counts["pending"]) == (1, 1, 1)
            row = delivery(database, queued)
            [first] = attempts(database, queued)
            assert (row.status, row.attempts, row.last_status) == ("pending", 1, 500)
            # 1 s, ±10%, after the attempt.
            wait = row.next_attempt_at - first.started_at
            assert timedelta(seconds=0.9) <= wait <= timedelta(seconds=1.2)
            assert len(hook.received) == 1

    def test_after_the_last_step_the_delivery_fails(self, client: Client, account: Account, database: Database) -> None:
        with Receiver(default=Reply(503)) as hook:
            queued = created(client, database, account, hook.url)
            counts = flush(client, account, every=True)
            assert len(hook.received) == 3
        assert (counts["attempts"], counts["retrying"], counts["failed"], counts["pending"]) == (3, 2, 1, 0)
        row = delivery(database, queued)
        assert (row.status, row.attempts, row.last_status, row.next_attempt_at) == ("failed", 3, 503, None)

    def test_the_background_dispatcher_retries_on_its_own(self, database_url: str) -> None:
        with (
            served(database_url, webhooks=True) as (client, database, owner),
            Receiver(Reply(500), Reply(500)) as hook,
        ):
            queued = created(client, database, owner, hook.url)
            got = hook.wait_for(3)
            deadline = time.monotonic() + 10
            while delivery(database, queued).status == "pending" and time.monotonic() < deadline:
                time.sleep(0.05)
            assert delivery(database, queued).status == "succeeded"
        assert {request.headers["webhook-id"] for request in got} == {str(queued.event_id)}


class TestTheTestClock:
    def test_a_frozen_clock_holds_a_retry_until_it_is_advanced(
        self, client: Client, account: Account, database: Database
    ) -> None:
        frozen = freeze(client, account)
        with Receiver(Reply(500)) as hook:
            queued = created(client, database, account, hook.url)
            assert flush(client, account)["retrying"] == 1
            assert flush(client, account)["attempts"] == 0
            advance(client, account, "PT0.8S")
            assert flush(client, account)["attempts"] == 0
            advance(client, account, "PT0.5S")
            assert flush(client, account)["succeeded"] == 1
            first, second = hook.received
        row = delivery(database, queued)
        assert row.status == "succeeded"
        assert row.finished_at == frozen + timedelta(seconds=1.3)
        # `t` is the account's now: the frozen moment, then 1.3 s later.
        times = [signature.parse(r.headers["sequence-signature"])[0] for r in (first, second)]
        assert times == [int(frozen.timestamp() * 1000), int(frozen.timestamp() * 1000) + 1300]
        signature.verify(second.body, second.headers["sequence-signature"], SECRET, tolerance_s=None)

    def test_a_delivery_due_later_on_the_test_clock_waits_for_it(
        self, client: Client, account: Account, database: Database
    ) -> None:
        frozen = freeze(client, account)
        with Receiver() as hook:
            queue(database, account, hook.url, at=frozen + timedelta(hours=1))
            assert flush(client, account) == {
                "attempts": 0,
                "succeeded": 0,
                "failed": 0,
                "retrying": 0,
                "cancelled": 0,
                "pending": 1,
            }
            advance(client, account, "PT1H")
            assert flush(client, account)["succeeded"] == 1
            assert len(hook.received) == 1


class TestStatusCodes:
    def test_retry_after_on_503_is_honoured(self, client: Client, account: Account, database: Database) -> None:
        frozen = freeze(client, account)
        with Receiver(Reply(503, {"Retry-After": "2"})) as hook:
            queued = created(client, database, account, hook.url)
            flush(client, account)
            assert delivery(database, queued).next_attempt_at == frozen + timedelta(seconds=2)
            advance(client, account, "PT1.5S")  # past the 1 s step (with its jitter), not past Retry-After
            assert flush(client, account)["attempts"] == 0
            advance(client, account, "PT0.5S")
            assert flush(client, account)["succeeded"] == 1
            assert len(hook.received) == 2

    def test_retry_after_on_429_is_capped_at_twice_the_next_step(
        self, client: Client, account: Account, database: Database
    ) -> None:
        frozen = freeze(client, account)
        with Receiver(Reply(429, {"Retry-After": "3600"})) as hook:
            queued = created(client, database, account, hook.url)
            flush(client, account)
            assert delivery(database, queued).next_attempt_at == frozen + timedelta(seconds=2)
            advance(client, account, "PT2S")
            assert flush(client, account)["succeeded"] == 1
            assert len(hook.received) == 2

    def test_retry_after_is_ignored_on_a_500(self, client: Client, account: Account, database: Database) -> None:
        frozen = freeze(client, account)
        with Receiver(Reply(500, {"Retry-After": "2"})) as hook:
            queued = created(client, database, account, hook.url)
            flush(client, account)
            assert delivery(database, queued).next_attempt_at < frozen + timedelta(seconds=1.2)
            assert len(hook.received) == 1

    def test_410_fails_the_delivery_at_once(self, client: Client, account: Account, database: Database) -> None:
        with Receiver(Reply(410)) as hook:
            queued = created(client, database, account, hook.url)
            counts = flush(client, account, every=True)
            assert len(hook.received) == 1
        assert (counts["attempts"], counts["failed"], counts["pending"]) == (1, 1, 0)
        row = delivery(database, queued)
        assert (row.status, row.attempts, row.last_status) == ("failed", 1, 410)

    def test_a_redirect_is_a_failure_and_is_not_followed(
        self, client: Client, account: Account, database: Database
    ) -> None:
        with Receiver() as target, Receiver(Reply(302, {"Location": target.url})) as hook:
            queued = created(client, database, account, hook.url)
            counts = flush(client, account)
            assert len(hook.received) == 1
            assert target.received == []
        assert counts["retrying"] == 1
        row = delivery(database, queued)
        assert (row.status, row.last_status) == ("pending", 302)
        assert "redirects are not followed" in row.last_error
        [attempt] = attempts(database, queued)
        assert attempt.status_code == 302
        assert attempt.response_headers["location"] == target.url

    def test_any_2xx_is_a_success(self, client: Client, account: Account, database: Database) -> None:
        with Receiver(Reply(204, body=b"")) as hook:
            queued = created(client, database, account, hook.url)
            assert flush(client, account)["succeeded"] == 1
            assert len(hook.received) == 1
        assert delivery(database, queued).last_status == 204


class TestFailuresWithoutAnAnswer:
    def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(self, database_url: str) -> None:
        with served(database_url, webhook_timeout=0.5) as (client, database, owner), Receiver(Reply(delay_s=5)) as hook:
            queued = created(client, database, owner, hook.url)
            assert flush(client, owner)["retrying"] == 1
            assert len(hook.received) == 1
            row = delivery(database, queued)
            [attempt] = attempts(database, queued)
        assert (row.status, row.last_status, row.last_error) == ("pending", None, "no answer within 0.5 s")
        assert attempt.status_code is None
        assert attempt.error == "no answer within 0.5 s"

    def test_a_refused_connection_is_a_failed_attempt(
        self, client: Client, account: Account, database: Database
    ) -> None:
        with Receiver() as gone:
            url = gone.url
        queued = queue(database, account, url)
        assert flush(client, account)["retrying"] == 1
        row = delivery(database, queued)
        assert row.last_status is None
        assert row.last_error.startswith("could not connect")

    def test_a_name_that_does_not_resolve_is_a_failed_attempt(
        self, client: Client, account: Account, database: Database
    ) -> None:
        queued = queue(database, account, "http://receiver.invalid/hooks")
        assert flush(client, account)["retrying"] == 1
        assert delivery(database, queued).last_error


class TestPrivateAddresses:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return _settings(database_url, webhook_allow_private=False)

    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
    def test_loopback_is_refused_at_send_time(
        self, client: Client, account: Account, database: Database, host: str
    ) -> None:
        with Receiver() as hook:
            queued = created(client, database, account, hook.url.replace("127.0.0.1", host))
            assert flush(client, account)["retrying"] == 1
            assert hook.received == []
        row = delivery(database, queued)
        assert row.last_status is None
        assert "a loopback address" in row.last_error
        assert "PATRON_WEBHOOK_ALLOW_PRIVATE=false" in row.last_error
        [attempt] = attempts(database, queued)
        assert attempt.error == row.last_error


class TestCancelled:
    def test_a_deleted_policys_pending_delivery_is_cancelled(
        self, client: Client, account: Account, database: Database
    ) -> None:
        with Receiver() as hook:
            queued = created(client, database, account, hook.url)
            with database.write() as tx:
                tx.execute(
                    update(tables.notification_policy)
                    .where(p.id == queued.policy_id)
                    .values(deleted_at=clock.utc_now())
                )
            counts = flush(client, account, every=True)
            assert hook.received == []
        assert (counts["attempts"], counts["cancelled"], counts["pending"]) == (0, 1, 0)
        row = delivery(database, queued)
        assert (row.status, row.attempts) == ("cancelled", 0)
        assert row.finished_at is not None
        assert "policy was deleted" in row.last_error

    def test_a_removed_recipients_pending_delivery_is_cancelled(
        self, client: Client, account: Account, database: Database
    ) -> None:
        with Receiver() as kept, Receiver() as removed:
            policy = add_policy(database, account, [kept.url, removed.url])
            to_kept, to_removed = written(client, database, account)
            assert (to_kept.recipient, to_removed.recipient) == (kept.url, removed.url)
            with database.write() as tx:
                tx.execute(update(tables.notification_policy).where(p.id == policy).values(recipients=[kept.url]))
            counts = flush(client, account)
            assert len(kept.received) == 1
            assert removed.received == []
        assert (counts["succeeded"], counts["cancelled"]) == (1, 1)
        assert delivery(database, to_kept).status == "succeeded"
        assert delivery(database, to_removed).status == "cancelled"


class TestPolicyChangesThroughTheApi:
    def test_a_policy_deleted_before_its_delivery_is_sent_sends_nothing(
        self, client: Client, account: Account, database: Database
    ) -> None:
        with Receiver() as hook:
            queued = created(client, database, account, hook.url)
            answer = client.delete(f"/api/notifications/policies/{queued.policy_id}", headers=account.headers)
            assert answer.status_code == 200, answer.text
            assert flush(client, account, every=True)["attempts"] == 0
            assert hook.received == []
        assert delivery(database, queued).status == "cancelled"

    def test_a_recipient_removed_before_its_delivery_is_sent_gets_nothing(
        self, client: Client, account: Account, database: Database
    ) -> None:
        with Receiver() as kept, Receiver() as removed:
            policy = create_policy(client, account, [kept.url, removed.url])
            to_kept, to_removed = written(client, database, account)
            path = f"/api/notifications/policies/{policy}/recipients/{quote(removed.url, safe='')}"
            assert client.delete(path, headers=account.headers).status_code == 200
            assert flush(client, account, every=True)["succeeded"] == 1
            assert len(kept.received) == 1
            assert removed.received == []
        assert (delivery(database, to_kept).status, delivery(database, to_removed).status) == (
            "succeeded",
            "cancelled",
        )

    def test_a_recipient_added_later_gets_later_events(
        self, client: Client, account: Account, database: Database
    ) -> None:
        with Receiver() as first, Receiver() as later:
            policy = create_policy(client, account, [first.url])
            written(client, database, account)
            path = f"/api/notifications/policies/{policy}/recipients"
            answer = client.post(path, json={"recipients": [later.url]}, headers=account.headers)
            assert answer.status_code == 200, answer.text
            written(client, database, account)
            assert flush(client, account)["succeeded"] == 3
            assert (len(first.received), len(later.received)) == (2, 1)


class TestFlush:
    def test_flush_is_scoped_to_the_callers_account(
        self, client: Client, account: Account, other_account: Account, database: Database
    ) -> None:
        with Receiver() as hook:
            created(client, database, account, hook.url)
            theirs = created(client, database, other_account, hook.url)
            assert flush(client, account)["succeeded"] == 1
            assert len(hook.received) == 1
            assert delivery(database, theirs).status == "pending"

    def test_flush_needs_the_accounts_credentials(self, client: Client) -> None:
        assert client.post("/_patron/webhooks/flush").status_code == 401

    def test_flush_waits_for_a_delivery_another_sender_holds_until_its_lease_ends(
        self, client: Client, account: Account, database: Database
    ) -> None:
        with Receiver() as hook:
            queued = queue(database, account, hook.url)
            # Another sender took it and died (its lease ends in a moment).
            with database.write() as tx:
                tx.execute(
                    update(tables.webhook_delivery)
                    .where(d.id == queued.delivery_id)
                    .values(lease_until=clock.utc_now() + timedelta(seconds=1), lease_token=uuid.uuid4())
                )
            counts = flush(client, account)
            assert len(hook.received) == 1
        assert counts["succeeded"] == 1
        assert delivery(database, queued).status == "succeeded"

    def test_flush_waits_for_the_deliveries_the_dispatcher_is_sending(self, database_url: str) -> None:
        with (
            served(database_url, webhooks=True) as (client, database, owner),
            Receiver(default=Reply(delay_s=0.2)) as hook,
        ):
            policy = add_policy(database, owner, [hook.url])
            queued = [queue(database, owner, hook.url, policy_id=policy) for _ in range(10)]
            assert flush(client, owner)["pending"] == 0
            assert len(hook.received) == 10
            assert {delivery(database, one).status for one in queued} == {"succeeded"}

    def test_a_flush_with_nothing_pending_answers_zeros(self, client: Client, account: Account) -> None:
        assert set(flush(client, account, every=True).values()) == {0}

    def test_all_must_be_a_boolean(self, client: Client, account: Account) -> None:
        answer = client.post("/_patron/webhooks/flush", params={"all": "maybe"}, headers=account.headers)
        assert answer.status_code == 400


class TestOnOff:
    def test_with_webhooks_off_nothing_is_sent_until_a_flush(
        self, client: Client, account: Account, database: Database
    ) -> None:
        with Receiver() as hook:
            queued = created(client, database, account, hook.url)
            time.sleep(1.5)  # longer than the dispatcher's poll
            assert hook.received == []
            assert delivery(database, queued).status == "pending"
            assert flush(client, account)["succeeded"] == 1
            assert len(hook.received) == 1

    def test_with_webhooks_on_a_write_is_delivered_without_a_flush(self, database_url: str) -> None:
        with served(database_url, webhooks=True) as (client, database, owner), Receiver() as hook:
            queued = created(client, database, owner, hook.url)
            [got] = hook.wait_for(1)
            deadline = time.monotonic() + 10
            while delivery(database, queued).status == "pending" and time.monotonic() < deadline:
                time.sleep(0.05)
            assert delivery(database, queued).status == "succeeded"
        assert got.body == queued.body
        assert json.loads(got.body)["notificationType"] == "CUSTOMER_CREATED"
        signature.verify(got.body, got.headers["sequence-signature"], SECRET)


class TestLeasedByTheWrite:
    """A write stores its deliveries leased to its worker's dispatcher, which sends them
    once the write commits, without claiming them."""

    def test_a_write_s_delivery_goes_out_without_a_claim(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(dispatch, "POLL_S", 3600.0)
        claims = counted_claims(monkeypatch)
        with served(database_url, webhooks=True) as (client, database, owner), Receiver() as hook:
            create_policy(client, account=owner, recipients=[hook.url])
            before = len(claims)  # the dispatcher's first look, when it starts
            [queued] = written(client, database, owner)
            [got] = hook.wait_for(1)
            wait_until(lambda: delivery(database, queued).status == "succeeded")
            assert len(claims) == before
        assert got.headers["webhook-id"] == str(queued.event_id)
        assert [a.number for a in attempts(database, queued)] == [1]
        assert delivery(database, queued).lease_token is None

    def test_a_write_s_delivery_is_signed_by_the_account_s_test_clock(self, database_url: str) -> None:
        with served(database_url, webhooks=True) as (client, database, owner), Receiver() as hook:
            frozen = freeze(client, owner)
            queued = created(client, database, owner, hook.url)
            [got] = hook.wait_for(1)
            wait_until(lambda: delivery(database, queued).status == "succeeded")
        assert signature.parse(got.headers["sequence-signature"])[0] == int(frozen.timestamp() * 1000)
        assert delivery(database, queued).finished_at == frozen

    def test_with_webhooks_off_a_write_s_deliveries_are_left_free(
        self, client: Client, account: Account, database: Database
    ) -> None:
        queued = created(client, database, account, "http://127.0.0.1:9/hook")
        row = delivery(database, queued)
        assert (row.status, row.lease_token, row.lease_until) == ("pending", None, None)


def counted_claims(monkeypatch: pytest.MonkeyPatch) -> list[dispatch.Scope]:
    """The scope of every claim the dispatcher makes from now on."""
    claims: list[dispatch.Scope] = []
    real_claim = dispatch.claim

    def counted(db: Database, scope: dispatch.Scope, **kwargs: Any) -> dispatch.Claimed:
        claims.append(scope)
        return real_claim(db, scope, **kwargs)

    monkeypatch.setattr(dispatch, "claim", counted)
    return claims


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the timeout"
        time.sleep(0.02)


class TestConcurrency:
    def test_a_slow_receiver_gets_four_at_once_and_never_holds_up_another(self, database_url: str) -> None:
        with (
            served(database_url, webhooks=True, webhook_timeout=10.0) as (_, database, owner),
            Receiver(default=Reply(hang=True)) as slow,
            Receiver() as fast,
        ):
            policy = add_policy(database, owner, [slow.url, fast.url])
            for _ in range(10):
                queue(database, owner, slow.url, policy_id=policy)
            slow.wait_for(4)
            queue(database, owner, fast.url, policy_id=policy)
            fast.wait_for(1)
            assert len(slow.received) == 4
            slow.release()
            slow.wait_for(10)
        assert slow.most_at_once == 4

    def test_deliveries_past_four_at_once_go_out_as_attempts_end_not_on_the_next_poll(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(dispatch, "POLL_S", 3600.0)
        with served(database_url, webhooks=True) as (client, database, owner), Receiver() as hook:
            policy = add_policy(database, owner, [hook.url])
            queued = [queue(database, owner, hook.url, policy_id=policy) for _ in range(12)]
            # A redelivery queues one more and wakes the dispatcher, once.
            resent = client.post(f"/_patron/events/{queued[0].event_id}/redeliver", json={}, headers=owner.headers)
            assert resent.status_code == 201
            got = hook.wait_for(13)
        assert {str(q.event_id) for q in queued} <= {request.headers["webhook-id"] for request in got}

    def test_writes_for_a_recipient_at_its_limit_wait_leased_and_go_out_as_its_attempts_end(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Four attempts in flight to the recipient: the next writes' deliveries wait in the
        # worker under their leases, and go out as those attempts end, with no claim.
        monkeypatch.setattr(dispatch, "POLL_S", 3600.0)
        claims = counted_claims(monkeypatch)
        with (
            served(database_url, webhooks=True, webhook_timeout=10.0) as (client, database, owner),
            Receiver(default=Reply(hang=True)) as slow,
        ):
            add_policy(database, owner, [slow.url])
            before = len(claims)
            first = [written(client, database, owner)[0] for _ in range(4)]
            slow.wait_for(4)
            later = [written(client, database, owner)[0] for _ in range(3)]
            time.sleep(0.2)
            assert len(slow.received) == 4
            assert all(delivery(database, q).lease_token is not None for q in later)
            slow.release()
            got = slow.wait_for(7)
            assert len(claims) == before
        assert {str(q.event_id) for q in first + later} == {request.headers["webhook-id"] for request in got}

    def test_past_the_line_s_length_a_write_s_lease_is_given_up_for_a_claim(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(dispatch, "POLL_S", 3600.0)
        monkeypatch.setattr(dispatch, "WAITING", 1)
        with (
            served(database_url, webhooks=True, webhook_timeout=10.0) as (client, database, owner),
            Receiver(default=Reply(hang=True)) as slow,
        ):
            add_policy(database, owner, [slow.url])
            first = [written(client, database, owner)[0] for _ in range(4)]
            slow.wait_for(4)
            waits, freed = (written(client, database, owner)[0] for _ in range(2))
            wait_until(lambda: delivery(database, freed).lease_token is None)
            assert delivery(database, waits).lease_token is not None
            slow.release()
            got = slow.wait_for(6)
        assert {str(q.event_id) for q in [*first, waits, freed]} == {r.headers["webhook-id"] for r in got}

    def test_a_waiting_delivery_whose_lease_is_nearly_over_is_given_up_for_a_claim(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A lease of 2 x 1 s + 0.5 s: by the time the hung attempts time out (1 s), the one
        # waiting has less left than an attempt and its record (1 s + `RECORD_S`, 1 s): its
        # lease is given up, and a claim sends it under a lease of its own.
        monkeypatch.setattr(dispatch, "POLL_S", 3600.0)
        monkeypatch.setattr(dispatch, "LEASE_MARGIN_S", 0.5)
        freed: list[uuid.UUID] = []
        real_release = dispatch.release

        def spied(db: Database, leased: Sequence[Candidate], token: uuid.UUID) -> None:
            freed.extend(c.id for c in leased)
            real_release(db, leased, token)

        monkeypatch.setattr(dispatch, "release", spied)
        with (
            served(database_url, webhooks=True, webhook_timeout=1.0) as (client, database, owner),
            Receiver(default=Reply(hang=True)) as slow,
        ):
            add_policy(database, owner, [slow.url])
            for _ in range(4):
                written(client, database, owner)
            slow.wait_for(4)
            [waiting] = written(client, database, owner)
            wait_until(lambda: freed == [waiting.delivery_id])
            got = slow.wait_for(5)
        assert got[4].headers["webhook-id"] == str(waiting.event_id)
