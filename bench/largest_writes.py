"""How long the largest valid requests hold SQLite's write lock (docs/limits.md).

    python bench/largest_writes.py [--repeat 5]

In process, on a fresh SQLite file: every list of the request at its maximum and every string
at its longest. The figure is the write transaction's life (BEGIN IMMEDIATE to COMMIT, the
lock's), next to the whole request's; median and worst of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import Connection

from patron.server.accounts import service as accounts
from patron.server.app import create_app
from patron.server.config import Settings
from patron.server.db import migrate
from patron.server.db.engine import make_engine
from patron.wire import models as wire
from patron.wire.enums import IntegrationService

_run = iter(range(1_000_000))


def largest_customer(tag: str) -> dict[str, Any]:
    """A CreateOrUpdateCustomerRequest with every list full and every string at its maximum."""
    text = "x" * wire.MAX_TEXT
    return {
        "legalName": tag + text[len(tag) :],
        "address": {"line1": text, "line2": text, "town": text, "postcode": "p" * wire.MAX_POSTCODE, "country": "GB"},
        "taxStatus": "TAXED",
        "url": text,
        "label": text,
        "contacts": [
            {
                "name": text,
                "email": f"{tag}-{i}-" + "e" * (wire.MAX_TEXT - len(tag) - 20) + "@example.com",
                "billingPreference": "PRIMARY",
            }
            for i in range(wire.MAX_CONTACTS)
        ],
        "customerAliases": [f"{tag}-{i}-".ljust(wire.MAX_VALUE, "a") for i in range(wire.MAX_ALIASES)],
        "integrationIds": [{"service": s.value, "id": text} for s in IntegrationService],
        "customProperties": {f"{tag}-{i}-".ljust(wire.MAX_VALUE, "k"): text for i in range(wire.MAX_PROPERTIES)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{Path(workdir) / 'largest.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        app = create_app(Settings(database_url=url, secret_key="bench", rate_limit="0", auth_failure_limit="0"))
        database = app.state.database
        held: list[float] = []
        plain_write = database.write

        @contextmanager
        def timed_write() -> Iterator[Connection]:
            started = time.perf_counter()
            with plain_write() as tx:
                yield tx
            held.append(time.perf_counter() - started)

        database.write = timed_write
        with database.write() as tx:
            new = accounts.create_account(tx, database.key, "bench")
        auth = (new.client_id, new.client_secret)
        with TestClient(app) as client:
            client.auth = auth
            for name, send in _requests(client).items():
                _measure(name, send, held, args.repeat)
        database.close()


def _requests(client: TestClient[Any]) -> dict[str, Callable[[], Any]]:
    def create() -> Any:
        return client.post("/api/customers", json=largest_customer(f"c{next(_run)}"))

    first = create().json()["id"]
    members = [client.post("/api/customers", json=_small(i)).json()["id"] for i in range(wire.MAX_MEMBERS + 1)]
    owners = iter(members)
    organization = client.post("/api/customer-organizations", json={"ownerId": next(owners), "memberIds": []}).json()

    def update() -> Any:
        return client.put(f"/api/customers/{first}", json=largest_customer(f"u{next(_run)}"))

    def organize() -> Any:
        body = {"ownerId": _spare(client), "memberIds": members[1:]}
        return client.post("/api/customer-organizations", json=body)

    def add() -> Any:
        client.put(f"/api/customer-organizations/{organization['id']}/members", json={"customerIds": []})
        return client.post(
            f"/api/customer-organizations/{organization['id']}/members", json={"customerIds": members[1:]}
        )

    def replace() -> Any:
        return client.put(
            f"/api/customer-organizations/{organization['id']}/members", json={"customerIds": members[1:]}
        )

    return {
        "POST /customers (largest)": create,
        "PUT /customers/{id} (largest, all replaced)": update,
        "POST /customer-organizations (1,000 members)": organize,
        "POST /customer-organizations/{id}/members (1,000)": add,
        "PUT /customer-organizations/{id}/members (1,000)": replace,
    }


def _small(index: int) -> dict[str, Any]:
    return {
        "legalName": f"Member {index}",
        "address": {"line1": "1 Main St", "town": "Town", "postcode": "1", "country": "GB"},
        "taxStatus": "TAXED",
        "contacts": [{"name": "A", "email": f"m{index}@example.com", "billingPreference": "PRIMARY"}],
    }


def _spare(client: TestClient[Any]) -> str:
    found: str = client.post("/api/customers", json=_small(next(_run) + 10_000)).json()["id"]
    return found


def _measure(name: str, send: Callable[[], Any], held: list[float], repeat: int) -> None:
    locks, requests = [], []
    for _ in range(repeat):
        held.clear()
        started = time.perf_counter()
        response = send()
        requests.append(time.perf_counter() - started)
        assert response.status_code in {200, 201}, response.text[:300]
        locks.append(held[-1])
    size = len(response.request.content)
    print(
        f"{name:50} body {size / 1024:6.0f} KiB  lock median {statistics.median(locks) * 1000:6.1f} ms"
        f"  worst {max(locks) * 1000:6.1f} ms  request median {statistics.median(requests) * 1000:6.1f} ms"
    )


if __name__ == "__main__":
    main()
