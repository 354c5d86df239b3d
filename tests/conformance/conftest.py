"""One app per module for the conformance suites: a migrated database, an account, and a
few real objects so generated requests also reach existing customers, aliases, contacts."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.server.app import create_app
from patron.server.config import Settings
from tests.conftest import NO_LIMITS, SECRET_KEY, Account, Backend, make_account
from tests.factories import create_alias, create_customer


@dataclass
class Target:
    """The app under test, how to authenticate, and real ids to aim generated requests at."""

    app: Litestar
    account: Account
    ids: dict[str, str]
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def aim(self, path: str, path_parameters: dict[str, Any]) -> dict[str, Any]:
        """Every other case, replace generated ids with real ones (the rest stay random)."""
        if not path_parameters or next(self.counter) % 2:
            return path_parameters
        kind = "customer"
        if path.startswith("/customer-aliases/"):
            kind = "alias_id"
        elif path.startswith("/customer-organizations/"):
            kind = "organization"
        elif "/contacts/" in path:
            kind = "contact"
        real = {"id": self.ids[kind], "customer": self.ids["customer"], "alias": self.ids["alias"]}
        return {name: real.get(name, value) for name, value in path_parameters.items()}

    def aim_body(self, body: Any) -> Any:
        """Every other body, point the ids it names at real customers."""
        if not isinstance(body, dict) or next(self.counter) % 2:
            return body
        aimed = dict(body)
        if "customerId" in aimed:
            aimed["customerId"] = self.ids["customer"]
        if "ownerId" in aimed:
            aimed["ownerId"] = self.ids["spare"]
        for key in ("memberIds", "customerIds"):
            if isinstance(aimed.get(key), list):
                aimed[key] = [self.ids["customer"]]
        return aimed


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[Target]:
    url = backend.fresh(tmp_path_factory.mktemp("conformance"))
    app = create_app(Settings(database_url=url, secret_key=SECRET_KEY, **NO_LIMITS))
    account = make_account(app.state.database)
    with TestClient(app) as client:
        parent = create_customer(client, account.headers, customerAliases=["conformance-parent"])
        child = create_customer(client, account.headers, parentId=parent["id"], customerAliases=["conformance"])
        alias = create_alias(client, account.headers, child["id"], "conformance-extra")
        organization = child["organizations"][0]["id"]
        spare = create_customer(client, account.headers)
    ids = {
        "id": child["id"],
        "customer": child["id"],
        "alias": "conformance",
        "organization": organization,
        "alias_id": alias["id"],
        "contact": child["contacts"][0]["id"],
        "spare": spare["id"],
    }
    yield Target(app=app, account=account, ids=ids)
    app.state.database.engine.dispose()
    backend.drop(url)
