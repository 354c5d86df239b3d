"""Concurrent requests over real HTTP: the database, not a read-then-write check, decides."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.factories import customer_body
from tests.system.conftest import Server

RACERS = 16
VALUES = 5


def test_concurrent_creates_of_one_alias_value_have_exactly_one_winner(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, auth=server.auth, timeout=30) as http:
        customers = [http.post("/customers", json=customer_body()).json()["id"] for _ in range(RACERS)]
    statuses: Counter[int] = Counter()
    barrier = threading.Barrier(RACERS)

    def race(index: int, value: str) -> int:
        with httpx.Client(base_url=server.base_url, auth=server.auth, timeout=30) as http:
            barrier.wait()
            response = http.post("/customer-aliases", json={"customerId": customers[index], "value": value})
            return response.status_code

    for round_number in range(VALUES):
        value = f"race-{round_number}"
        with ThreadPoolExecutor(RACERS) as pool:
            results = list(pool.map(race, range(RACERS), [value] * RACERS))
        statuses.update(results)
        assert results.count(201) == 1, results
        assert results.count(409) == RACERS - 1, results

    with httpx.Client(base_url=server.base_url, auth=server.auth, timeout=30) as http:
        for round_number in range(VALUES):
            page = http.get("/customer-aliases", params={"value": f"race-{round_number}"}).json()
            assert page["pagination"]["totalResultSize"] == 1
    assert set(statuses) == {201, 409}
