"""Webhook events under racing writes, on `patron serve --workers 2` (both databases in
`make test`): each committed change is announced once, and the customer a write announces
is rendered after every racing write that announced it before (docs/webhooks.md)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from patron.server.db import tables
from patron.server.db.engine import make_engine
from tests.factories import customer_body
from tests.system.conftest import create_account_cli, start_server, stop_server

COPIES = 10
e = tables.webhook_event.c


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[httpx.Client]:
    auth = create_account_cli(database_url, tmp_path)
    process, port = start_server(database_url, tmp_path, workers=2)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api", auth=auth, timeout=30) as client:
            yield client
    finally:
        stop_server(process)


def race(sends: list[Callable[[], httpx.Response]]) -> list[int]:
    barrier = threading.Barrier(len(sends))

    def one(send: Callable[[], httpx.Response]) -> int:
        barrier.wait()
        return send().status_code

    with ThreadPoolExecutor(len(sends)) as pool:
        return list(pool.map(one, sends))


def announced(database_url: str, resource_id: str) -> list[tuple[str, dict[str, Any]]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as tx:
            rows = tx.execute(select(e.notification_type, e.body, e.resource_id)).all()
    finally:
        engine.dispose()
    return [
        (row.notification_type, json.loads(row.body)["resource"]) for row in rows if str(row.resource_id) == resource_id
    ]


def test_ten_updates_with_distinct_labels_fire_ten_updates(api: httpx.Client, database_url: str) -> None:
    body = customer_body()
    customer = api.post("/customers", json=body).json()
    url = f"/customers/{customer['id']}"
    statuses = race([partial(api.put, url, json={**body, "label": f"l{i}"}) for i in range(COPIES)])
    assert statuses == [200] * COPIES
    updates = [resource for kind, resource in announced(database_url, customer["id"]) if kind == "CUSTOMER_UPDATED"]
    assert sorted(r["label"] for r in updates) == sorted(f"l{i}" for i in range(COPIES))
    assert api.get(f"/customers/{customer['id']}").json() in updates


def test_ten_archives_fire_one_archived(api: httpx.Client, database_url: str) -> None:
    customer = api.post("/customers", json=customer_body()).json()
    assert race([lambda: api.post(f"/customers/{customer['id']}/archive")] * COPIES) == [200] * COPIES
    assert [kind for kind, _ in announced(database_url, customer["id"])] == ["CUSTOMER_CREATED", "CUSTOMER_ARCHIVED"]


def test_ten_retries_with_one_key_fire_one_created(api: httpx.Client, database_url: str) -> None:
    body = customer_body()
    statuses = race([lambda: api.post("/customers", json=body, headers={"Idempotency-Key": "once"})] * COPIES)
    assert set(statuses) <= {201, 409}
    listed = api.get("/customers").json()["items"]
    assert len(listed) == 1
    assert [kind for kind, _ in announced(database_url, listed[0]["id"])] == ["CUSTOMER_CREATED"]


def test_a_member_updated_while_it_joins_organizations_is_announced_as_it_ends(
    api: httpx.Client, database_url: str
) -> None:
    """Updates of a customer race members added to organizations it belongs to; the two
    take different row locks, so only the outbox's own lock keeps the last announcement of
    the customer equal to what it finally is."""
    body = customer_body()
    member = api.post("/customers", json=body).json()
    owners = [api.post("/customers", json=customer_body()).json() for _ in range(COPIES // 2)]
    orgs = [api.post("/customer-organizations", json={"ownerId": o["id"], "memberIds": []}).json() for o in owners]
    joining = {"customerIds": [member["id"]]}
    joins = [partial(api.post, f"/customer-organizations/{org['id']}/members", json=joining) for org in orgs]
    url = f"/customers/{member['id']}"
    puts = [partial(api.put, url, json={**body, "label": f"l{i}"}) for i in range(COPIES // 2)]
    assert race([*joins, *puts]) == [200] * COPIES
    final = api.get(f"/customers/{member['id']}").json()
    assert len(final["organizations"]) == len(orgs)
    assert final in [resource for _, resource in announced(database_url, member["id"])]
