"""SIGTERM drains: a request in flight when `patron serve` is told to stop still gets its
answer, while new connections are refused. The request in flight is a write waiting for
SQLite's write lock, which the test holds (a real wait, no sleep endpoint), so the test
decides when it may finish."""

from __future__ import annotations

import signal
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from tests.factories import customer_body
from tests.system.conftest import create_account_cli, start_server, stop_server


def in_progress(base: str) -> float:
    """Requests the server is answering, the scrape that asks included."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    family = next(f for f in text_string_to_metric_families(text) if f.name == "patron_http_requests_in_progress")
    return family.samples[0].value


def wait_until(condition: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def refused(base: str) -> bool:
    try:
        httpx.get(f"{base}/livez", timeout=2)
    except httpx.ConnectError:
        return True
    except httpx.HTTPError:
        return False
    return False


def test_sigterm_lets_the_request_in_flight_finish(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("holds SQLite's write lock to keep a request in flight")
    auth = create_account_cli(database_url, tmp_path)
    process, port = start_server(database_url, tmp_path, env={"PATRON_BUSY_TIMEOUT_MS": "60000"})
    base = f"http://127.0.0.1:{port}"
    lock = sqlite3.connect(str(make_url(database_url).database), isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(
                httpx.post, f"{base}/api/customers", json=customer_body(legalName="Drained"), auth=auth, timeout=60
            )
            wait_until(lambda: in_progress(base) >= 2)  # the write, waiting for the lock, and the scrape
            process.send_signal(signal.SIGTERM)
            wait_until(lambda: refused(base))
            assert process.poll() is None, "the server waits for the request in flight"
            lock.execute("ROLLBACK")
            response = pending.result(timeout=60)
        assert response.status_code == 201
        assert response.json()["legalName"] == "Drained"
        assert process.wait(timeout=30) == 0
    finally:
        lock.close()
        stop_server(process)
