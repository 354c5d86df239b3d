"""Several worker processes on one database: concurrent writes are all kept, and an alias
value is held by exactly one customer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.factories import customer_body
from tests.system.conftest import create_account_cli, start_server, stop_server

THREADS = 8
CREATES = 120
RACE_VALUES = 10


def test_two_workers_keep_every_acknowledged_write(database_url: str, tmp_path: Path) -> None:
    auth = create_account_cli(database_url, tmp_path)
    process, port = start_server(database_url, tmp_path, workers=2)
    base = f"http://127.0.0.1:{port}/api"
    try:

        def create(index: int) -> tuple[int, Any]:
            with httpx.Client(base_url=base, auth=auth, timeout=30) as http:
                body = customer_body(legalName=f"Worker customer {index}", customerAliases=[f"w-{index}"])
                response = http.post("/customers", json=body)
                return response.status_code, response.json()

        with ThreadPoolExecutor(THREADS) as pool:
            created = list(pool.map(create, range(CREATES)))
        assert {status for status, _ in created} == {201}
        ids = [body["id"] for _, body in created]

        def rename(customer_id: str) -> int:
            with httpx.Client(base_url=base, auth=auth, timeout=30) as http:
                body = customer_body(legalName=f"Renamed {customer_id}")
                return http.put(f"/customers/{customer_id}", json=body).status_code

        def race(args: tuple[int, str]) -> int:
            index, customer_id = args
            with httpx.Client(base_url=base, auth=auth, timeout=30) as http:
                body = {"customerId": customer_id, "value": f"race-{index % RACE_VALUES}"}
                return http.post("/customer-aliases", json=body).status_code

        with ThreadPoolExecutor(THREADS) as pool:
            renamed = list(pool.map(rename, ids[:60]))
            raced = list(pool.map(race, enumerate(ids)))
        assert set(renamed) == {200}
        assert set(raced) <= {201, 409}
        assert raced.count(201) == RACE_VALUES

        with httpx.Client(base_url=base, auth=auth, timeout=30) as http:
            listing = http.get("/customers", params={"limit": 100}).json()
            assert listing["pagination"]["totalResultSize"] == CREATES
            for customer_id in ids[:60]:
                assert http.get(f"/customers/{customer_id}").json()["legalName"] == f"Renamed {customer_id}"
            for index in range(CREATES):
                assert http.get(f"/customers/by-alias/w-{index}").status_code == 200
            for value in range(RACE_VALUES):
                held = http.get("/customer-aliases", params={"value": f"race-{value}"}).json()
                assert held["pagination"]["totalResultSize"] == 1
    finally:
        stop_server(process)
