"""Changes of one notification policy, raced: ten copies at once on `patron serve --workers 2`
(both databases in `make test`). Each change reads the policy's lists and writes new ones;
the final state shows whether any was lost."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from patron.server.db.engine import Database, make_engine
from patron.wire.enums import NotificationType
from tests.conftest import SECRET_KEY, Account
from tests.server.notifications.policies import delivery_states, queue_deliveries
from tests.system.conftest import create_account_cli, start_server, stop_server

COPIES = 10
POLICIES = "/api/notifications/policies"
FIRST = "https://hooks.example.com/sequence"


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[httpx.Client]:
    auth = create_account_cli(database_url, tmp_path)
    process, port = start_server(database_url, tmp_path, workers=2)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=auth, timeout=30) as client:
            yield client
    finally:
        stop_server(process)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(make_engine(database_url), SECRET_KEY.encode())
    yield db
    db.close()


def race(send: Callable[[int], httpx.Response]) -> Counter[int]:
    """`send(n)` for n in 0..9, all let go at once; how many answered each status."""
    barrier = threading.Barrier(COPIES)

    def one(index: int) -> int:
        barrier.wait()
        return send(index).status_code

    with ThreadPoolExecutor(COPIES) as pool:
        return Counter(pool.map(one, range(COPIES)))


def create(api: httpx.Client, **body: object) -> dict[str, object]:
    response = api.post(POLICIES, json={"name": "raced", "recipients": [FIRST], "channel": "WEBHOOK", **body})
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def test_ten_adds_of_different_recipients_keep_all_ten(api: httpx.Client) -> None:
    policy = create(api)
    urls = [f"https://hooks.example.com/{n}//x?a={n}&b=2" for n in range(COPIES)]
    path = f"{POLICIES}/{policy['id']}/recipients"
    assert race(lambda n: api.post(path, json={"recipients": [urls[n]]})) == Counter({200: COPIES})
    recipients = api.get(f"{POLICIES}/{policy['id']}").json()["recipients"]
    assert recipients[0] == FIRST
    assert sorted(recipients[1:]) == sorted(urls)


def test_ten_adds_of_one_recipient_add_it_once(api: httpx.Client) -> None:
    policy = create(api)
    path = f"{POLICIES}/{policy['id']}/recipients"
    assert race(lambda _: api.post(path, json={"recipients": ["https://b.example.com/"]})) == Counter({200: COPIES})
    assert api.get(f"{POLICIES}/{policy['id']}").json()["recipients"] == [FIRST, "https://b.example.com/"]


def test_ten_removals_of_different_types_from_every_type_leave_the_other_ten(api: httpx.Client) -> None:
    policy = create(api)
    every = [kind.value for kind in NotificationType]
    gone = every[::2]
    path = f"{POLICIES}/{policy['id']}/notification-types"
    assert race(lambda n: api.delete(f"{path}/{gone[n]}")) == Counter({200: COPIES})
    assert api.get(f"{POLICIES}/{policy['id']}").json()["notificationTypes"] == every[1::2]


def test_ten_removals_of_different_recipients_leave_the_rest(api: httpx.Client) -> None:
    urls = [f"https://hooks.example.com/{n}/?a=1&b=2" for n in range(COPIES)]
    policy = create(api, recipients=[FIRST, *urls])
    path = f"{POLICIES}/{policy['id']}/recipients"
    assert race(lambda n: api.delete(f"{path}/{quote(urls[n], safe='')}")) == Counter({200: COPIES})
    assert api.get(f"{POLICIES}/{policy['id']}").json()["recipients"] == [FIRST]


def test_ten_deletes_have_one_winner_and_cancel_every_pending_delivery(api: httpx.Client, database: Database) -> None:
    policy = create(api, recipients=[FIRST, "https://b.example.com/"])
    account = Account(str(policy["sequenceAccountId"]), "", "")
    pending = queue_deliveries(database, account, str(policy["id"]), [FIRST, "https://b.example.com/"])
    statuses = race(lambda _: api.delete(f"{POLICIES}/{policy['id']}"))
    assert statuses == Counter({200: 1, 404: COPIES - 1})
    assert api.get(f"{POLICIES}/{policy['id']}").status_code == 404
    assert api.get(POLICIES).json()["pagination"]["totalResultSize"] == 0
    assert delivery_states(database, pending) == [("cancelled", True), ("cancelled", True)]
