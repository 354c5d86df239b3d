"""Idempotency-Key on every POST and PUT under /api (one mechanism: `route.write`)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from patron.server import clock
from patron.server.db import tables
from patron.server.db.engine import Database
from patron.server.errors import Conflict
from patron.server.idempotency import repository
from tests.conftest import Account
from tests.factories import contact, create_customer, customer_body

Client = TestClient[Litestar]
Body = dict[str, Any] | None


@dataclass(frozen=True)
class Write:
    """One write request: method, path under /api, JSON body (None: no body)."""

    method: str
    path: str
    body: Body


def send(client: Client, account: Account, write: Write, key: str | None) -> httpx.Response:
    headers = {**account.headers, **({"Idempotency-Key": key} if key is not None else {})}
    return client.request(write.method, "/api" + write.path, json=write.body, headers=headers)


def post(client: Client, account: Account, body: dict[str, Any], key: str) -> httpx.Response:
    return send(client, account, Write("POST", "/customer-aliases", body), key)


def every_write(client: Client, account: Account) -> dict[str, Write]:
    """Each POST and PUT of the API, aimed at objects made for it."""
    owner, member, loner, newcomer, doomed = (create_customer(client, account.headers) for _ in range(5))
    spare = contact(billing_preference="NONE")
    customer = create_customer(client, account.headers, contacts=[contact(), spare])
    kept, archivable = (c["id"] for c in customer["contacts"])
    alias = client.post(
        "/api/customer-aliases", json={"customerId": owner["id"], "value": "crm-1"}, headers=account.headers
    ).json()
    org = client.post(
        "/api/customer-organizations",
        json={"ownerId": owner["id"], "memberIds": [member["id"]]},
        headers=account.headers,
    ).json()
    contacts = f"/customers/{customer['id']}/contacts"
    hooks = {"name": "hooks", "channel": "WEBHOOK", "recipients": ["https://hooks.example.com/a"]}
    policy = client.post(
        "/api/notifications/policies", json={**hooks, "notificationTypes": []}, headers=account.headers
    )
    policies = f"/notifications/policies/{policy.json()['id']}"
    return {
        "postCustomers": Write("POST", "/customers", customer_body()),
        "putCustomersById": Write("PUT", f"/customers/{loner['id']}", customer_body(legalName="Renamed Ltd")),
        "postCustomersByIdArchive": Write("POST", f"/customers/{doomed['id']}/archive", None),
        "postCustomerAliases": Write("POST", "/customer-aliases", {"customerId": loner["id"], "value": "crm-2"}),
        "putCustomerAliasesById": Write("PUT", f"/customer-aliases/{alias['id']}", {"label": "CRM"}),
        "postCustomersByCustomerContacts": Write("POST", contacts, contact(name="Grace Hopper")),
        "putCustomersByCustomerContactsById": Write("PUT", f"{contacts}/{kept}", contact(name="Ada King")),
        "postCustomersByCustomerContactsByIdArchive": Write("POST", f"{contacts}/{archivable}/archive", None),
        "postCustomerOrganizations": Write(
            "POST", "/customer-organizations", {"ownerId": loner["id"], "memberIds": []}
        ),
        "postCustomerOrganizationsByIdMembers": Write(
            "POST", f"/customer-organizations/{org['id']}/members", {"customerIds": [newcomer["id"]]}
        ),
        "putCustomerOrganizationsByIdMembers": Write(
            "PUT", f"/customer-organizations/{org['id']}/members", {"customerIds": [newcomer["id"]]}
        ),
        "postNotificationsPolicies": Write("POST", "/notifications/policies", hooks),
        "postNotificationsPoliciesByIdRecipients": Write(
            "POST", f"{policies}/recipients", {"recipients": ["https://hooks.example.com/b"]}
        ),
        "postNotificationsPoliciesByIdNotificationTypes": Write(
            "POST", f"{policies}/notification-types", {"notificationTypes": ["CUSTOMER_CREATED"]}
        ),
    }


WRITES = [
    "postCustomers",
    "putCustomersById",
    "postCustomersByIdArchive",
    "postCustomerAliases",
    "putCustomerAliasesById",
    "postCustomersByCustomerContacts",
    "putCustomersByCustomerContactsById",
    "postCustomersByCustomerContactsByIdArchive",
    "postCustomerOrganizations",
    "postCustomerOrganizationsByIdMembers",
    "putCustomerOrganizationsByIdMembers",
    "postNotificationsPolicies",
    "postNotificationsPoliciesByIdRecipients",
    "postNotificationsPoliciesByIdNotificationTypes",
]


def stored_keys(database: Database) -> int:
    with database.read() as tx:
        return int(tx.execute(select(func.count()).select_from(tables.idempotency_key)).scalar_one())


def customer_count(client: Client, account: Account) -> int:
    page = client.get("/api/customers", params={"includeArchived": "true"}, headers=account.headers).json()
    total: int = page["pagination"]["totalResultSize"]
    return total


class TestEveryWrite:
    def test_the_list_names_every_post_and_put_of_the_document(self, client: Client) -> None:
        document = client.get("/api/openapi.json").json()
        writes = {
            op["operationId"]
            for item in document["paths"].values()
            for method, op in item.items()
            if method in ("post", "put")
        }
        assert writes == set(WRITES)

    @pytest.mark.parametrize("operation", WRITES)
    def test_a_retry_replays_the_same_status_and_bytes(
        self, client: Client, account: Account, database: Database, operation: str
    ) -> None:
        write = every_write(client, account)[operation]
        first = send(client, account, write, "key-1")
        assert first.status_code in (200, 201), first.text
        again = send(client, account, write, "key-1")
        assert (again.status_code, again.content) == (first.status_code, first.content)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["content-type"] == first.headers["content-type"] == "application/json"
        assert "idempotent-replayed" not in first.headers
        assert stored_keys(database) == 1

    @pytest.mark.parametrize("operation", WRITES)
    def test_the_same_key_with_another_body_or_path_is_400(
        self, client: Client, account: Account, operation: str
    ) -> None:
        writes = every_write(client, account)
        write = writes[operation]
        assert send(client, account, write, "key-1").status_code in (200, 201)
        # Another body (an extra field the route ignores is still other bytes), another route.
        another_route = writes[WRITES[(WRITES.index(operation) + 1) % len(WRITES)]]
        for other in (Write(write.method, write.path, {**(write.body or {}), "note": "x"}), another_route):
            response = send(client, account, other, "key-1")
            assert response.status_code == 400, (other, response.text)
            assert response.json()["error"]["type"] == "IdempotencyError"

    def test_the_openapi_document_names_the_header_on_every_post_and_put(self, client: Client) -> None:
        document = client.get("/api/openapi.json").json()
        for item in document["paths"].values():
            for method, op in item.items():
                headers = [p["name"] for p in op.get("parameters", []) if p["in"] == "header"]
                assert headers.count("Idempotency-Key") == (1 if method in ("post", "put") else 0), op["operationId"]
                if method in ("post", "put"):
                    assert "409" in op["responses"], op["operationId"]


class TestIdempotencyKey:
    def test_a_retried_create_makes_one_customer(self, client: Client, account: Account) -> None:
        write = Write("POST", "/customers", customer_body())
        first = send(client, account, write, "create-1")
        again = send(client, account, write, "create-1")
        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"]
        assert customer_count(client, account) == 1

    def test_without_a_key_nothing_is_stored_and_each_request_runs(
        self, client: Client, account: Account, database: Database
    ) -> None:
        write = Write("POST", "/customers", customer_body())
        first, second = send(client, account, write, None), send(client, account, write, None)
        assert first.status_code == second.status_code == 201
        assert "idempotent-replayed" not in second.headers
        assert customer_count(client, account) == 2
        assert stored_keys(database) == 0

    def test_a_replay_is_the_first_answer_not_the_current_state(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        rename = Write("PUT", f"/customers/{customer['id']}", customer_body(legalName="First Ltd"))
        first = send(client, account, rename, "rename-1")
        send(client, account, Write("PUT", rename.path, customer_body(legalName="Second Ltd")), None)
        replay = send(client, account, rename, "rename-1")
        assert replay.content == first.content
        current = client.get(f"/api/customers/{customer['id']}", headers=account.headers).json()
        assert current["legalName"] == "Second Ltd"

    def test_the_same_key_on_another_path_is_400(self, client: Client, account: Account) -> None:
        one, two = create_customer(client, account.headers), create_customer(client, account.headers)
        assert send(client, account, Write("POST", f"/customers/{one['id']}/archive", None), "k").status_code == 200
        response = send(client, account, Write("POST", f"/customers/{two['id']}/archive", None), "k")
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "IdempotencyError"
        assert client.get(f"/api/customers/{two['id']}", headers=account.headers).json().get("archivedAt") is None

    @pytest.mark.parametrize("key", ["", "k" * 256, "a\x00b", "tab\there"])
    def test_an_empty_key_one_over_255_characters_or_a_control_character_is_400(
        self, client: Client, account: Account, key: str
    ) -> None:
        response = send(client, account, Write("POST", "/customers", customer_body()), key)
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == "Idempotency-Key"
        assert customer_count(client, account) == 0

    def test_a_key_of_255_characters_is_accepted(self, client: Client, account: Account) -> None:
        assert send(client, account, Write("POST", "/customers", customer_body()), "k" * 255).status_code == 201

    def test_keys_are_per_account(self, client: Client, account: Account, other_account: Account) -> None:
        mine = create_customer(client, account.headers)
        theirs = create_customer(client, other_account.headers)
        assert post(client, account, {"customerId": mine["id"], "value": "a"}, "shared").status_code == 201
        response = post(client, other_account, {"customerId": theirs["id"], "value": "a"}, "shared")
        assert response.status_code == 201
        assert response.json()["customerId"] == theirs["id"]

    def test_failures_are_not_stored(self, client: Client, account: Account, database: Database) -> None:
        customer = create_customer(client, account.headers, customerAliases=["taken"])
        body = {"customerId": customer["id"], "value": "taken"}
        assert post(client, account, body, "key-1").status_code == 409
        assert stored_keys(database) == 0
        [taken] = client.get("/api/customer-aliases", headers=account.headers).json()["items"]
        client.delete(f"/api/customer-aliases/{taken['id']}", headers=account.headers)
        assert post(client, account, body, "key-1").status_code == 201

    def test_a_404_keeps_the_key_free_for_the_fixed_request(self, client: Client, account: Account) -> None:
        customer = create_customer(client, account.headers)
        missing = Write("POST", f"/customers/{uuid.uuid4()}/contacts", contact())
        assert send(client, account, missing, "key-1").status_code == 404
        fixed = Write("POST", f"/customers/{customer['id']}/contacts", missing.body)
        first = send(client, account, fixed, "key-1")
        assert first.status_code == 201
        assert send(client, account, fixed, "key-1").content == first.content

    def test_a_delete_ignores_the_key(self, client: Client, account: Account, database: Database) -> None:
        customer = create_customer(client, account.headers, customerAliases=["gone"])
        [alias] = client.get("/api/customer-aliases", headers=account.headers).json()["items"]
        delete = Write("DELETE", f"/customer-aliases/{alias['id']}", None)
        assert send(client, account, delete, "key-1").status_code == 200
        again = send(client, account, delete, "key-1")
        assert again.status_code == 404
        assert "idempotent-replayed" not in again.headers
        assert stored_keys(database) == 0
        assert customer["id"]

    def test_after_24_hours_the_key_runs_again(
        self, client: Client, account: Account, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write = Write("POST", "/customers", customer_body())
        first = send(client, account, write, "key-1")
        real_now = clock.utc_now
        monkeypatch.setattr(clock, "utc_now", lambda: real_now() + timedelta(hours=23, minutes=59))
        assert send(client, account, write, "key-1").content == first.content
        monkeypatch.setattr(clock, "utc_now", lambda: real_now() + timedelta(hours=24, seconds=1))
        rerun = send(client, account, write, "key-1")
        assert rerun.status_code == 201
        assert "idempotent-replayed" not in rerun.headers
        assert rerun.json()["id"] != first.json()["id"]
        assert customer_count(client, account) == 2
        assert send(client, account, write, "key-1").content == rerun.content

    def test_a_new_key_purges_a_few_expired_ones(
        self, client: Client, account: Account, database: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        old = repository.PURGE_BATCH + 2
        for n in range(old):
            send(client, account, Write("POST", "/customers", customer_body()), f"old-{n}")
        real_now = clock.utc_now
        monkeypatch.setattr(clock, "utc_now", lambda: real_now() + timedelta(hours=25))
        send(client, account, Write("POST", "/customers", customer_body()), "new")
        assert stored_keys(database) == old - repository.PURGE_BATCH + 1
        send(client, account, Write("POST", "/customers", customer_body()), "newer")
        assert stored_keys(database) == 2


class TestInProgress:
    def test_a_key_another_transaction_holds_is_409_on_postgresql(self, database: Database, account: Account) -> None:
        if database.engine.dialect.name != "postgresql":
            pytest.skip("SQLite runs one writer at a time: the second waits, then replays")
        account_id, now = uuid.UUID(account.account_id), clock.utc_now()
        claimed, running = threading.Event(), threading.Event()

        def first() -> None:
            with database.write() as tx:
                repository.claim(tx, account_id, "busy", "h", now, now - timedelta(days=1))
                claimed.set()
                running.wait(timeout=30)

        holder = threading.Thread(target=first)
        holder.start()
        try:
            assert claimed.wait(timeout=30)
            with pytest.raises(Conflict, match="in progress"), database.write() as tx:
                repository.claim(tx, account_id, "busy", "h", now, now - timedelta(days=1))
        finally:
            running.set()
            holder.join()
