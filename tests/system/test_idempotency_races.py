"""Concurrent retries with one Idempotency-Key over real HTTP, two workers: the work runs
once; every answer is the first one (201, the same bytes) or 409 while it runs, never 5xx."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from patron.server import clock
from patron.server.db.engine import make_engine
from patron.server.idempotency import repository
from tests.factories import customer_body
from tests.system.conftest import Server, create_account_cli, start_server, stop_server

RACERS = 10
ROUNDS = 3


@pytest.fixture
def two_workers(database_url: str, tmp_path: Path) -> Iterator[Server]:
    auth = create_account_cli(database_url, tmp_path)
    process, port = start_server(database_url, tmp_path, workers=2)
    try:
        yield Server(f"http://127.0.0.1:{port}/api", auth, database_url)
    finally:
        stop_server(process)


def race(server: Server, key: str, body: dict[str, object]) -> list[httpx.Response]:
    """`RACERS` identical POST /customers with one key, released together."""
    barrier = threading.Barrier(RACERS)

    def one(_: int) -> httpx.Response:
        with httpx.Client(base_url=server.base_url, auth=server.auth, timeout=30) as http:
            barrier.wait()
            return http.post("/customers", json=body, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def test_concurrent_retries_with_one_key_create_one_customer(two_workers: Server) -> None:
    for round_number in range(ROUNDS):
        key, body = f"retry-{round_number}", customer_body()
        answers = race(two_workers, key, body)
        statuses = [a.status_code for a in answers]
        assert set(statuses) <= {201, 409}, statuses
        created = {a.content for a in answers if a.status_code == 201}
        assert len(created) <= 1, "every 201 is the first answer, byte for byte"
        for refused in (a for a in answers if a.status_code == 409):
            assert refused.json()["error"]["type"] == "Conflict"
        with httpx.Client(base_url=two_workers.base_url, auth=two_workers.auth, timeout=30) as http:
            settled = http.post("/customers", json=body, headers={"Idempotency-Key": key})
            page = http.get("/customers", params={"legalName": body["legalName"]}).json()
        assert settled.status_code == 201
        assert settled.headers["idempotent-replayed"] == "true"
        assert created <= {settled.content}
        assert page["pagination"]["totalResultSize"] == 1, statuses


def test_a_key_an_open_transaction_holds_is_409_until_it_ends(two_workers: Server) -> None:
    """The first request still running, made deterministic: the test holds the key's
    claim in a transaction of its own while the server is asked to run the same key."""
    if not two_workers.database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time: the server would wait for the test's transaction")
    body = customer_body()
    with httpx.Client(base_url=two_workers.base_url, auth=two_workers.auth, timeout=30) as http:
        someone = http.post("/customers", json=customer_body()).json()["id"]
        alias = http.post("/customer-aliases", json={"customerId": someone, "value": "who-am-i"}).json()
        account_id = uuid.UUID(alias["sequenceAccountId"])
        engine = make_engine(two_workers.database_url)
        try:
            with engine.connect() as connection, connection.begin() as held:
                now = clock.utc_now()
                repository.claim(connection, account_id, "held", "0" * 64, now, now - timedelta(days=1))
                refused = http.post("/customers", json=body, headers={"Idempotency-Key": "held"})
                held.rollback()
        finally:
            engine.dispose()
        assert refused.status_code == 409, refused.text
        assert "in progress" in refused.json()["error"]["message"]
        proceeded = http.post("/customers", json=body, headers={"Idempotency-Key": "held"})
        assert proceeded.status_code == 201
        assert "idempotent-replayed" not in proceeded.headers
        assert (
            http.get("/customers", params={"legalName": body["legalName"]}).json()["pagination"]["totalResultSize"] == 1
        )
