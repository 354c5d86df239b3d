"""Rate limits at the edge: a credential's requests, a client id's failed authentications,
the 429 and its headers, the settings that configure them, and the shared storages."""

from __future__ import annotations

import dataclasses
import multiprocessing
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from litestar import Litestar
from litestar.testing import TestClient

from patron.server.app import create_app
from patron.server.config import Settings, parse_limits
from patron.server.web import limitstore
from patron.server.web.limitstore import SQLiteStorage
from tests.conftest import Account, make_account

Client = TestClient[Litestar]


@pytest.fixture
def limited(settings: Settings) -> Iterator[Client]:
    """A client of an app limiting each credential to 3 requests and 2 failed
    authentications a minute."""
    app = create_app(dataclasses.replace(settings, rate_limit="3/minute", auth_failure_limit="2/minute"))
    with TestClient(app) as client:
        yield client
    app.state.database.close()


@pytest.fixture
def limited_account(limited: Client) -> Account:
    return make_account(limited.app.state.database)


def wrong(account: Account) -> dict[str, str]:
    return Account(account.account_id, account.client_id, "not-the-secret").headers


class TestRequests:
    def test_every_response_tells_the_allowance_left(self, limited: Client, limited_account: Account) -> None:
        remaining = [limited.get("/api/customers", headers=limited_account.headers) for _ in range(3)]
        assert [r.status_code for r in remaining] == [200, 200, 200]
        assert [r.headers["RateLimit-Remaining"] for r in remaining] == ["2", "1", "0"]
        assert {r.headers["RateLimit-Limit"] for r in remaining} == {"3"}
        assert all(0 < int(r.headers["RateLimit-Reset"]) <= 60 for r in remaining)

    def test_past_the_limit_429_with_sequences_body_and_retry_after(
        self, limited: Client, limited_account: Account
    ) -> None:
        for _ in range(3):
            limited.get("/api/customers", headers=limited_account.headers)
        refused = limited.post("/api/customers", headers=limited_account.headers, json={"name": "x"})
        assert refused.status_code == 429
        assert refused.json()["error"]["type"] == "RateLimited"
        assert refused.json()["error"]["message"]
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["RateLimit-Remaining"] == "0"
        assert refused.headers["RateLimit-Limit"] == "3"
        assert refused.headers["Cache-Control"] == "no-store"
        assert refused.headers["Request-Id"]

    def test_each_credential_has_its_own_allowance(self, limited: Client, limited_account: Account) -> None:
        other = make_account(limited.app.state.database, "globex")
        for _ in range(3):
            limited.get("/api/customers", headers=limited_account.headers)
        assert limited.get("/api/customers", headers=limited_account.headers).status_code == 429
        assert limited.get("/api/customers", headers=other.headers).status_code == 200

    def test_wrong_secrets_do_not_spend_the_credentials_allowance(
        self, limited: Client, limited_account: Account
    ) -> None:
        limited.get("/api/customers", headers=wrong(limited_account))
        assert limited.get("/api/customers", headers=limited_account.headers).headers["RateLimit-Remaining"] == "2"

    def test_health_checks_and_metrics_are_not_limited(self, limited: Client, limited_account: Account) -> None:
        for _ in range(5):
            assert limited.get("/livez").status_code == 200
            assert limited.get("/metrics").status_code == 200

    def test_zero_turns_the_limit_off(self, client: Client, account: Account) -> None:
        responses = [client.get("/api/customers", headers=account.headers) for _ in range(150)]
        assert {r.status_code for r in responses} == {200}
        assert "RateLimit-Limit" not in responses[0].headers


class TestFailedAuthentications:
    def test_a_client_id_out_of_failures_gets_429_even_with_the_right_secret(
        self, limited: Client, limited_account: Account
    ) -> None:
        assert [limited.get("/api/customers", headers=wrong(limited_account)).status_code for _ in range(2)] == [
            401,
            401,
        ]
        refused = limited.get("/api/customers", headers=limited_account.headers)
        assert refused.status_code == 429
        assert refused.json()["error"]["type"] == "RateLimited"
        assert "failed authentications" in refused.json()["error"]["message"]
        assert 1 <= int(refused.headers["Retry-After"]) <= 60

    def test_unknown_client_ids_are_limited_too(self, limited: Client) -> None:
        stranger = Account("", "no-such-client", "guess")
        statuses = [limited.get("/api/customers", headers=stranger.headers).status_code for _ in range(3)]
        assert statuses == [401, 401, 429]

    def test_another_client_id_is_unaffected(self, limited: Client, limited_account: Account) -> None:
        for _ in range(3):
            limited.get("/api/customers", headers=wrong(limited_account))
        other = make_account(limited.app.state.database, "globex")
        assert limited.get("/api/customers", headers=other.headers).status_code == 200


class TestSettings:
    def test_defaults_are_sequences_rate_and_ten_failures_a_minute(self) -> None:
        settings = Settings.from_env({"PATRON_SECRET_KEY": "k"})
        assert settings.rate_limit == "100/minute"
        assert settings.auth_failure_limit == "10/minute"
        assert settings.rate_limit_storage == "memory://"

    def test_read_from_the_environment(self) -> None:
        settings = Settings.from_env(
            {
                "PATRON_SECRET_KEY": "k",
                "PATRON_RATE_LIMIT": "1500/minute;20/second",
                "PATRON_AUTH_FAILURE_LIMIT": "0",
                "PATRON_RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379",
            }
        )
        assert [str(item) for item in parse_limits(settings.rate_limit)] == ["1500 per 1 minute", "20 per 1 second"]
        assert parse_limits(settings.auth_failure_limit) == []
        assert settings.rate_limit_storage == "redis://127.0.0.1:6379"

    @pytest.mark.parametrize("value", ["lots", "100", "100/fortnight", "-1/minute"])
    def test_a_typo_stops_the_server_instead_of_leaving_it_unprotected(self, value: str) -> None:
        with pytest.raises(ValueError, match="not a rate limit"):
            Settings.from_env({"PATRON_SECRET_KEY": "k", "PATRON_RATE_LIMIT": value})


def _take_slots(uri: str, count: int) -> int:
    """In another process: hit a 10-a-minute limit `count` times, return how many passed."""
    limiter = MovingWindowRateLimiter(storage_from_string(uri))
    item = parse("10/minute")
    return sum(limiter.hit(item, "requests", "c") for _ in range(count))


class TestSQLiteStorage:
    def test_processes_sharing_the_file_share_the_limit(self, tmp_path: Path) -> None:
        uri = f"sqlite:///{tmp_path / 'limits.db'}"
        SQLiteStorage(uri)  # the schema, before the processes race for it
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            passed = pool.starmap(_take_slots, [(uri, 8), (uri, 8)])
        assert sum(passed) == 10

    def test_a_moving_window_reports_what_is_left(self, tmp_path: Path) -> None:
        limiter = MovingWindowRateLimiter(storage_from_string(f"sqlite:///{tmp_path / 'limits.db'}"))
        item = parse("2/minute")
        assert limiter.hit(item, "k")
        assert limiter.get_window_stats(item, "k").remaining == 1
        assert limiter.hit(item, "k")
        assert not limiter.hit(item, "k")
        assert limiter.get_window_stats(item, "k").remaining == 0
        limiter.clear(item, "k")
        assert limiter.hit(item, "k")

    def test_hits_leave_the_window_and_forgotten_keys_leave_the_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        clock = [1000.0]
        monkeypatch.setattr(limitstore, "time", SimpleNamespace(time=lambda: clock[0]))
        path = tmp_path / "limits.db"
        storage = SQLiteStorage(f"sqlite:///{path}")
        assert storage.acquire_entry("a", 2, 60)
        assert storage.acquire_entry("b", 2, 60)
        clock[0] += 30
        assert storage.acquire_entry("a", 2, 60)
        assert not storage.acquire_entry("a", 2, 60)
        assert storage.get_moving_window("a", 2, 60) == (1000.0, 2)
        clock[0] += 31  # the first hit of "a" (and the one of "b") has left the window
        assert storage.get_moving_window("a", 2, 60) == (1030.0, 1)
        assert storage.acquire_entry("a", 2, 60)
        assert not storage.acquire_entry("a", 2, 60)
        clock[0] += 100  # the sweeps (once a minute) have forgotten "b" and every old hit of "a"
        assert storage.acquire_entry("a", 2, 60)
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT DISTINCT key FROM hits").fetchall() == [("a",)]
            assert db.execute("SELECT key, taken FROM windows").fetchall() == [("a", 1)]

    def test_fixed_window_counters(self, tmp_path: Path) -> None:
        storage = SQLiteStorage(f"sqlite:///{tmp_path / 'limits.db'}")
        assert storage.incr("k", 60) == 1
        assert storage.incr("k", 60, amount=2) == 3
        assert storage.get("k") == 3
        assert storage.get_expiry("k") > 0
        assert storage.check()
        storage.reset()
        assert storage.get("k") == 0
