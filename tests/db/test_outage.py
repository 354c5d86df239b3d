"""PostgreSQL going away: fast 503s with the error body, /readyz not ready, and service
coming back by itself when the database returns, with no restart of patron."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.server.app import create_app
from patron.server.config import Settings
from patron.server.db import migrate
from tests.conftest import SECRET_KEY, make_account
from tests.factories import customer_body

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pg-cluster.sh"

pytestmark = pytest.mark.skipif(
    not os.environ.get("PATRON_TEST_DATABASE_URL"), reason="runs in the PostgreSQL pass of `make test`"
)


def cluster(*args: str) -> str:
    result = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, check=True, timeout=120)
    return result.stdout.strip()


@pytest.fixture
def own_cluster() -> Iterator[tuple[str, str]]:
    # Not under pytest's tmp dir: the cluster's unprivileged user must be able to reach it.
    directory = tempfile.mkdtemp(prefix="patron-outage-")
    url = cluster("start", directory)
    try:
        yield url, directory
    finally:
        cluster("stop", directory)


def test_requests_fail_fast_with_503_and_recover_by_themselves(own_cluster: tuple[str, str]) -> None:
    url, directory = own_cluster
    settings = Settings(database_url=url, secret_key=SECRET_KEY, pool_timeout=2, connect_timeout=2)
    app: Litestar = create_app(settings)
    migrate.upgrade(app.state.database.engine)
    account = make_account(app.state.database)
    with TestClient(app, timeout=20) as client:
        assert client.post("/api/customers", json=customer_body(), headers=account.headers).status_code == 201
        assert client.get("/readyz").status_code == 200

        cluster("crash", directory)
        for _ in range(3):
            # A hang would hit the client timeout and fail the test; the answer must be a 503.
            response = client.get("/api/customers", headers=account.headers)
            assert response.status_code == 503
            assert response.json()["error"]["type"] == "ServiceUnavailable"
            assert response.headers["retry-after"] == "1"
            assert "Traceback" not in response.text
        write = client.post("/api/customers", json=customer_body(), headers=account.headers)
        assert write.status_code == 503
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert client.get("/livez").status_code == 200

        cluster("resume", directory)
        assert client.get("/readyz").status_code == 200
        page = client.get("/api/customers", headers=account.headers)
        assert page.status_code == 200
        assert page.json()["pagination"]["totalResultSize"] == 1
        assert client.post("/api/customers", json=customer_body(), headers=account.headers).status_code == 201
    app.state.database.engine.dispose()
