"""Webhook deliveries from real `patron serve` processes on loopback (both databases in
`make test`): a delivery in flight when the server is killed arrives after a restart with
the same `webhook-id` once its lease ends, and two workers racing each other (and flushes
on both) deliver every event exactly once while leases hold."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import func, select

from patron.server.db import tables
from patron.server.db.engine import make_engine
from patron.wire import signature
from tests.factories import customer_body
from tests.system.conftest import create_account_cli, start_server, stop_server
from tests.system.receiver import Receiver, Reply

SECRET = "whsec_SystemTestSecret0123456789abcdefg"
EVENTS = 60
d = tables.webhook_delivery.c


def add_policy(port: int, auth: tuple[str, str], recipients: list[str]) -> None:
    """`POST /api/notifications/policies`: every event of the account to `recipients`."""
    body = {"name": "hooks", "channel": "WEBHOOK", "recipients": recipients, "webhookSecret": SECRET}
    answer = httpx.post(f"http://127.0.0.1:{port}/api/notifications/policies", json=body, auth=auth, timeout=10)
    assert answer.status_code == 201, answer.text


def deliveries(database_url: str) -> list[tuple[uuid.UUID, str, int]]:
    """(event id, status, attempts) of every delivery, and how many attempts were recorded."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as tx:
            rows = tx.execute(select(d.event_id, d.status, d.attempts)).all()
    finally:
        engine.dispose()
    return [(row.event_id, row.status, row.attempts) for row in rows]


def attempts_recorded(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as tx:
            return int(tx.execute(select(func.count()).select_from(tables.webhook_attempt)).scalar_one())
    finally:
        engine.dispose()


def flush(port: int, auth: tuple[str, str], *, every: bool = False) -> dict[str, int]:
    """A flush on a connection of its own (with several workers, any of them answers)."""
    params = {"all": "true"} if every else None
    answer = httpx.post(f"http://127.0.0.1:{port}/_patron/webhooks/flush", params=params, auth=auth, timeout=60)
    assert answer.status_code == 200, answer.text
    counts: dict[str, int] = answer.json()
    return counts


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server and its workers: no shutdown code runs, leases stay as they were."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_a_delivery_in_flight_when_the_server_is_killed_arrives_after_a_restart(
    database_url: str, tmp_path: Path
) -> None:
    auth = create_account_cli(database_url, tmp_path)
    # A lease lasts 2 x 3 s + 5 s: the killed server's ends about 11 s after it took it.
    env = {"PATRON_WEBHOOK_TIMEOUT": "3s", "PATRON_WEBHOOK_RETRY_SCHEDULE": "0,1s,2s"}
    with Receiver(Reply(hang=True)) as hook:
        process, port = start_server(database_url, tmp_path, env=env)
        try:
            add_policy(port, auth, [hook.url])
            created = httpx.post(f"http://127.0.0.1:{port}/api/customers", json=customer_body(), auth=auth, timeout=10)
            assert created.status_code == 201, created.text
            [first] = hook.wait_for(1)
        finally:
            kill_group(process)
        process, port = start_server(database_url, tmp_path, env=env)
        try:
            # Waits while the dead server's lease holds, then the delivery is sent again.
            flush(port, auth)
            first_again, second = hook.wait_for(2)
        finally:
            stop_server(process)
    assert first_again == first
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.body == first.body
    signature.verify(second.body, second.headers["sequence-signature"], SECRET)
    [(event_id, status, attempts)] = deliveries(database_url)
    assert str(event_id) == first.headers["webhook-id"]
    # The attempt the kill cut short was never recorded: the one after the restart was.
    assert (status, attempts, attempts_recorded(database_url)) == ("succeeded", 1, 1)


def test_two_workers_deliver_every_event_exactly_once(database_url: str, tmp_path: Path) -> None:
    auth = create_account_cli(database_url, tmp_path)
    with Receiver(default=Reply(delay_s=0.02)) as hook:
        process, port = start_server(database_url, tmp_path, workers=2)
        try:
            add_policy(port, auth, [hook.url])
            api = f"http://127.0.0.1:{port}/api/customers"

            def create() -> None:
                answer = httpx.post(api, json=customer_body(), auth=auth, timeout=30)
                assert answer.status_code == 201, answer.text

            def flush_on_any(every: bool) -> Callable[[], object]:
                return lambda: flush(port, auth, every=every)

            work = [create] * EVENTS + [flush_on_any(n % 2 == 0) for n in range(EVENTS // 2)]
            work.sort(key=lambda _: uuid.uuid4())
            with ThreadPoolExecutor(8) as pool:
                for job in [pool.submit(one) for one in work]:
                    job.result()
            # Flushes until nothing is left: each waits for what the other worker holds.
            for _ in range(20):
                if flush(port, auth)["pending"] == 0 and flush(port, auth)["pending"] == 0:
                    break
            hook.wait_for(EVENTS)
        finally:
            stop_server(process)
    sent = Counter(request.headers["webhook-id"] for request in hook.received)
    recorded = deliveries(database_url)
    assert len(recorded) == EVENTS
    assert {str(event_id) for event_id, _, _ in recorded} == set(sent)
    assert set(sent.values()) == {1}, [ident for ident, times in sent.items() if times > 1]
    assert {(status, attempts) for _, status, attempts in recorded} == {("succeeded", 1)}
    assert attempts_recorded(database_url) == EVENTS
