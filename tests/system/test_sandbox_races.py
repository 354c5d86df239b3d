"""The operator's writes that the database decides, raced: ten copies at once on
`patron serve --workers 2` (both databases in `make test`)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.factories import customer_body
from tests.system.conftest import start_server, stop_server

TOKEN = "race-admin-token"
COPIES = 10


@pytest.fixture
def admin(database_url: str, tmp_path: Path) -> Iterator[httpx.Client]:
    process, port = start_server(database_url, tmp_path, workers=2, env={"PATRON_ADMIN_TOKEN": TOKEN})
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            yield client
    finally:
        stop_server(process)


def race(send: Callable[[], httpx.Response]) -> Counter[int]:
    barrier = threading.Barrier(COPIES)

    def one() -> int:
        barrier.wait()
        return send().status_code

    with ThreadPoolExecutor(COPIES) as pool:
        return Counter(pool.map(lambda _: one(), range(COPIES)))


def test_ten_creates_with_one_chosen_client_id_make_one_account(admin: httpx.Client) -> None:
    body = {"name": "ci", "clientId": "ci-fixed", "clientSecret": "ci-secret"}
    statuses = race(lambda: admin.post("/_patron/accounts", json=body))
    assert statuses == Counter({201: 1, 409: COPIES - 1})
    named = [a for a in admin.get("/_patron/accounts").json()["items"] if "ci-fixed" in a["clientIds"]]
    assert len(named) == 1


def test_ten_seeds_of_one_customer_id_store_it_once(admin: httpx.Client) -> None:
    account = admin.post("/_patron/accounts", json={"name": "seeded"}).json()
    ident = "01a2355b-9c56-7579-8bdc-b657e83d930d"
    fixture = {"customers": [{**customer_body(), "id": ident, "customerAliases": ["crm-1"]}]}
    statuses = race(lambda: admin.post(f"/_patron/accounts/{account['accountId']}/seed", json=fixture))
    assert statuses[201] == 1
    assert set(statuses) <= {201, 409}
    auth = (account["clientId"], account["clientSecret"])
    listed = httpx.get(admin.base_url.join("/api/customers"), auth=auth).json()
    assert [c["id"] for c in listed["items"]] == [ident]
    assert listed["pagination"]["totalResultSize"] == 1
