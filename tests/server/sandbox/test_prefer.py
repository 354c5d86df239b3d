"""`Prefer: code=...` and `Prefer: delay=...` (Prism's convention) through HTTP: one call
answered or delayed, only while the control plane is on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.server.config import Settings
from tests.conftest import NO_LIMITS, SECRET_KEY, Account
from tests.factories import customer_body
from tests.server.sandbox.conftest import ADMIN

Client = TestClient[Litestar]


def customers(client: Client, account: Account, prefer: str | list[str]) -> Any:
    values = [prefer] if isinstance(prefer, str) else prefer
    headers = [*account.headers.items(), *(("Prefer", value) for value in values)]
    return client.get("/api/customers", headers=headers)


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The seconds each `asyncio.sleep` was asked for; the sleeps themselves are skipped."""
    asked: list[float] = []
    real = asyncio.sleep

    async def sleep(seconds: float, *args: Any) -> Any:
        asked.append(seconds)
        return await real(0, *args)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    return asked


class TestCode:
    @pytest.mark.parametrize(
        ("code", "error_type"), [(429, "RateLimited"), (503, "ServiceUnavailable"), (500, "InternalServerError")]
    )
    def test_answers_that_status_with_sequences_error_body(
        self, client: Client, account: Account, code: int, error_type: str
    ) -> None:
        answer = customers(client, account, f"code={code}")
        assert answer.status_code == code
        assert answer.json()["error"]["type"] == error_type
        assert answer.headers["preference-applied"] == f"code={code}"

    @pytest.mark.parametrize(("code", "retry_after"), [(429, "1"), (503, "1"), (500, None), (404, None)])
    def test_retry_after_1_for_429_and_503(
        self, client: Client, account: Account, code: int, retry_after: str | None
    ) -> None:
        assert customers(client, account, f"code={code}").headers.get("retry-after") == retry_after

    def test_for_that_call_only(self, client: Client, account: Account) -> None:
        assert customers(client, account, "code=503").status_code == 503
        assert client.get("/api/customers", headers=account.headers).status_code == 200

    def test_a_post_answered_so_creates_nothing(self, client: Client, account: Account) -> None:
        headers = {**account.headers, "Prefer": "code=503"}
        assert client.post("/api/customers", json=customer_body(), headers=headers).status_code == 503
        page = client.get("/api/customers", headers=account.headers).json()
        assert page["pagination"]["totalResultSize"] == 0

    @pytest.mark.parametrize(
        ("prefer", "status"),
        [
            ("code=429, code=503", 429),  # RFC 7240: the first instance counts
            ('code="503"', 503),
            ("Code=503", 503),
            ("return=minimal, code=503; foo=bar", 503),
            ("respond-async,code=502", 502),
        ],
    )
    def test_rfc_7240s_syntax(self, client: Client, account: Account, prefer: str, status: int) -> None:
        assert customers(client, account, prefer).status_code == status

    def test_several_prefer_headers_are_one_list(self, client: Client, account: Account, slept: list[float]) -> None:
        answer = customers(client, account, ["delay=20", "code=503"])
        assert answer.status_code == 503
        assert 0.02 in slept
        assert answer.headers["preference-applied"] == "delay=20, code=503"

    def test_wins_over_a_fault_rule_whose_count_is_kept(self, client: Client, account: Account) -> None:
        faults = f"/_patron/accounts/{account.account_id}/faults"
        rule = {"path": "/api/customers", "status": 500, "count": 1}
        assert client.post(faults, json=rule, headers=ADMIN).status_code == 201
        assert customers(client, account, "code=429").status_code == 429
        assert client.get(faults, headers=ADMIN).json()["items"][0]["remaining"] == 1
        assert client.get("/api/customers", headers=account.headers).status_code == 500


class TestDelay:
    def test_delays_the_real_answer(self, client: Client, account: Account, slept: list[float]) -> None:
        answer = customers(client, account, "delay=500")
        assert answer.status_code == 200
        assert answer.json()["items"] == []
        assert 0.5 in slept
        assert answer.headers["preference-applied"] == "delay=500"

    def test_with_a_code_waits_then_answers_it(self, client: Client, account: Account, slept: list[float]) -> None:
        answer = customers(client, account, "code=503, delay=200")
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        assert 0.2 in slept
        assert answer.headers["preference-applied"] == "code=503, delay=200"


class TestIgnoredOrRefused:
    @pytest.mark.parametrize("prefer", ["return=minimal", "dynamic=true", "example=x", "", "codes=503", "delayed=1"])
    def test_other_preferences_are_ignored(self, client: Client, account: Account, prefer: str) -> None:
        answer = customers(client, account, prefer)
        assert answer.status_code == 200
        assert "preference-applied" not in answer.headers

    @pytest.mark.parametrize(
        "prefer",
        [
            *("code=abc", "code=200", "code=399", "code=600", "code=", "code", "code=5e2", "code=-429"),
            *("delay=-1", "delay=60001", "delay=1.5", "delay=soon", "code=503, delay=x"),
        ],
    )
    def test_a_bad_code_or_delay_is_400_naming_prefer(self, client: Client, account: Account, prefer: str) -> None:
        answer = customers(client, account, prefer)
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["type"] == "ValidationError"
        assert [e["field"] for e in error["errors"]] == ["Prefer"]

    def test_the_bounds_are_accepted(self, client: Client, account: Account, slept: list[float]) -> None:
        assert customers(client, account, "code=400").status_code == 400
        assert customers(client, account, "code=599").status_code == 599
        assert customers(client, account, "delay=0").status_code == 200
        assert customers(client, account, "delay=60000").status_code == 200
        assert 60.0 in slept


class TestWithTheControlPlaneOff:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return Settings(database_url=database_url, secret_key=SECRET_KEY, **NO_LIMITS)

    @pytest.mark.parametrize("prefer", ["code=503", "code=429, delay=100", "delay=500", "code=abc"])
    def test_prefer_is_ignored(self, client: Client, account: Account, prefer: str, slept: list[float]) -> None:
        answer = customers(client, account, prefer)
        assert answer.status_code == 200
        assert "preference-applied" not in answer.headers
        assert slept == []
