"""Injected faults through HTTP: the operator's rules (create, list, delete) and what they
do to an account's `/api` requests."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.server.config import Settings
from tests.conftest import NO_LIMITS, SECRET_KEY, Account
from tests.factories import customer_body
from tests.server.sandbox.conftest import ADMIN, ADMIN_TOKEN

Client = TestClient[Litestar]
BY_ALIAS = "/api/customers/by-alias/*"
MISSING = "01890000-0000-7000-8000-000000000000"


def faults_of(account: Account) -> str:
    return f"/_patron/accounts/{account.account_id}/faults"


def inject(client: Client, account: Account, **rule: Any) -> dict[str, Any]:
    answer = client.post(faults_of(account), json={"path": BY_ALIAS, "status": 503, **rule}, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def by_alias(client: Client, account: Account, value: str = "x", **headers: str) -> Any:
    return client.get(f"/api/customers/by-alias/{value}", headers={**account.headers, **headers})


def listed(client: Client, account: Account) -> list[dict[str, Any]]:
    answer = client.get(faults_of(account), headers=ADMIN)
    assert answer.status_code == 200
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


class TestCreateFault:
    def test_201_with_the_rule_and_its_id(self, client: Client, account: Account) -> None:
        body = {"method": "GET", "path": BY_ALIAS, "status": 429, "count": 2, "probability": 0.5, "retryAfter": 7}
        answer = client.post(faults_of(account), json=body, headers=ADMIN)
        assert answer.status_code == 201
        created = answer.json()
        assert {k: v for k, v in created.items() if k not in ("id", "createdAt")} == {
            "method": "GET",
            "path": BY_ALIAS,
            "status": 429,
            "remaining": 2,
            "probability": 0.5,
            "retryAfter": 7,
        }
        assert created["createdAt"].endswith("Z")

    def test_listed_oldest_first(self, client: Client, account: Account) -> None:
        first = inject(client, account, status=500)
        second = inject(client, account, delayMs=10, status=None)
        assert [rule["id"] for rule in listed(client, account)] == [first["id"], second["id"]]

    def test_a_rule_without_a_count_lists_no_remaining(self, client: Client, account: Account) -> None:
        inject(client, account)
        assert "remaining" not in listed(client, account)[0]

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"path": "/customers/*"}, "path"),
            ({"path": "/apix/customers"}, "path"),
            ({"path": "/api/customers?alias=x"}, "path"),
            ({"path": "/api/customers x"}, "path"),
            ({"path": ""}, "path"),
            ({"path": "/api/" + "x" * 1000}, "path"),
            ({"path": 7}, "path"),
            ({"method": "PATCH"}, "method"),
            ({"method": "get"}, "method"),
            ({"status": 399}, "status"),
            ({"status": 600}, "status"),
            ({"status": True}, "status"),
            ({"status": None, "delayMs": None}, "status"),
            ({"count": 0}, "count"),
            ({"count": 1.5}, "count"),
            ({"count": 1_000_001}, "count"),
            ({"probability": 0}, "probability"),
            ({"probability": 1.01}, "probability"),
            ({"retryAfter": -1}, "retryAfter"),
            ({"retryAfter": 86_401}, "retryAfter"),
            ({"status": None, "delayMs": 10, "retryAfter": 1}, "retryAfter"),
            ({"delayMs": -1}, "delayMs"),
            ({"delayMs": 60_001}, "delayMs"),
        ],
    )
    def test_bad_input_is_400_naming_the_field(
        self, client: Client, account: Account, change: dict[str, Any], field: str
    ) -> None:
        body = {k: v for k, v in {"path": BY_ALIAS, "status": 503, **change}.items() if v is not None}
        answer = client.post(faults_of(account), json=body, headers=ADMIN)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["type"] == "ValidationError"
        assert [error["field"] for error in answer.json()["error"]["errors"]] == [field]
        assert listed(client, account) == []

    def test_a_missing_path_is_400_naming_it(self, client: Client, account: Account) -> None:
        answer = client.post(faults_of(account), json={"status": 503}, headers=ADMIN)
        assert answer.status_code == 400
        assert answer.json()["error"]["errors"][0]["field"] == "path"

    def test_the_boundaries_are_accepted(self, client: Client, account: Account) -> None:
        for rule in ({"status": 400, "probability": 1}, {"status": 599, "retryAfter": 0}, {"delayMs": 60_000}):
            assert client.post(faults_of(account), json={"path": "/api/**", **rule}, headers=ADMIN).status_code == 201

    def test_past_100_rules_is_400(self, client: Client, account: Account) -> None:
        for _ in range(100):
            inject(client, account)
        answer = client.post(faults_of(account), json={"path": BY_ALIAS, "status": 503}, headers=ADMIN)
        assert answer.status_code == 400
        assert answer.json()["error"]["errors"][0]["field"] == "faults"
        assert len(listed(client, account)) == 100


class TestTheOperatorsEndpoints:
    @pytest.mark.parametrize(
        ("method", "suffix"), [("POST", ""), ("GET", ""), ("DELETE", ""), ("DELETE", f"/{MISSING}")]
    )
    def test_a_wrong_token_is_401(self, client: Client, account: Account, method: str, suffix: str) -> None:
        for headers in ({"Authorization": "Bearer wrong"}, account.headers, {}):
            answer = client.request(method, faults_of(account) + suffix, json={"path": BY_ALIAS}, headers=headers)
            assert answer.status_code == 401
            assert answer.json()["error"]["type"] == "Unauthorized"

    @pytest.mark.parametrize("account_id", [MISSING, "not-an-id", "0" * 40])
    @pytest.mark.parametrize(("method", "suffix"), [("POST", ""), ("GET", ""), ("DELETE", ""), ("DELETE", "/x")])
    def test_an_unknown_or_malformed_account_is_404(
        self, client: Client, account_id: str, method: str, suffix: str
    ) -> None:
        path = f"/_patron/accounts/{account_id}/faults{suffix}"
        answer = client.request(method, path, json={"path": BY_ALIAS, "status": 503}, headers=ADMIN)
        assert answer.status_code == 404
        assert answer.json()["error"]["type"] == "NotFound"

    @pytest.mark.parametrize("fault_id", [MISSING, "nope"])
    def test_deleting_an_unknown_or_malformed_fault_is_404(
        self, client: Client, account: Account, fault_id: str
    ) -> None:
        answer = client.delete(f"{faults_of(account)}/{fault_id}", headers=ADMIN)
        assert answer.status_code == 404

    def test_another_accounts_fault_is_404_and_kept(
        self, client: Client, account: Account, other_account: Account
    ) -> None:
        theirs = inject(client, other_account)
        assert client.delete(f"{faults_of(account)}/{theirs['id']}", headers=ADMIN).status_code == 404
        assert listed(client, account) == []
        assert [rule["id"] for rule in listed(client, other_account)] == [theirs["id"]]

    def test_delete_one_is_204_and_the_request_is_served_again(self, client: Client, account: Account) -> None:
        rule = inject(client, account)
        kept = inject(client, account, path="/api/contacts/*")
        assert by_alias(client, account).status_code == 503
        assert client.delete(f"{faults_of(account)}/{rule['id']}", headers=ADMIN).status_code == 204
        assert by_alias(client, account).status_code == 404
        assert [r["id"] for r in listed(client, account)] == [kept["id"]]

    def test_delete_all_is_204_and_touches_no_other_account(
        self, client: Client, account: Account, other_account: Account
    ) -> None:
        inject(client, account)
        inject(client, account, status=500)
        inject(client, other_account)
        assert client.delete(faults_of(account), headers=ADMIN).status_code == 204
        assert listed(client, account) == []
        assert len(listed(client, other_account)) == 1
        assert by_alias(client, account).status_code == 404
        assert client.delete(faults_of(account), headers=ADMIN).status_code == 204


class TestAFaultsAnswer:
    def test_503_has_sequences_error_body_and_retry_after_1(self, client: Client, account: Account) -> None:
        inject(client, account)
        answer = by_alias(client, account)
        assert answer.status_code == 503
        assert answer.json()["error"]["type"] == "ServiceUnavailable"
        assert set(answer.json()["error"]) == {"type", "message"}
        assert answer.headers["retry-after"] == "1"
        assert answer.headers["sequence-version"] == "2024-07-30"
        assert answer.headers["request-id"]
        assert "preference-applied" not in answer.headers

    def test_429_is_rate_limited_with_the_rules_retry_after(self, client: Client, account: Account) -> None:
        inject(client, account, status=429, retryAfter=30)
        answer = by_alias(client, account)
        assert answer.status_code == 429
        assert answer.json()["error"]["type"] == "RateLimited"
        assert answer.headers["retry-after"] == "30"

    @pytest.mark.parametrize(
        ("status", "error_type"),
        [(500, "InternalServerError"), (502, "BadGateway"), (504, "GatewayTimeout"), (400, "ValidationError")],
    )
    def test_other_statuses_take_their_name(
        self, client: Client, account: Account, status: int, error_type: str
    ) -> None:
        inject(client, account, status=status)
        answer = by_alias(client, account)
        assert (answer.status_code, answer.json()["error"]["type"]) == (status, error_type)
        assert "retry-after" not in answer.headers

    def test_a_retry_after_is_sent_with_any_status_when_the_rule_names_one(
        self, client: Client, account: Account
    ) -> None:
        inject(client, account, status=502, retryAfter=5)
        assert by_alias(client, account).headers["retry-after"] == "5"

    def test_a_count_answers_that_many_times_then_the_rule_stays_listed_at_0(
        self, client: Client, account: Account
    ) -> None:
        inject(client, account, count=2)
        assert [by_alias(client, account).status_code for _ in range(3)] == [503, 503, 404]
        assert listed(client, account)[0]["remaining"] == 0

    def test_without_a_count_every_matching_request_is_answered(self, client: Client, account: Account) -> None:
        inject(client, account)
        assert {by_alias(client, account).status_code for _ in range(5)} == {503}

    def test_the_oldest_matching_rule_acts_first(self, client: Client, account: Account) -> None:
        inject(client, account, status=500, count=1)
        inject(client, account, status=502)
        assert [by_alias(client, account).status_code for _ in range(3)] == [500, 502, 502]

    def test_only_the_rules_method(self, client: Client, account: Account) -> None:
        inject(client, account, method="POST", path="/api/customers")
        assert client.get("/api/customers", headers=account.headers).status_code == 200
        posted = client.post("/api/customers", json=customer_body(), headers=account.headers)
        assert posted.status_code == 503

    @pytest.mark.parametrize(
        ("pattern", "path", "faulted"),
        [
            ("/api/customers/*", f"/api/customers/{MISSING}", True),
            ("/api/customers/*", "/api/customers/by-alias/x", False),
            ("/api/customers/**", "/api/customers/by-alias/x", True),
            ("/api/customers/by-alias/a*", "/api/customers/by-alias/ab", True),
            ("/api/customers/by-alias/a*", "/api/customers/by-alias/ba", False),
            ("/api/customers", "/api/customers/by-alias/x", False),
            ("/api/**", "/api/customers/by-alias/x", True),
            ("/api/customers/by-alias/a.b", "/api/customers/by-alias/aXb", False),
        ],
    )
    def test_the_path_pattern(self, client: Client, account: Account, pattern: str, path: str, faulted: bool) -> None:
        inject(client, account, path=pattern)
        answer = client.get(path, headers=account.headers)
        assert (answer.status_code == 503) is faulted

    def test_another_accounts_rule_never_acts(self, client: Client, account: Account, other_account: Account) -> None:
        inject(client, other_account, count=3)
        assert by_alias(client, account).status_code == 404
        assert listed(client, other_account)[0]["remaining"] == 3

    def test_a_request_without_valid_credentials_is_401_first(self, client: Client, account: Account) -> None:
        inject(client, account, path="/api/**")
        wrong = {"Authorization": "Basic " + account.headers["Authorization"].split()[1][:-4] + "AAA="}
        assert client.get("/api/customers", headers=wrong).status_code == 401

    def test_a_path_no_route_serves_is_404_first(self, client: Client, account: Account) -> None:
        inject(client, account, path="/api/**")
        answer = client.get("/api/nothing-here", headers=account.headers)
        assert answer.status_code == 404
        assert client.get("/api/customers", headers=account.headers).status_code == 503

    def test_a_faulted_post_creates_nothing(self, client: Client, account: Account) -> None:
        inject(client, account, method="POST", path="/api/customers", count=1)
        body = customer_body(customerAliases=["crm-1"])
        assert client.post("/api/customers", json=body, headers=account.headers).status_code == 503
        page = client.get("/api/customers", headers=account.headers).json()
        assert page["pagination"]["totalResultSize"] == 0
        assert by_alias(client, account, "crm-1").status_code == 404
        assert client.post("/api/customers", json=body, headers=account.headers).status_code == 201

    def test_a_faulted_post_with_an_idempotency_key_leaves_the_key_free(self, client: Client, account: Account) -> None:
        inject(client, account, method="POST", path="/api/customers", count=1)
        headers = {**account.headers, "Idempotency-Key": "k-1"}
        assert client.post("/api/customers", json=customer_body(), headers=headers).status_code == 503
        retried = client.post("/api/customers", json=customer_body(), headers=headers)
        assert retried.status_code == 201
        assert "idempotent-replayed" not in retried.headers


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The seconds each `asyncio.sleep` was asked for; the sleeps themselves are skipped
    (no test waits on the clock)."""
    asked: list[float] = []
    real = asyncio.sleep

    async def sleep(seconds: float, *args: Any) -> Any:
        asked.append(seconds)
        return await real(0, *args)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    return asked


class TestWithARateLimit:
    """The edge's rate limit comes before any fault (and its 429s are not journaled)."""

    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return Settings(
            database_url=database_url,
            secret_key=SECRET_KEY,
            admin_token=ADMIN_TOKEN,
            rate_limit="2/minute",
            auth_failure_limit=NO_LIMITS["auth_failure_limit"],
        )

    def test_a_request_past_the_limit_is_429_first_and_spends_no_count(self, client: Client, account: Account) -> None:
        inject(client, account, status=503, count=5)
        assert [by_alias(client, account).status_code for _ in range(3)] == [503, 503, 429]
        assert by_alias(client, account).headers["ratelimit-limit"] == "2"
        assert listed(client, account)[0]["remaining"] == 3
        journal = client.get(f"/_patron/accounts/{account.account_id}/requests", headers=ADMIN).json()["items"]
        assert [entry["status"] for entry in journal] == [503, 503]  # the edge's 429s are not the account's


class TestDelay:
    def test_a_delay_alone_gives_the_real_answer_after_it(
        self, client: Client, account: Account, slept: list[float]
    ) -> None:
        inject(client, account, status=None, delayMs=250, count=1)
        answer = by_alias(client, account)
        assert answer.status_code == 404
        assert answer.json()["error"]["type"] == "NotFound"
        assert 0.25 in slept
        assert listed(client, account)[0]["remaining"] == 0

    def test_a_delay_with_a_status_waits_then_answers_it(
        self, client: Client, account: Account, slept: list[float]
    ) -> None:
        inject(client, account, status=503, delayMs=1500)
        assert by_alias(client, account).status_code == 503
        assert 1.5 in slept

    def test_a_delayed_post_still_creates_its_customer(
        self, client: Client, account: Account, slept: list[float]
    ) -> None:
        inject(client, account, method="POST", path="/api/customers", status=None, delayMs=10)
        assert client.post("/api/customers", json=customer_body(), headers=account.headers).status_code == 201
        assert client.get("/api/customers", headers=account.headers).json()["pagination"]["totalResultSize"] == 1


class TestProbability:
    def test_a_lost_draw_serves_the_request_and_keeps_the_count(
        self, client: Client, account: Account, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        inject(client, account, probability=0.5, count=1)
        monkeypatch.setattr(random, "random", lambda: 0.5)
        assert by_alias(client, account).status_code == 404
        assert listed(client, account)[0]["remaining"] == 1
        monkeypatch.setattr(random, "random", lambda: 0.49)
        assert by_alias(client, account).status_code == 503
        assert listed(client, account)[0]["remaining"] == 0

    def test_a_lost_draw_lets_the_next_rule_act(
        self, client: Client, account: Account, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        inject(client, account, probability=0.1, status=500)
        inject(client, account, status=502)
        monkeypatch.setattr(random, "random", lambda: 0.9)
        assert by_alias(client, account).status_code == 502
