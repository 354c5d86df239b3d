"""The dispatcher's rules one by one: what an attempt leads to, the jittered schedule,
`Retry-After`, the addresses production refuses, and leases on the database (a claim
takes a delivery once; a sender whose lease was taken over records nothing); retention."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import func, select, update

from patron.server import clock
from patron.server.db import tables
from patron.server.db.engine import Database
from patron.server.webhooks.repository import deliveries
from patron.server.webhooks.repository.deliveries import Result
from patron.server.webhooks.service import dispatch, sender
from patron.server.webhooks.service.dispatch import Finished
from patron.server.webhooks.service.sender import Answer
from patron.wire.headers import retry_after
from tests.conftest import Account
from tests.server.webhooks.test_dispatch import queue

NOW = datetime(2030, 1, 1, tzinfo=UTC)
SCHEDULE = (0.0, 5.0, 300.0)
d = tables.webhook_delivery.c


def answer(status: int | None = None, *, retry_after: float | None = None, error: str | None = None) -> Answer:
    return Answer(1.0, status_code=status, retry_after=retry_after, error=error)


class TestOutcome:
    @pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
    def test_any_2xx_succeeds(self, status: int) -> None:
        assert dispatch.outcome(answer(status), 1, SCHEDULE, now=NOW, seed="x") == Result(
            "succeeded", None, NOW, status, None
        )

    @pytest.mark.parametrize("status", [301, 302, 307, 400, 404, 429, 500, 503, None])
    def test_anything_else_is_retried_after_the_next_step(self, status: int | None) -> None:
        result = dispatch.outcome(answer(status, error="boom"), 1, SCHEDULE, now=NOW, seed="x")
        assert (result.status, result.finished_at, result.last_status, result.last_error) == (
            "pending",
            None,
            status,
            "boom",
        )
        assert result.next_attempt_at is not None
        assert NOW + timedelta(seconds=4.5) <= result.next_attempt_at <= NOW + timedelta(seconds=5.5)

    def test_410_fails_at_once(self) -> None:
        assert dispatch.outcome(answer(410), 1, SCHEDULE, now=NOW, seed="x").status == "failed"

    def test_after_the_last_step_the_delivery_fails(self) -> None:
        assert dispatch.outcome(answer(500), 2, SCHEDULE, now=NOW, seed="x").status == "pending"
        failed = dispatch.outcome(answer(500), 3, SCHEDULE, now=NOW, seed="x")
        assert (failed.status, failed.next_attempt_at, failed.finished_at) == ("failed", None, NOW)

    def test_a_schedule_of_one_step_sends_once(self) -> None:
        assert dispatch.outcome(answer(None), 1, (0.0,), now=NOW, seed="x").status == "failed"


class TestBackoff:
    def test_the_jitter_stays_within_ten_percent_and_repeats_for_a_seed(self) -> None:
        delays = [dispatch.backoff(100.0, answer(500), f"delivery:{n}") for n in range(200)]
        assert all(90.0 <= delay <= 110.0 for delay in delays)
        assert len(set(delays)) > 100
        assert delays == [dispatch.backoff(100.0, answer(500), f"delivery:{n}") for n in range(200)]

    @pytest.mark.parametrize("status", [429, 503])
    def test_retry_after_is_waited_for_up_to_twice_the_step(self, status: int) -> None:
        assert dispatch.backoff(10.0, answer(status, retry_after=15.0), "x") == 15.0
        assert dispatch.backoff(10.0, answer(status, retry_after=3600.0), "x") == 20.0
        assert 9.0 <= dispatch.backoff(10.0, answer(status, retry_after=1.0), "x") <= 11.0

    def test_retry_after_counts_only_on_429_and_503(self) -> None:
        assert dispatch.backoff(10.0, answer(500, retry_after=15.0), "x") <= 11.0

    def test_a_retry_is_never_due_before_its_delay(self) -> None:
        result = dispatch.outcome(answer(503, retry_after=2.0), 1, (0.0, 1.0), now=NOW, seed="x")
        assert result.next_attempt_at == NOW + timedelta(seconds=2)


class TestRetryAfter:
    def test_seconds(self) -> None:
        assert retry_after("120") == 120.0
        assert retry_after(" 0 ") == 0.0

    def test_an_http_date(self) -> None:
        later = clock.utc_now().replace(microsecond=0) + timedelta(seconds=30)
        parsed = retry_after(format_datetime(later, usegmt=True))
        assert parsed is not None
        assert 25.0 <= parsed <= 30.0

    def test_a_date_in_the_past_is_now(self) -> None:
        assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0

    @pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5"])
    def test_anything_else_is_ignored(self, value: str | None) -> None:
        assert retry_after(value) is None


class TestPrivateKind:
    @pytest.mark.parametrize(
        ("address", "kind"),
        [
            ("127.0.0.1", "loopback"),
            ("::1", "loopback"),
            ("169.254.169.254", "link-local"),
            ("fe80::1", "link-local"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("fd00::1", "private"),
            ("0.0.0.0", "unspecified"),
            ("::", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
        ],
    )
    def test_refused_addresses(self, address: str, kind: str) -> None:
        assert sender.private_kind(ipaddress.ip_address(address)) == kind

    @pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
    def test_public_addresses_pass(self, address: str) -> None:
        assert sender.private_kind(ipaddress.ip_address(address)) is None


def _claim(database: Database, scope: dispatch.Scope | None = None, **options: object) -> dispatch.Claimed:
    values: dict[str, object] = {"room": 64, "in_flight": {}, "lease_s": 25.0, "test_clocks": True, **options}
    return dispatch.claim(database, scope or dispatch.Scope(), **values)  # type: ignore[arg-type]


class TestLeases:
    def test_a_claimed_delivery_is_not_claimed_again_while_its_lease_holds(
        self, database: Database, account: Account
    ) -> None:
        queued = queue(database, account, "http://127.0.0.1:9/hooks")
        [first] = _claim(database).claims
        assert first.delivery.id == queued.delivery_id
        assert first.delivery.body == queued.body
        assert _claim(database).claims == []
        assert _claim(database, dispatch.Scope(uuid.UUID(account.account_id), every_pending=True)).claims == []
        with database.read() as tx:
            row = tx.execute(select(tables.webhook_delivery).where(d.id == queued.delivery_id)).one()
        assert row.lease_token == first.token
        assert timedelta(seconds=24) <= row.lease_until - clock.utc_now() <= timedelta(seconds=25)

    def test_an_expired_lease_is_taken_again(self, database: Database, account: Account) -> None:
        queue(database, account, "http://127.0.0.1:9/hooks")
        [first] = _claim(database, lease_s=-1.0).claims
        [second] = _claim(database).claims
        assert second.delivery.id == first.delivery.id
        assert second.token != first.token

    def test_a_sender_whose_lease_was_taken_over_records_nothing(self, database: Database, account: Account) -> None:
        queued = queue(database, account, "http://127.0.0.1:9/hooks")
        [late] = _claim(database, lease_s=-1.0).claims
        [taker] = _claim(database).claims
        attempt = deliveries.Attempt(clock.utc_now(), 1, {}, 1.0, 200, {}, "", None)
        done = Result("succeeded", None, clock.utc_now(), 200, None)
        assert dispatch.record(database, [Finished(late, done, attempt)]) == [False]
        with database.read() as tx:
            row = tx.execute(select(tables.webhook_delivery).where(d.id == queued.delivery_id)).one()
            count = tx.execute(select(func.count()).select_from(tables.webhook_attempt)).scalar_one()
        assert (row.status, row.attempts, row.lease_token, count) == ("pending", 0, taker.token, 0)
        assert dispatch.record(database, [Finished(taker, done, attempt)]) == [True]
        with database.read() as tx:
            row = tx.execute(select(tables.webhook_delivery).where(d.id == queued.delivery_id)).one()
        assert (row.status, row.attempts, row.lease_token, row.lease_until) == ("succeeded", 1, None, None)

    def test_attempts_stored_together_each_count_only_under_their_own_lease(
        self, database: Database, account: Account
    ) -> None:
        queue(database, account, "http://127.0.0.1:9/a")
        [late] = _claim(database, lease_s=-1.0).claims
        [taker] = _claim(database).claims
        queue(database, account, "http://127.0.0.1:9/b")
        [other] = _claim(database).claims
        attempt = deliveries.Attempt(clock.utc_now(), 1, {}, 1.0, 200, {}, "", None)
        done = Result("succeeded", None, clock.utc_now(), 200, None)
        batch = [Finished(late, done, attempt), Finished(other, done, attempt)]
        assert dispatch.record(database, batch) == [False, True]
        with database.read() as tx:
            rows = dict(tx.execute(select(d.id, d.status)).tuples().all())
            count = tx.execute(select(func.count()).select_from(tables.webhook_attempt)).scalar_one()
        assert rows == {taker.delivery.id: "pending", other.delivery.id: "succeeded"}
        assert count == 1

    def test_a_lost_lease_and_its_takers_attempt_stored_together_count_once(
        self, database: Database, account: Account
    ) -> None:
        queued = queue(database, account, "http://127.0.0.1:9/hooks")
        [late] = _claim(database, lease_s=-1.0).claims
        [taker] = _claim(database).claims
        attempt = deliveries.Attempt(clock.utc_now(), 1, {}, 1.0, 200, {}, "", None)
        done = Result("succeeded", None, clock.utc_now(), 200, None)
        batch = [Finished(taker, done, attempt), Finished(late, done, attempt)]
        assert dispatch.record(database, batch) == [True, False]
        with database.read() as tx:
            row = tx.execute(select(tables.webhook_delivery).where(d.id == queued.delivery_id)).one()
            numbers = list(tx.execute(select(tables.webhook_attempt.c.number)).scalars())
        assert (row.status, row.attempts, numbers) == ("succeeded", 1, [1])

    def test_a_batch_stores_every_result_with_its_own_attempt_number(
        self, database: Database, account: Account
    ) -> None:
        for n in range(3):
            queue(database, account, f"http://127.0.0.1:9/{n}")
        claims = sorted(_claim(database).claims, key=lambda one: one.delivery.recipient)
        now = clock.utc_now()
        attempt = deliveries.Attempt(now, 1, {}, 1.0, 500, {}, "", None)
        results = [
            Result("succeeded", None, now, 200, None),
            Result("pending", now + timedelta(seconds=5), None, 500, "HTTP 500"),
            Result("failed", None, now, 410, "gone"),
        ]
        batch = [Finished(one, result, attempt) for one, result in zip(claims, results, strict=True)]
        assert dispatch.record(database, batch) == [True, True, True]
        with database.read() as tx:
            rows = tx.execute(select(d.recipient, d.status, d.attempts, d.next_attempt_at, d.last_status, d.last_error))
            stored = sorted(tuple(row) for row in rows)
            numbers = list(tx.execute(select(tables.webhook_attempt.c.number)).scalars())
        assert stored == [
            ("http://127.0.0.1:9/0", "succeeded", 1, None, 200, None),
            ("http://127.0.0.1:9/1", "pending", 1, results[1].next_attempt_at, 500, "HTTP 500"),
            ("http://127.0.0.1:9/2", "failed", 1, None, 410, "gone"),
        ]
        assert numbers == [1, 1, 1]

    def test_a_claim_takes_at_most_four_to_one_recipient_and_leaves_the_rest(
        self, database: Database, account: Account
    ) -> None:
        for _ in range(6):
            queue(database, account, "http://127.0.0.1:9/a")
        queue(database, account, "http://127.0.0.1:9/b")
        claimed = _claim(database)
        recipients = sorted(one.delivery.recipient for one in claimed.claims)
        assert recipients == ["http://127.0.0.1:9/a"] * 4 + ["http://127.0.0.1:9/b"]
        assert claimed.more
        busy = _claim(database, in_flight={"http://127.0.0.1:9/a": 4})
        assert busy.claims == []

    def test_a_claim_takes_no_more_than_the_room(self, database: Database, account: Account) -> None:
        for n in range(3):
            queue(database, account, f"http://127.0.0.1:9/{n}")
        claimed = _claim(database, room=2)
        assert (len(claimed.claims), claimed.more) == (2, True)


class TestRetention:
    def test_events_older_than_the_retention_go_with_their_deliveries_and_attempts(
        self, database: Database, account: Account
    ) -> None:
        now = clock.utc_now()
        old = queue(database, account, "http://127.0.0.1:9/hooks", at=now - timedelta(days=2))
        new = queue(database, account, "http://127.0.0.1:9/hooks", at=now)
        [claimed] = _claim(database, room=1).claims
        assert claimed.delivery.id == old.delivery_id
        attempt = deliveries.Attempt(now, 1, {}, 1.0, 500, {}, "", None)
        dispatch.record(database, [Finished(claimed, Result("pending", now, None, 500, None), attempt)])
        assert dispatch.purge(database, retention_s=86400.0, test_clocks=True, after=None) is None
        with database.read() as tx:
            events = set(tx.execute(select(tables.webhook_event.c.id)).scalars())
            kept = set(tx.execute(select(d.id)).scalars())
            count = tx.execute(select(func.count()).select_from(tables.webhook_attempt)).scalar_one()
        assert (events, kept, count) == ({new.event_id}, {new.delivery_id}, 0)

    def test_the_retention_runs_by_the_accounts_test_clock(self, database: Database, account: Account) -> None:
        frozen = datetime(2020, 1, 1, tzinfo=UTC)
        with database.write() as tx:
            tx.execute(
                update(tables.account)
                .where(tables.account.c.id == uuid.UUID(account.account_id))
                .values(frozen_at=frozen)
            )
        kept = queue(database, account, "http://127.0.0.1:9/hooks", at=frozen - timedelta(hours=12))
        gone = queue(database, account, "http://127.0.0.1:9/hooks", at=frozen - timedelta(days=2))
        dispatch.purge(database, retention_s=86400.0, test_clocks=True, after=None)
        with database.read() as tx:
            events = set(tx.execute(select(tables.webhook_event.c.id)).scalars())
        assert kept.event_id in events
        assert gone.event_id not in events
