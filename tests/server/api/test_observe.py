"""What each request leaves behind: its `Request-Id`, one JSON log line, its metrics."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, pool
from sqlalchemy.exc import DBAPIError

from patron.server.web import metrics
from tests.conftest import Account

Client = TestClient[Litestar]


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(record.getMessage()))


@pytest.fixture
def access_log() -> Iterator[list[dict[str, object]]]:
    handler = Lines()
    logger = logging.getLogger("patron.access")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class TestRequestId:
    @pytest.mark.parametrize("given", ["abc", "req_01.J-x", "x" * 128])
    def test_a_sane_id_from_the_caller_is_echoed_and_logged(
        self, client: Client, account: Account, access_log: list[dict[str, object]], given: str
    ) -> None:
        response = client.get("/api/customers", headers={**account.headers, "Request-Id": given})
        assert response.headers["Request-Id"] == given
        assert access_log[-1]["requestId"] == given

    @pytest.mark.parametrize("given", [b"", b"x" * 129, b"has space", b"semi;colon", "ünicode".encode(), b"a\tb"])
    def test_anything_else_gets_a_fresh_id(self, client: Client, account: Account, given: bytes) -> None:
        headers = [(b"authorization", account.headers["Authorization"].encode()), (b"request-id", given)]
        response = client.get("/api/customers", headers=headers)
        assert response.status_code == 200
        assert response.headers["Request-Id"].encode() != given
        assert len(response.headers["Request-Id"]) == 32

    def test_without_one_each_response_has_its_own(self, client: Client) -> None:
        ids = {client.get("/livez").headers["Request-Id"] for _ in range(3)}
        assert len(ids) == 3


class TestAccessLog:
    def test_one_line_per_request_with_who_what_and_how_long(
        self, client: Client, account: Account, access_log: list[dict[str, object]]
    ) -> None:
        response = client.get("/api/customers/01a23420-cdbb-79ae-8acf-52304db722ea", headers=account.headers)
        assert response.status_code == 404
        assert len(access_log) == 1
        line = access_log[0]
        assert line["requestId"] == response.headers["Request-Id"]
        assert line["method"] == "GET"
        assert line["route"] == "/api/customers/{id}"
        assert line["status"] == 404
        assert line["accountId"] == account.account_id
        assert line["clientId"] == account.client_id
        assert isinstance(line["durationMs"], float)
        assert isinstance(line["time"], str)

    def test_refused_and_unknown_requests_are_logged_too(
        self, client: Client, access_log: list[dict[str, object]]
    ) -> None:
        client.get("/api/customers")
        client.get("/no/such/path")
        assert [(line["route"], line["status"], line["accountId"]) for line in access_log] == [
            ("/api/customers", 401, None),
            ("unmatched", 404, None),
        ]


class TestMetrics:
    def test_requests_counted_by_route_template_and_status(self, client: Client, account: Account) -> None:
        labels = {"method": "GET", "route": "/api/customers", "status": "200"}
        before = sample("patron_http_requests_total", **labels)
        durations = sample("patron_http_request_duration_seconds_count", method="GET", route="/api/customers")
        for _ in range(3):
            client.get("/api/customers", headers=account.headers)
        assert sample("patron_http_requests_total", **labels) == before + 3
        assert (
            sample("patron_http_request_duration_seconds_count", method="GET", route="/api/customers") == durations + 3
        )

    def test_made_up_paths_share_one_series(self, client: Client) -> None:
        labels = {"method": "GET", "route": "unmatched", "status": "404"}
        before = sample("patron_http_requests_total", **labels)
        client.get("/a")
        client.get("/b")
        assert sample("patron_http_requests_total", **labels) == before + 2

    def test_exposition_lists_every_documented_metric(self, client: Client, account: Account) -> None:
        client.get("/api/customers", headers=account.headers)
        response = client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        for name in (
            "patron_http_requests_total",
            "patron_http_request_duration_seconds",
            "patron_http_requests_in_progress",
            "patron_rate_limit_refusals_total",
            "patron_db_pool_size",
            "patron_db_pool_checked_out",
        ):
            assert f"# TYPE {name}" in response.text

    def test_pool_use_returns_to_where_it_was(self, client: Client, account: Account) -> None:
        # The gauge is the process's: every app a test session starts counts in it, and
        # each one's webhook dispatcher holds a connection for a moment every second. Idle
        # is the least seen over a whole second; after the writes it must come back there.
        idle = least_checked_out(over_s=1.1)
        for _ in range(3):
            assert client.post("/api/customers", headers=account.headers, json={}).status_code == 400
            assert client.get("/api/customers", headers=account.headers).status_code == 200
        deadline = time.monotonic() + 5
        while sample("patron_db_pool_checked_out", pool="main") > idle and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sample("patron_db_pool_checked_out", pool="main") <= idle
        assert sample("patron_db_pool_size", pool="main") == 10


def least_checked_out(*, over_s: float) -> float:
    least = sample("patron_db_pool_checked_out", pool="main")
    deadline = time.monotonic() + over_s
    while time.monotonic() < deadline:
        least = min(least, sample("patron_db_pool_checked_out", pool="main"))
        time.sleep(0.005)
    return least


def test_a_connection_the_pool_fails_to_hand_out_does_not_count(tmp_path: Path) -> None:
    """A database down at checkout: the pool pings its stale connection, fails to open a new
    one and hands the record back (a checkin with no checkout); the gauge stays at zero."""
    down = False

    def connect() -> sqlite3.Connection:
        if down:
            raise sqlite3.OperationalError("unable to open database file")
        return sqlite3.connect(tmp_path / "pool.db", check_same_thread=False)

    engine = create_engine("sqlite://", creator=connect, poolclass=pool.QueuePool, pool_pre_ping=True)
    metrics.watch_pool(engine, "probe")
    with engine.connect() as connection:
        stale = connection.connection.dbapi_connection
    assert stale is not None
    stale.close()  # its next ping fails
    down = True
    with pytest.raises(DBAPIError):
        engine.connect()
    assert sample("patron_db_pool_checked_out", pool="probe") == 0
    engine.dispose()
