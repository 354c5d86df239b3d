"""PostgreSQL going away or getting stuck: fast 503s with the error body, /readyz not ready,
and service coming back by itself when the database returns, with no restart of patron;
and which database failures count as "not now" (on any database)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from patron.server.app import create_app
from patron.server.config import Settings
from patron.server.db import migrate, outage
from patron.server.db.engine import Database, make_engine
from patron.server.errors import Unavailable
from tests.conftest import NO_LIMITS, SECRET_KEY, Account, make_account
from tests.factories import customer_body

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pg-cluster.sh"
FAST = 2.0  # seconds: how long a refused request may take (G10, G16)

postgresql_only = pytest.mark.skipif(
    not os.environ.get("PATRON_TEST_DATABASE_URL"), reason="runs in the PostgreSQL pass of `make test`"
)


def cluster(*args: str) -> str:
    result = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, check=True, timeout=120)
    return result.stdout.strip()


def assert_unavailable(response: httpx.Response, started: float) -> None:
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert elapsed < FAST, f"503 took {elapsed:.2f} s"
    assert response.json()["error"]["type"] == "ServiceUnavailable"
    assert response.headers["retry-after"] == "1"
    assert "Traceback" not in response.text
    assert "psycopg" not in response.text


@pytest.fixture
def own_cluster() -> Iterator[tuple[str, str]]:
    # Under /tmp, not pytest's tmp dir: the cluster's unprivileged user must be able to reach it.
    directory = tempfile.mkdtemp(prefix="patron-outage-", dir="/tmp")
    url = cluster("start", directory)
    try:
        yield url, directory
    finally:
        cluster("stop", directory)


@postgresql_only
def test_requests_fail_fast_with_503_and_recover_by_themselves(own_cluster: tuple[str, str]) -> None:
    url, directory = own_cluster
    settings = Settings(database_url=url, secret_key=SECRET_KEY, pool_timeout=2, connect_timeout=2, **NO_LIMITS)
    app: Litestar = create_app(settings)
    migrate.upgrade(app.state.database.engine)
    account = make_account(app.state.database)
    with TestClient(app, timeout=20) as client:
        assert client.post("/api/customers", json=customer_body(), headers=account.headers).status_code == 201
        assert client.get("/readyz").status_code == 200

        cluster("crash", directory)
        # Pooled connections are dead, new ones are refused: the authentication lookup at
        # the edge, reads and writes all answer 503 at once (a hang would fail on time).
        for method, path in [("GET", "/api/customers"), ("POST", "/api/customers"), ("GET", "/api/customers")]:
            started = time.monotonic()
            body = customer_body() if method == "POST" else None
            assert_unavailable(client.request(method, path, json=body, headers=account.headers), started)
        started = time.monotonic()
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert time.monotonic() - started < FAST
        assert client.get("/livez").status_code == 200

        cluster("resume", directory)
        deadline = time.monotonic() + 5
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "/readyz not ready 5 s after the database came back"
            time.sleep(0.1)
        page = client.get("/api/customers", headers=account.headers)
        assert page.status_code == 200
        assert page.json()["pagination"]["totalResultSize"] == 1
        assert client.post("/api/customers", json=customer_body(), headers=account.headers).status_code == 201
    app.state.database.engine.dispose()


@pytest.fixture
def admin(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def short_timeout_app(database_url: str) -> tuple[Litestar, Account]:
    settings = Settings(database_url=database_url, secret_key=SECRET_KEY, statement_timeout_ms=300, **NO_LIMITS)
    app = create_app(settings)
    return app, make_account(app.state.database)


@postgresql_only
@pytest.mark.parametrize("table", ["customers", "credentials"])
def test_a_request_stuck_behind_a_lock_answers_503_within_the_statement_timeout(
    database_url: str, admin: Engine, table: str
) -> None:
    # `credentials` is read by the authentication lookup at the edge, `customers` by the route.
    app, account = short_timeout_app(database_url)
    with TestClient(app, timeout=20) as client:
        assert client.post("/api/customers", json=customer_body(), headers=account.headers).status_code == 201
        with admin.connect() as holder:
            holder.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            for method in ("GET", "POST"):
                started = time.monotonic()
                body = customer_body() if method == "POST" else None
                response = client.request(method, "/api/customers", json=body, headers=account.headers)
                assert_unavailable(response, started)
            holder.rollback()
        page = client.get("/api/customers", headers=account.headers)
        assert page.status_code == 200
        assert page.json()["pagination"]["totalResultSize"] == 1
    app.state.database.engine.dispose()


@postgresql_only
def test_connections_killed_by_the_server_are_replaced_without_errors(database_url: str, admin: Engine) -> None:
    app, account = short_timeout_app(database_url)
    with TestClient(app) as client:
        for _ in range(3):
            assert client.post("/api/customers", json=customer_body(), headers=account.headers).status_code == 201
        with admin.connect() as connection:
            killed = connection.exec_driver_sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).scalar()
        assert killed
        for _ in range(3):
            assert client.get("/api/customers", headers=account.headers).status_code == 200
            assert client.post("/api/customers", json=customer_body(), headers=account.headers).status_code == 201
    app.state.database.engine.dispose()


@postgresql_only
def test_a_deadlock_is_a_retryable_503_not_a_500(database_url: str) -> None:
    database = Database(make_engine(database_url), b"key")
    with database.write() as tx:
        tx.exec_driver_sql("CREATE TABLE deadlock_probe (id int PRIMARY KEY)")
        tx.exec_driver_sql("INSERT INTO deadlock_probe VALUES (1), (2)")
    both_locked = threading.Barrier(2)
    outcomes: list[str] = []

    def writer(first: int, second: int) -> None:
        try:
            with database.write() as tx:
                tx.exec_driver_sql(f"UPDATE deadlock_probe SET id = id WHERE id = {first}")
                both_locked.wait(timeout=10)
                tx.exec_driver_sql(f"UPDATE deadlock_probe SET id = id WHERE id = {second}")
            outcomes.append("committed")
        except Unavailable:
            outcomes.append("unavailable")

    threads = [threading.Thread(target=writer, args=pair) for pair in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    database.engine.dispose()
    assert sorted(outcomes) == ["committed", "unavailable"]


class DriverError(Exception):
    """What a driver raises, with the SQLSTATE psycopg gives its errors."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def failure(message: str, sqlstate: str | None = None, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("SELECT 1", None, DriverError(message, sqlstate), connection_invalidated=invalidated)


class TestClassification:
    """Which failures are "not now" (a 503 the client may retry), on any database."""

    @pytest.mark.parametrize(
        "error",
        [
            failure("canceling statement due to statement timeout", "57014"),
            failure("deadlock detected", "40P01"),
            failure("could not serialize access", "40001"),
            failure("cannot execute UPDATE in a read-only transaction", "25006"),
            failure("connection failure", "08006"),
            failure("server closed the connection unexpectedly"),
            failure("database is locked"),
            failure("anything", invalidated=True),
        ],
    )
    def test_transient_failures_are_unavailable(self, error: DBAPIError) -> None:
        assert outage.is_unavailable(error)

    @pytest.mark.parametrize(
        "error",
        [
            failure('duplicate key value violates unique constraint "x"', "23505"),
            failure('syntax error at or near "SELEC"', "42601"),
            failure("no such table: customers"),
        ],
    )
    def test_faults_of_the_statement_or_data_are_not(self, error: DBAPIError) -> None:
        assert not outage.is_unavailable(error)

    def test_the_error_is_the_one_every_edge_answers_with_503(self) -> None:
        assert isinstance(outage.unavailable(), Unavailable)


sqlite_only = pytest.mark.skipif(
    bool(os.environ.get("PATRON_TEST_DATABASE_URL")), reason="SQLite's single writer; runs in the SQLite pass"
)


def probe_database(database_url: str, busy_timeout_ms: int) -> Database:
    database = Database(
        make_engine(database_url, busy_timeout_ms=busy_timeout_ms), b"key", busy_timeout_ms=busy_timeout_ms
    )
    with database.write() as tx:
        tx.exec_driver_sql("CREATE TABLE writer_probe (n int)")
    return database


@sqlite_only
def test_a_process_s_writers_take_turns_and_none_is_refused_while_each_is_short(database_url: str) -> None:
    # Eight threads each write ten times, holding SQLite's lock 20 ms a time: 1.6 s of
    # writing in all, every writer waiting on the others. In turn, none waits longer than
    # seven writes; left to SQLite's polling, some lost to newcomers past the 1 s timeout.
    database = probe_database(database_url, busy_timeout_ms=1000)
    outcomes: list[str] = []

    def writer() -> None:
        for _ in range(10):
            try:
                with database.write() as tx:
                    tx.exec_driver_sql("INSERT INTO writer_probe VALUES (1)")
                    time.sleep(0.02)
                outcomes.append("committed")
            except Unavailable:
                outcomes.append("unavailable")

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with database.read() as tx:
        rows = tx.exec_driver_sql("SELECT count(*) FROM writer_probe").scalar()
    database.engine.dispose()
    assert outcomes.count("committed") == 80
    assert rows == 80


@sqlite_only
def test_a_writer_waiting_past_the_busy_timeout_is_refused_as_unavailable(database_url: str) -> None:
    database = probe_database(database_url, busy_timeout_ms=300)
    holding = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with database.write() as tx:
            tx.exec_driver_sql("INSERT INTO writer_probe VALUES (1)")
            holding.set()
            release.wait(timeout=10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(timeout=10)
    started = time.monotonic()
    with pytest.raises(Unavailable), database.write() as tx:
        tx.exec_driver_sql("INSERT INTO writer_probe VALUES (2)")
    assert time.monotonic() - started < FAST
    release.set()
    thread.join(timeout=10)
    database.engine.dispose()
