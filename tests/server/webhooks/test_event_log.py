"""The account's webhook log under `/_patron/` (docs/webhooks.md): its events with the exact
bodies sent, newest first and followable; their deliveries; every attempt of a delivery.
Account-scoped with the account's Basic credentials, with or without the control plane."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.server.app import create_app
from patron.server.config import Settings
from patron.server.db.engine import Database
from tests.conftest import NO_LIMITS, SECRET_KEY, Account
from tests.factories import customer_body
from tests.server.notifications.policies import create_policy
from tests.server.webhooks.logrows import MOMENT, add_attempt, add_delivery, add_event, add_policy

Client = TestClient[Litestar]


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Deliveries recorded, never sent (`PATRON_WEBHOOKS=off`): the rows stay as a test left them."""
    return Settings(database_url=database_url, secret_key=SECRET_KEY, webhooks=False, **NO_LIMITS)


def events(client: Client, account: Account, **params: Any) -> dict[str, Any]:
    answer = client.get("/_patron/events", params=params, headers=account.headers)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


class TestListEvents:
    def test_newest_first_with_the_exact_bytes_sent(self, client: Client, database: Database, account: Account) -> None:
        # Keys in Sequence's order, no spaces, a non-ASCII name: the bytes are what counts.
        body = b'{"notificationType":"CUSTOMER_CREATED","sequenceAccountId":"a","resource":{"legalName":"Caf\xc3\xa9"}}'
        first = add_event(database, account, body=body)
        second = add_event(database, account, "CUSTOMER_UPDATED", at=MOMENT + timedelta(seconds=1))
        answer = client.get("/_patron/events", headers=account.headers)
        assert answer.status_code == 200
        page = answer.json()
        assert ids(page) == [second, first]
        oldest = page["items"][1]
        assert oldest["rawBody"].encode() == body
        assert oldest["body"] == json.loads(body)
        # The answer holds the stored bytes verbatim as `body`'s value.
        assert b'"body":' + body in answer.content
        assert set(oldest) == {
            "id",
            "createdAt",
            "notificationType",
            "resourceType",
            "resourceId",
            "body",
            "rawBody",
        }
        assert oldest["createdAt"] == "2026-11-24T09:30:00.000Z"
        assert oldest["notificationType"] == "CUSTOMER_CREATED"
        assert oldest["resourceType"] == "Customer"

    def test_filters_by_type_resource_and_time(self, client: Client, database: Database, account: Account) -> None:
        resource = str(uuid.uuid4())
        created = add_event(database, account, resource_id=resource)
        updated = add_event(database, account, "CUSTOMER_UPDATED", resource_id=resource, at=MOMENT + timedelta(1))
        archived = add_event(database, account, "CUSTOMER_ARCHIVED", at=MOMENT + timedelta(2))
        assert ids(events(client, account, type="CUSTOMER_UPDATED")) == [updated]
        both = client.get(
            "/_patron/events?type=CUSTOMER_CREATED&type=CUSTOMER_ARCHIVED", headers=account.headers
        ).json()
        assert ids(both) == [archived, created]
        assert ids(events(client, account, resourceId=resource)) == [updated, created]
        # Strictly after; an offset is read as such, no offset means UTC.
        assert ids(events(client, account, createdAfter="2026-11-25T09:30:00Z")) == [archived]
        assert ids(events(client, account, createdAfter="2026-11-25T10:30:00+01:00")) == [archived]
        assert ids(events(client, account, createdAfter="2026-11-24T09:30:00")) == [archived, updated]

    def test_pages_with_cursors(self, client: Client, database: Database, account: Account) -> None:
        made = [add_event(database, account, at=MOMENT + timedelta(seconds=i)) for i in range(5)]
        newest_first = made[::-1]
        first = events(client, account, limit=2)
        assert ids(first) == newest_first[:2]
        second = events(client, account, limit=2, after=first["pagination"]["after"])
        assert ids(second) == newest_first[2:4]
        last = events(client, account, limit=2, after=second["pagination"]["after"])
        assert ids(last) == newest_first[4:]
        assert "after" not in last["pagination"]
        back = events(client, account, limit=2, before=last["pagination"]["before"])
        assert ids(back) == newest_first[2:4]

    def test_events_at_one_frozen_instant_list_in_recording_order(
        self, client: Client, database: Database, account: Account
    ) -> None:
        made = [add_event(database, account) for _ in range(4)]
        assert ids(events(client, account)) == made[::-1]
        page = events(client, account, limit=3)
        assert ids(events(client, account, after=page["pagination"]["after"])) == made[:1]


class TestFollowingTheLog:
    """`pagination.before` is on every page, the newest too: passed back, it gives only the
    events recorded since (oldest of them first in the page's order), or an empty page that
    hands the same cursor back."""

    def test_the_newest_page_leads_to_what_comes_next(
        self, client: Client, database: Database, account: Account
    ) -> None:
        seen = add_event(database, account)
        tail = events(client, account)["pagination"]["before"]
        assert events(client, account, before=tail) == {"items": [], "pagination": {"before": tail}}
        new = [add_event(database, account, at=MOMENT + timedelta(seconds=i)) for i in (1, 2)]
        page = events(client, account, before=tail)
        assert ids(page) == new[::-1]
        assert seen not in ids(page)
        assert events(client, account, before=page["pagination"]["before"])["items"] == []

    def test_an_empty_log_has_a_tail_too(self, client: Client, database: Database, account: Account) -> None:
        tail = events(client, account)["pagination"]["before"]
        made = add_event(database, account)
        assert ids(events(client, account, before=tail)) == [made]

    def test_a_tail_keeps_its_filters(self, client: Client, database: Database, account: Account) -> None:
        tail = events(client, account, type="CUSTOMER_ARCHIVED")["pagination"]["before"]
        add_event(database, account, "CUSTOMER_UPDATED")
        archived = add_event(database, account, "CUSTOMER_ARCHIVED")
        assert ids(events(client, account, type="CUSTOMER_ARCHIVED", before=tail)) == [archived]
        answer = client.get("/_patron/events", params={"before": tail}, headers=account.headers)
        assert answer.status_code == 400

    def test_wait_answers_when_an_event_arrives(self, client: Client, database: Database, account: Account) -> None:
        tail = events(client, account)["pagination"]["before"]
        made: list[str] = []

        def later() -> None:
            time.sleep(0.3)
            made.append(add_event(database, account))

        writer = threading.Thread(target=later)
        writer.start()
        page = events(client, account, before=tail, wait=20)
        writer.join()
        assert ids(page) == made

    def test_wait_gives_up_with_an_empty_page(self, client: Client, account: Account) -> None:
        tail = events(client, account)["pagination"]["before"]
        assert events(client, account, before=tail, wait=0.2)["items"] == []


class TestRefusals:
    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"type": "CUSTOMER_DELETED"}, "type"),
            ({"resourceId": "not-an-id"}, "resourceId"),
            ({"createdAfter": "yesterday"}, "createdAfter"),
            ({"limit": "0"}, "limit"),
            ({"limit": "101"}, "limit"),
            ({"after": "tampered.cursor"}, "after"),
            ({"wait": "31"}, "wait"),
        ],
    )
    def test_a_bad_filter_is_400_naming_it(
        self, client: Client, account: Account, params: dict[str, str], field: str
    ) -> None:
        answer = client.get("/_patron/events", params=params, headers=account.headers)
        assert answer.status_code == 400
        assert field in answer.json()["error"]["message"]

    def test_another_account_s_cursor_is_400(
        self, client: Client, database: Database, account: Account, other_account: Account
    ) -> None:
        for at in range(3):
            add_event(database, account, at=MOMENT + timedelta(seconds=at))
        cursor = events(client, account, limit=1)["pagination"]["after"]
        answer = client.get("/_patron/events", params={"after": cursor}, headers=other_account.headers)
        assert answer.status_code == 400

    def test_without_credentials_it_is_401(self, client: Client) -> None:
        assert client.get("/_patron/events").status_code == 401
        assert client.get("/_patron/deliveries").status_code == 401
        bad = {"Authorization": "Basic " + "eDp5"}
        assert client.get("/_patron/events", headers=bad).status_code == 401

    def test_another_account_sees_none_of_it(
        self, client: Client, database: Database, account: Account, other_account: Account
    ) -> None:
        event = add_event(database, account)
        policy = add_policy(database, account, ["http://127.0.0.1:9/hooks"])
        delivery = add_delivery(database, account, event, policy, "http://127.0.0.1:9/hooks")
        assert events(client, other_account)["items"] == []
        assert client.get(f"/_patron/events/{event}", headers=other_account.headers).status_code == 404
        assert client.get(f"/_patron/deliveries/{delivery}", headers=other_account.headers).status_code == 404
        listed = client.get("/_patron/deliveries", params={"eventId": event}, headers=other_account.headers)
        assert listed.json()["items"] == []


class TestGetEvent:
    def test_with_its_deliveries(self, client: Client, database: Database, account: Account) -> None:
        event = add_event(database, account)
        policy = add_policy(database, account, ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"])
        done = add_delivery(database, account, event, policy, "http://127.0.0.1:9/a", status="succeeded", attempts=1)
        waiting = add_delivery(database, account, event, policy, "http://127.0.0.1:9/b", attempts=2, last_status=500)
        answer = client.get(f"/_patron/events/{event}", headers=account.headers)
        assert answer.status_code == 200
        found = answer.json()
        assert found["id"] == event
        assert found["body"] == json.loads(found["rawBody"])
        assert [d["id"] for d in found["deliveries"]] == [waiting, done]
        assert found["deliveries"][0] == {
            "id": waiting,
            "eventId": event,
            "policyId": policy,
            "recipient": "http://127.0.0.1:9/b",
            "channel": "WEBHOOK",
            "status": "pending",
            "attemptCount": 2,
            "redelivery": False,
            "createdAt": "2026-11-24T09:30:00.000Z",
            "nextAttemptAt": "2026-11-24T09:30:00.000Z",
            "lastStatus": 500,
        }
        assert found["deliveries"][1]["finishedAt"] == "2026-11-24T09:30:01.000Z"
        assert "nextAttemptAt" not in found["deliveries"][1]

    @pytest.mark.parametrize("ident", ["not-a-uuid", "0190c6a2-05c0-7a2b-89f1-0c4d5e6f7a8b"])
    def test_an_unknown_id_is_404(self, client: Client, account: Account, ident: str) -> None:
        answer = client.get(f"/_patron/events/{ident}", headers=account.headers)
        assert answer.status_code == 404
        assert answer.json()["error"]["type"] == "NotFound"


class TestDeliveries:
    @pytest.fixture
    def made(self, database: Database, account: Account) -> dict[str, str]:
        first, second = add_event(database, account), add_event(database, account)
        policy = add_policy(database, account, ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"])
        other = add_policy(database, account, ["http://127.0.0.1:9/a"])
        return {
            "first": first,
            "second": second,
            "policy": policy,
            "other": other,
            "a": add_delivery(database, account, first, policy, "http://127.0.0.1:9/a", status="failed", attempts=3),
            "b": add_delivery(database, account, first, policy, "http://127.0.0.1:9/b"),
            "c": add_delivery(database, account, second, other, "http://127.0.0.1:9/a", status="succeeded"),
        }

    def listed(self, client: Client, account: Account, **params: str) -> list[str]:
        answer = client.get("/_patron/deliveries", params=params, headers=account.headers)
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    def test_filters(self, client: Client, account: Account, made: dict[str, str]) -> None:
        assert self.listed(client, account) == [made["c"], made["b"], made["a"]]
        assert self.listed(client, account, eventId=made["first"]) == [made["b"], made["a"]]
        assert self.listed(client, account, policyId=made["other"]) == [made["c"]]
        assert self.listed(client, account, recipient="http://127.0.0.1:9/a") == [made["c"], made["a"]]
        assert self.listed(client, account, status="failed") == [made["a"]]
        assert self.listed(client, account, status="cancelled") == []

    def test_pages(self, client: Client, account: Account, made: dict[str, str]) -> None:
        page = client.get("/_patron/deliveries", params={"limit": 2}, headers=account.headers).json()
        assert [item["id"] for item in page["items"]] == [made["c"], made["b"]]
        assert self.listed(client, account, limit="2", after=page["pagination"]["after"]) == [made["a"]]

    @pytest.mark.parametrize(
        ("params", "field"),
        [({"status": "done"}, "status"), ({"eventId": "x"}, "eventId"), ({"policyId": "x"}, "policyId")],
    )
    def test_a_bad_filter_is_400(self, client: Client, account: Account, params: dict[str, str], field: str) -> None:
        answer = client.get("/_patron/deliveries", params=params, headers=account.headers)
        assert answer.status_code == 400
        assert field in answer.json()["error"]["message"]

    def test_one_with_every_attempt(self, client: Client, database: Database, account: Account) -> None:
        event = add_event(database, account)
        policy = add_policy(database, account, ["http://127.0.0.1:9/a"])
        delivery = add_delivery(database, account, event, policy, "http://127.0.0.1:9/a", status="failed", attempts=2)
        sent = {"Content-Type": "application/json", "Sequence-Signature": "t=1,s=ab", "webhook-id": event}
        add_attempt(
            database,
            account,
            delivery,
            1,
            status_code=500,
            request_headers=sent,
            response_headers=[["content-type", "text/plain"], ["x-seen", "1"], ["x-seen", "2"]],
            excerpt="boom",
        )
        add_attempt(database, account, delivery, 2, status_code=None, request_headers=sent, error="timed out")
        answer = client.get(f"/_patron/deliveries/{delivery}", headers=account.headers)
        assert answer.status_code == 200
        found = answer.json()
        assert found["status"] == "failed"
        assert found["attemptCount"] == 2
        first, second = found["attempts"]
        assert first == {
            "number": 1,
            "startedAt": "2026-11-24T09:30:01.000Z",
            "t": int((MOMENT + timedelta(seconds=1)).timestamp() * 1000),
            "requestHeaders": sent,
            "durationMs": 12.5,
            "statusCode": 500,
            "responseHeaders": {"content-type": "text/plain", "x-seen": "1, 2"},
            "responseExcerpt": "boom",
        }
        assert second["error"] == "timed out"
        assert "statusCode" not in second

    def test_an_unknown_delivery_is_404(self, client: Client, account: Account) -> None:
        for ident in ("nope", str(uuid.uuid4())):
            assert client.get(f"/_patron/deliveries/{ident}", headers=account.headers).status_code == 404


class TestWithTheControlPlane:
    """With an admin token set the log is the same, and the operator's token opens none of it."""

    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return Settings(
            database_url=database_url, secret_key=SECRET_KEY, admin_token="token", webhooks=False, **NO_LIMITS
        )

    def test_the_account_reads_its_log(self, client: Client, database: Database, account: Account) -> None:
        event = add_event(database, account)
        assert ids(events(client, account)) == [event]
        operator = {"Authorization": "Bearer token"}
        assert client.get("/_patron/events", headers=operator).status_code == 401


def test_the_log_is_in_patron_s_openapi_document_with_or_without_the_control_plane(
    client: Client, database_url: str
) -> None:
    documents = [client.get("/_patron/openapi.json").json()]
    on = create_app(Settings(database_url=database_url, secret_key=SECRET_KEY, admin_token="token", **NO_LIMITS))
    try:
        with TestClient(on) as with_control:
            documents.append(with_control.get("/_patron/openapi.json").json())
    finally:
        on.state.database.close()
    wanted = {
        ("get", "/_patron/events"),
        ("get", "/_patron/events/{id}"),
        ("post", "/_patron/events/{id}/redeliver"),
        ("get", "/_patron/deliveries"),
        ("get", "/_patron/deliveries/{id}"),
        ("post", "/_patron/webhooks/flush"),
    }
    for document in documents:
        assert document["components"]["securitySchemes"]["basicAuth"] == {"type": "http", "scheme": "basic"}
        assert "Webhooks" in [tag["name"] for tag in document["tags"]]
        found = {
            (method, path): operation
            for path, item in document["paths"].items()
            for method, operation in item.items()
            if "Webhooks" in operation.get("tags", [])
        }
        assert wanted <= set(found)
        for operation in found.values():
            assert operation["security"] == [{"basicAuth": []}]
            assert {"400", "401"} <= set(operation["responses"])
        # A redelivery is a write a retry must not repeat; a flush sends what is due either way.
        keyed = {key for key, operation in found.items() if "Idempotency-Key" in _headers(operation)}
        assert keyed == {("post", "/_patron/events/{id}/redeliver")}
    off, on_doc = documents
    assert not [path for path in off["paths"] if path.startswith("/_patron/accounts")]
    assert [path for path in on_doc["paths"] if path.startswith("/_patron/accounts")]


def _headers(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]


def test_events_in_the_api_s_document_are_none(client: Client) -> None:
    api = client.get("/api/openapi.json").json()
    assert not [path for path in api["paths"] if path.startswith("/_patron")]


class TestThroughRealWrites:
    """The log as the API's writes leave it: one event per change, the customer in each
    exactly as `GET /customers/{id}` answered after the write, a delivery per recipient."""

    def test_create_update_archive(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account, recipients=["http://127.0.0.1:9/hooks"])["id"]
        body = customer_body()
        created = client.post("/api/customers", json=body, headers=account.headers).json()
        path = f"/api/customers/{created['id']}"
        renders = [client.get(path, headers=account.headers).content]
        answer = client.put(path, json={**body, "label": "vip"}, headers=account.headers)
        assert answer.status_code == 200
        renders.append(client.get(path, headers=account.headers).content)
        assert client.post(f"{path}/archive", headers=account.headers).status_code == 200
        renders.append(client.get(path, headers=account.headers).content)
        page = events(client, account, resourceId=created["id"])
        oldest_first = page["items"][::-1]
        assert [item["notificationType"] for item in oldest_first] == [
            "CUSTOMER_CREATED",
            "CUSTOMER_UPDATED",
            "CUSTOMER_ARCHIVED",
        ]
        for item, rendered in zip(oldest_first, renders, strict=True):
            assert item["resourceId"] == created["id"]
            assert item["rawBody"].encode().endswith(b',"resource":' + rendered + b"}")
            assert item["body"]["sequenceAccountId"] == account.account_id
            one = client.get(f"/_patron/events/{item['id']}", headers=account.headers).json()
            assert [(d["policyId"], d["status"], d["redelivery"]) for d in one["deliveries"]] == [
                (policy, "pending", False)
            ]
        assert oldest_first[2]["body"]["resource"]["archivedAt"]

    def test_a_write_that_fails_leaves_nothing_in_the_log(self, client: Client, account: Account) -> None:
        refused = client.post("/api/customers", json=customer_body(address={"line1": "x"}), headers=account.headers)
        assert refused.status_code == 400
        assert events(client, account)["items"] == []
