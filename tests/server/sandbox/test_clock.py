"""The test clock through HTTP: its four endpoints, and that every time patron writes for
an account (and the time part of every id) follows that account's clock alone."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.server import clock
from patron.server.config import Settings
from patron.server.db.engine import Database, open_database
from tests.conftest import SECRET_KEY, Account, make_account
from tests.factories import contact, create_alias, create_customer, customer_body
from tests.server.sandbox.conftest import ADMIN, ADMIN_TOKEN
from tests.system.conftest import start_server, stop_server

Client = TestClient[Litestar]
FROZEN = "2030-01-01T00:00:00.000Z"
UNKNOWN = "01890000-0000-7000-8000-000000000000"


def clock_path(account: Account) -> str:
    return f"/_patron/accounts/{account.account_id}/clock"


def freeze(client: Client, account: Account, moment: str = FROZEN) -> dict[str, Any]:
    answer = client.put(clock_path(account), json={"frozenTime": moment}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    shown: dict[str, Any] = answer.json()
    return shown


def advance(client: Client, account: Account, by: str) -> dict[str, Any]:
    answer = client.post(f"{clock_path(account)}/advance", json={"by": by}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    shown: dict[str, Any] = answer.json()
    return shown


def shown_clock(client: Client, account: Account) -> dict[str, Any]:
    answer = client.get(clock_path(account), headers=ADMIN)
    assert answer.status_code == 200, answer.text
    shown: dict[str, Any] = answer.json()
    return shown


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def id_time(ident: str) -> str:
    """The moment in an id's first 48 bits (UUIDv7: milliseconds since 1970), as the wire shows times."""
    return clock.iso(datetime.fromtimestamp((uuid.UUID(ident).int >> 80) / 1000, UTC))


def field_of(answer: httpx.Response) -> str:
    assert answer.status_code == 400, answer.text
    errors = answer.json()["error"]["errors"]
    assert len(errors) == 1
    field: str = errors[0]["field"]
    return field


class TestShow:
    def test_a_new_account_follows_the_wall_clock(self, client: Client, account: Account) -> None:
        before = clock.utc_now()
        shown = shown_clock(client, account)
        assert shown["frozenTime"] is None
        assert before <= parse(shown["now"]) <= clock.utc_now()

    def test_a_frozen_clock_shows_its_time_as_now(self, client: Client, account: Account) -> None:
        freeze(client, account)
        assert shown_clock(client, account) == {"frozenTime": FROZEN, "now": FROZEN}


class TestFreeze:
    def test_answers_the_clock(self, client: Client, account: Account) -> None:
        assert freeze(client, account) == {"frozenTime": FROZEN, "now": FROZEN}

    @pytest.mark.parametrize(
        ("given", "shown"),
        [
            ("2030-01-01T02:00:00.123+02:00", "2030-01-01T00:00:00.123Z"),
            ("2030-01-01T00:00:00.123999Z", "2030-01-01T00:00:00.123Z"),
            ("2030-01-01T00:00:00", "2030-01-01T00:00:00.000Z"),
            ("2030-01-01", "2030-01-01T00:00:00.000Z"),
            ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"),
        ],
    )
    def test_any_iso_8601_time_is_kept_in_utc_to_the_millisecond(
        self, client: Client, account: Account, given: str, shown: str
    ) -> None:
        assert freeze(client, account, given)["frozenTime"] == shown

    def test_freezing_again_moves_the_clock_back_too(self, client: Client, account: Account) -> None:
        freeze(client, account, "2040-01-01T00:00:00Z")
        assert freeze(client, account)["frozenTime"] == FROZEN

    @pytest.mark.parametrize(
        "body",
        [
            {"frozenTime": "tomorrow"},
            {"frozenTime": ""},
            {"frozenTime": "2030-13-01T00:00:00Z"},
            {"frozenTime": "1969-12-31T23:59:59.999Z"},
            {"frozenTime": 1893456000},
            {"frozenTime": None},
            {"frozenTime": "2" * 65},
            {},
        ],
    )
    def test_a_bad_time_is_400_naming_frozen_time(self, client: Client, account: Account, body: dict[str, Any]) -> None:
        assert field_of(client.put(clock_path(account), json=body, headers=ADMIN)) == "frozenTime"
        assert shown_clock(client, account)["frozenTime"] is None


class TestAdvance:
    @pytest.mark.parametrize(
        ("start", "by", "expected"),
        [
            (FROZEN, "P7D", "2030-01-08T00:00:00.000Z"),
            (FROZEN, "P1W", "2030-01-08T00:00:00.000Z"),
            (FROZEN, "PT1H30M", "2030-01-01T01:30:00.000Z"),
            (FROZEN, "PT0.5S", "2030-01-01T00:00:00.500Z"),
            (FROZEN, "PT1,25S", "2030-01-01T00:00:01.250Z"),
            (FROZEN, "PT0.001S", "2030-01-01T00:00:00.001Z"),
            (FROZEN, "PT36H", "2030-01-02T12:00:00.000Z"),
            (FROZEN, "PT0S", FROZEN),
            (FROZEN, "P1Y2M3DT4H5M6.007S", "2031-03-04T04:05:06.007Z"),
            ("2030-01-31T10:00:00Z", "P1M", "2030-02-28T10:00:00.000Z"),
            ("2032-01-31T10:00:00Z", "P1M", "2032-02-29T10:00:00.000Z"),
            ("2032-02-29T00:00:00Z", "P1Y", "2033-02-28T00:00:00.000Z"),
            ("2030-11-30T00:00:00Z", "P3M", "2031-02-28T00:00:00.000Z"),
            ("2030-01-31T00:00:00Z", "P1M1D", "2030-03-01T00:00:00.000Z"),
        ],
    )
    def test_moves_a_frozen_clock_by_an_iso_8601_duration(
        self, client: Client, account: Account, start: str, by: str, expected: str
    ) -> None:
        freeze(client, account, start)
        assert advance(client, account, by) == {"frozenTime": expected, "now": expected}
        assert shown_clock(client, account)["frozenTime"] == expected

    def test_advances_add_up(self, client: Client, account: Account) -> None:
        freeze(client, account)
        advance(client, account, "P1D")
        assert advance(client, account, "PT12H")["frozenTime"] == "2030-01-02T12:00:00.000Z"

    def test_a_clock_on_the_wall_clock_is_frozen_at_now_plus_the_duration(
        self, client: Client, account: Account
    ) -> None:
        before = clock.utc_now()
        shown = advance(client, account, "P1D")
        after = clock.utc_now()
        assert before + timedelta(days=1) <= parse(shown["frozenTime"]) <= after + timedelta(days=1)
        assert shown_clock(client, account)["frozenTime"] == shown["frozenTime"]

    @pytest.mark.parametrize(
        "by",
        [
            "-P1D",
            "P",
            "PT",
            "P1DT",
            "1D",
            "P1.5D",
            "PT1.5M",
            "PT0.0001S",
            "p1d",
            "P1D ",
            "P1H",
            "PT1D",
            "",
            "P9999999999999D",
            "P8000Y",
        ],
    )
    def test_a_bad_or_negative_duration_is_400_naming_by(self, client: Client, account: Account, by: str) -> None:
        freeze(client, account)
        answer = client.post(f"{clock_path(account)}/advance", json={"by": by}, headers=ADMIN)
        assert field_of(answer) == "by"
        assert shown_clock(client, account)["frozenTime"] == FROZEN

    def test_past_the_year_9999_is_400(self, client: Client, account: Account) -> None:
        freeze(client, account, "9999-12-31T00:00:00Z")
        answer = client.post(f"{clock_path(account)}/advance", json={"by": "P1D"}, headers=ADMIN)
        assert field_of(answer) == "by"
        assert "9999" in answer.json()["error"]["message"]

    @pytest.mark.parametrize("body", [{}, {"by": 7}, {"by": None}])
    def test_a_missing_or_mistyped_by_is_400(self, client: Client, account: Account, body: dict[str, Any]) -> None:
        assert field_of(client.post(f"{clock_path(account)}/advance", json=body, headers=ADMIN)) == "by"


class TestUnfreeze:
    def test_is_204_and_the_clock_follows_the_wall_again(self, client: Client, account: Account) -> None:
        freeze(client, account)
        answer = client.delete(clock_path(account), headers=ADMIN)
        assert answer.status_code == 204
        assert answer.content == b""
        assert shown_clock(client, account)["frozenTime"] is None

    def test_unfreezing_a_clock_on_the_wall_clock_is_204(self, client: Client, account: Account) -> None:
        assert client.delete(clock_path(account), headers=ADMIN).status_code == 204


ENDPOINTS = [
    ("GET", "", None),
    ("PUT", "", {"frozenTime": FROZEN}),
    ("POST", "/advance", {"by": "P1D"}),
    ("DELETE", "", None),
]


class TestRefusals:
    @pytest.mark.parametrize(("method", "tail", "body"), ENDPOINTS)
    @pytest.mark.parametrize("account_id", [UNKNOWN, "not-an-id"])
    def test_an_unknown_account_is_404(
        self, client: Client, method: str, tail: str, body: dict[str, str] | None, account_id: str
    ) -> None:
        answer = client.request(method, f"/_patron/accounts/{account_id}/clock{tail}", json=body, headers=ADMIN)
        assert answer.status_code == 404
        assert answer.json()["error"]["type"] == "NotFound"

    @pytest.mark.parametrize(("method", "tail", "body"), ENDPOINTS)
    @pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {ADMIN_TOKEN}"])
    def test_a_missing_or_wrong_token_is_401_and_changes_nothing(
        self,
        client: Client,
        account: Account,
        method: str,
        tail: str,
        body: dict[str, str] | None,
        authorization: str | None,
    ) -> None:
        freeze(client, account, "2040-01-01T00:00:00Z")
        headers = {} if authorization is None else {"Authorization": authorization}
        answer = client.request(method, f"{clock_path(account)}{tail}", json=body, headers=headers)
        assert answer.status_code == 401
        assert shown_clock(client, account)["frozenTime"] == "2040-01-01T00:00:00.000Z"

    def test_an_accounts_own_credentials_cannot_set_its_clock(self, client: Client, account: Account) -> None:
        answer = client.put(clock_path(account), json={"frozenTime": FROZEN}, headers=account.headers)
        assert answer.status_code == 401

    def test_another_accounts_clock_is_never_touched(
        self, client: Client, account: Account, other_account: Account
    ) -> None:
        freeze(client, account)
        advance(client, account, "P1D")
        client.delete(clock_path(account), headers=ADMIN)
        freeze(client, account)
        assert shown_clock(client, other_account)["frozenTime"] is None


class TestTheClockDrivesTheApi:
    def test_a_new_customer_is_created_at_the_frozen_time_with_an_id_of_that_time(
        self, client: Client, account: Account
    ) -> None:
        freeze(client, account)
        created = create_customer(client, account.headers, integrationIds=[{"service": "Stripe", "id": "cus_1"}])
        assert created["createdAt"] == FROZEN
        assert id_time(created["id"]) == FROZEN
        assert created["integrationIds"][0]["lastSynced"] == FROZEN
        assert [(c["createdAt"], c["updatedAt"]) for c in created["contacts"]] == [(FROZEN, FROZEN)]
        assert id_time(created["contacts"][0]["id"]) == FROZEN

    def test_archiving_after_an_advance_is_at_the_advanced_time(self, client: Client, account: Account) -> None:
        freeze(client, account)
        created = create_customer(client, account.headers)
        advance(client, account, "P7D")
        archived = client.post(f"/api/customers/{created['id']}/archive", headers=account.headers).json()
        assert archived["createdAt"] == FROZEN
        assert archived["archivedAt"] == "2030-01-08T00:00:00.000Z"

    def test_an_alias_is_created_and_deleted_at_the_accounts_time(self, client: Client, account: Account) -> None:
        freeze(client, account)
        customer = create_customer(client, account.headers)
        alias = create_alias(client, account.headers, customer["id"], "crm-1")
        assert alias["createdAt"] == FROZEN
        assert id_time(alias["id"]) == FROZEN
        advance(client, account, "PT1H")
        deleted = client.delete(f"/api/customer-aliases/{alias['id']}", headers=account.headers).json()
        assert deleted["deletedAt"] == "2030-01-01T01:00:00.000Z"

    def test_contacts_are_added_updated_and_archived_at_the_accounts_time(
        self, client: Client, account: Account
    ) -> None:
        freeze(client, account)
        customer = create_customer(client, account.headers)
        advance(client, account, "PT1M")
        path = f"/api/customers/{customer['id']}/contacts"
        added = client.post(path, json=contact(billing_preference="NONE"), headers=account.headers).json()
        assert (added["createdAt"], added["updatedAt"]) == ("2030-01-01T00:01:00.000Z", "2030-01-01T00:01:00.000Z")
        assert id_time(added["id"]) == "2030-01-01T00:01:00.000Z"
        advance(client, account, "PT1M")
        updated = client.put(
            f"{path}/{added['id']}", json=contact(billing_preference="NONE"), headers=account.headers
        ).json()
        assert (updated["createdAt"], updated["updatedAt"]) == ("2030-01-01T00:01:00.000Z", "2030-01-01T00:02:00.000Z")
        advance(client, account, "PT1M")
        archived = client.post(f"{path}/{added['id']}/archive", headers=account.headers).json()
        assert archived["archivedAt"] == "2030-01-01T00:03:00.000Z"

    def test_an_organizations_id_carries_the_accounts_time(self, client: Client, account: Account) -> None:
        freeze(client, account)
        owner = create_customer(client, account.headers)
        member = create_customer(client, account.headers)
        answer = client.post(
            "/api/customer-organizations",
            json={"ownerId": owner["id"], "memberIds": [member["id"]]},
            headers=account.headers,
        )
        assert answer.status_code == 201, answer.text
        assert id_time(answer.json()["id"]) == FROZEN

    def test_a_new_integration_id_is_last_synced_at_the_accounts_time(self, client: Client, account: Account) -> None:
        freeze(client, account)
        created = create_customer(client, account.headers)
        advance(client, account, "P1D")
        body = customer_body(legalName=created["legalName"], integrationIds=[{"service": "Xero", "id": "x-1"}])
        updated = client.put(f"/api/customers/{created['id']}", json=body, headers=account.headers).json()
        assert updated["integrationIds"][0]["lastSynced"] == "2030-01-02T00:00:00.000Z"

    def test_an_idempotency_key_expires_24_hours_later_by_the_accounts_clock(
        self, client: Client, account: Account
    ) -> None:
        freeze(client, account)
        body = customer_body()
        keyed = {**account.headers, "Idempotency-Key": "key-1"}
        first = client.post("/api/customers", json=body, headers=keyed)
        advance(client, account, "PT23H59M59.999S")
        replay = client.post("/api/customers", json=body, headers=keyed)
        assert replay.headers.get("idempotent-replayed") == "true"
        assert replay.content == first.content
        advance(client, account, "PT0.002S")
        rerun = client.post("/api/customers", json=body, headers=keyed)
        assert rerun.status_code == 201
        assert "idempotent-replayed" not in rerun.headers
        assert rerun.json()["id"] != first.json()["id"]
        assert rerun.json()["createdAt"] == "2030-01-02T00:00:00.001Z"

    def test_customers_made_at_one_instant_list_in_creation_order(self, client: Client, account: Account) -> None:
        freeze(client, account)
        made = [create_customer(client, account.headers)["id"] for _ in range(3)]
        advance(client, account, "PT1S")
        made += [create_customer(client, account.headers)["id"] for _ in range(2)]
        oldest_first = client.get("/api/customers?sortOrder=ASC", headers=account.headers).json()["items"]
        assert [item["id"] for item in oldest_first] == made
        newest_first = client.get("/api/customers", headers=account.headers).json()["items"]
        assert [item["id"] for item in newest_first] == made[::-1]
        assert [item["createdAt"] for item in oldest_first] == [FROZEN] * 3 + ["2030-01-01T00:00:01.000Z"] * 2

    def test_unfreezing_brings_back_the_wall_clock(self, client: Client, account: Account) -> None:
        freeze(client, account)
        client.delete(clock_path(account), headers=ADMIN)
        before = clock.utc_now()
        created = create_customer(client, account.headers)
        assert before <= parse(created["createdAt"]) <= clock.utc_now()

    def test_each_account_sees_its_own_time(
        self, client: Client, database: Database, account: Account, other_account: Account
    ) -> None:
        third = make_account(database, "initech")
        freeze(client, account)
        freeze(client, other_account, "2040-06-15T12:00:00Z")
        before = clock.utc_now()
        made = {who.client_id: create_customer(client, who.headers) for who in (account, other_account, third) * 2}
        assert made[account.client_id]["createdAt"] == FROZEN
        assert made[other_account.client_id]["createdAt"] == "2040-06-15T12:00:00.000Z"
        assert id_time(made[other_account.client_id]["id"]) == "2040-06-15T12:00:00.000Z"
        assert before <= parse(made[third.client_id]["createdAt"]) <= clock.utc_now()


def test_racing_advances_all_count_with_two_workers(database_url: str, tmp_path: Path) -> None:
    """Each advance locks the account's row: 20 advances of P1D at once move the clock 20
    days, on PostgreSQL with two worker processes too."""
    account_id = _account_in(database_url)
    process, port = start_server(database_url, tmp_path, workers=2, env={"PATRON_ADMIN_TOKEN": ADMIN_TOKEN})
    try:
        base = f"http://127.0.0.1:{port}/_patron/accounts/{account_id}/clock"
        with httpx.Client(headers=ADMIN, timeout=30) as http:
            assert http.put(base, json={"frozenTime": FROZEN}).status_code == 200
            with ThreadPoolExecutor(max_workers=10) as pool:
                answers = list(pool.map(lambda _: http.post(f"{base}/advance", json={"by": "P1D"}), range(20)))
            assert [answer.status_code for answer in answers] == [200] * 20
            assert http.get(base).json()["frozenTime"] == "2030-01-21T00:00:00.000Z"
    finally:
        stop_server(process)


def _account_in(database_url: str) -> str:
    database = open_database(Settings(database_url=database_url, secret_key=SECRET_KEY))
    try:
        return make_account(database, "racer").account_id
    finally:
        database.close()
