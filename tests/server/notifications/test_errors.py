"""The 400 body of the five operations where Sequence declares `DatabaseErrors`: patron's
error body plus a top-level `errors` array, whatever refused the request."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from patron.server.config import Settings
from tests.conftest import NO_LIMITS, SECRET_KEY, Account
from tests.server.notifications.policies import POLICIES, Client, create_policy, policy_body

DATABASE_ERRORS = {
    ("post", "/notifications/policies"),
    ("post", "/notifications/policies/{id}/recipients"),
    ("delete", "/notifications/policies/{id}/recipients/{recipient}"),
    ("post", "/notifications/policies/{id}/notification-types"),
    ("delete", "/notifications/policies/{id}/notification-types/{type}"),
}


def assert_database_errors(response: Any) -> list[dict[str, str]]:
    """Both shapes at once: `{"error": {...}}` and `{"errors": [...]}` with the same items."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error", "errors"}
    assert body["error"]["type"] in {"ValidationError", "IdempotencyError", "UnrecognisedApiVersion"}
    assert body["errors"] == body["error"].get("errors", [])
    errors: list[dict[str, str]] = body["errors"]
    return errors


@pytest.fixture
def policy_id(client: Client, account: Account) -> str:
    ident: str = create_policy(client, account)["id"]
    return ident


def send(client: TestClient[Any], account: Account, method: str, path: str, content: bytes | None = None) -> Any:
    headers = {**account.headers, "Content-Type": "application/json"}
    return client.request(method, path, content=content, headers=headers)


class TestEveryRefusal:
    @pytest.mark.parametrize(
        ("content", "field"),
        [
            (b'{"name": "x", "recipients": [], "channel": "WEBHOOK"}', "recipients"),
            (b'{"name": 7, "recipients": ["https://a.example.com/"], "channel": "WEBHOOK"}', "name"),
            (b'{"name": "x", "recipients": "https://a.example.com/", "channel": "WEBHOOK"}', "recipients"),
            (b'{"name": "x", "recipients": ["https://a.example.com/"]}', "channel"),
            (
                b'{"name": "x", "recipients": [' + b'"https://a.example.com/",' * 100 + b'"x"], "channel": "WEBHOOK"}',
                "recipients",
            ),
            (b"[]", None),
            (b"{", None),
            (b"", None),
            (b'{"name": "\xff"}', "body"),
            (b"[" * 5000 + b"]" * 5000, None),
        ],
    )
    def test_create(self, client: Client, account: Account, content: bytes, field: str | None) -> None:
        errors = assert_database_errors(send(client, account, "POST", POLICIES, content))
        if field is not None:
            assert errors[0]["field"] == field

    def test_create_with_a_reused_idempotency_key(self, client: Client, account: Account) -> None:
        headers = {**account.headers, "Idempotency-Key": "reused"}
        assert client.post(POLICIES, json=policy_body(), headers=headers).status_code == 201
        response = client.post(POLICIES, json=policy_body(name="Another"), headers=headers)
        assert response.json()["error"]["type"] == "IdempotencyError"
        assert assert_database_errors(response) == []

    @pytest.mark.parametrize(
        ("content", "field"),
        [(b'{"recipients": []}', "recipients"), (b'{"recipients": [1]}', "recipients[0]"), (b"{", None)],
    )
    def test_add_recipients(
        self, client: Client, account: Account, policy_id: str, content: bytes, field: str | None
    ) -> None:
        errors = assert_database_errors(send(client, account, "POST", f"{POLICIES}/{policy_id}/recipients", content))
        if field is not None:
            assert errors[0]["field"] == field

    def test_remove_recipient(self, client: Client, account: Account, policy_id: str) -> None:
        response = client.delete(f"{POLICIES}/{policy_id}/recipients/bad%00recipient", headers=account.headers)
        assert assert_database_errors(response)[0]["field"] == "recipient"

    def test_remove_recipient_not_utf8(self, client: Client, account: Account, policy_id: str) -> None:
        response = client.delete(f"{POLICIES}/{policy_id}/recipients/bad%FFrecipient", headers=account.headers)
        assert assert_database_errors(response)

    @pytest.mark.parametrize(
        ("content", "field"),
        [
            (b'{"notificationTypes": []}', "notificationTypes"),
            (b'{"notificationTypes": ["CUSTOMER_DELETED"]}', "notificationTypes[0]"),
            (b'{"notificationTypes": null}', "notificationTypes"),
        ],
    )
    def test_add_types(self, client: Client, account: Account, policy_id: str, content: bytes, field: str) -> None:
        path = f"{POLICIES}/{policy_id}/notification-types"
        assert assert_database_errors(send(client, account, "POST", path, content))[0]["field"] == field

    def test_remove_type(self, client: Client, account: Account, policy_id: str) -> None:
        response = client.delete(f"{POLICIES}/{policy_id}/notification-types/CUSTOMER_DELETED", headers=account.headers)
        assert assert_database_errors(response)[0]["field"] == "type"


class TestRefusedBeforeTheRoute:
    def test_an_unknown_sequence_version(self, client: Client, account: Account) -> None:
        headers = {**account.headers, "Sequence-Version": "2017-01-01"}
        response = client.post(POLICIES, json=policy_body(), headers=headers)
        assert assert_database_errors(response) == []
        assert response.json()["error"]["type"] == "UnrecognisedApiVersion"

    def test_an_unknown_sequence_version_elsewhere_keeps_patrons_body(self, client: Client, account: Account) -> None:
        headers = {**account.headers, "Sequence-Version": "2017-01-01"}
        response = client.get(POLICIES, headers=headers)
        assert response.status_code == 400
        assert set(response.json()) == {"error"}


class TestInjected400:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return Settings(database_url=database_url, secret_key=SECRET_KEY, admin_token="token", **NO_LIMITS)

    def test_a_sandbox_answer_takes_the_routes_shape(self, client: Client, account: Account) -> None:
        headers = {**account.headers, "Prefer": "code=400"}
        assert assert_database_errors(client.post(POLICIES, json=policy_body(), headers=headers)) == []
        other = client.post("/api/customer-aliases", json={}, headers=headers)
        assert (other.status_code, set(other.json())) == (400, {"error"})


class TestOtherStatusesAndOperations:
    def test_a_404_keeps_patrons_body(self, client: Client, account: Account) -> None:
        response = client.post(
            f"{POLICIES}/not-a-uuid/recipients",
            json={"recipients": ["https://a.example.com/"]},
            headers=account.headers,
        )
        assert response.status_code == 404
        assert set(response.json()) == {"error"}

    def test_a_400_of_another_resource_keeps_patrons_body(self, client: Client, account: Account) -> None:
        response = client.post("/api/customer-aliases", json={}, headers=account.headers)
        assert response.status_code == 400
        assert set(response.json()) == {"error"}


class TestDocumented:
    def test_the_five_operations_document_the_database_errors_body(self, client: Client) -> None:
        document = client.get("/api/openapi.json").json()
        for path, item in document["paths"].items():
            if not path.startswith("/api/notifications/"):
                continue
            for method, operation in item.items():
                schema = operation["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
                wanted = "DatabaseErrors" if (method, path.removeprefix("/api")) in DATABASE_ERRORS else "ErrorBody"
                assert schema.rsplit("/", 1)[1] == wanted, (method, path)
        assert document["components"]["schemas"]["DatabaseErrors"]["required"] == ["error", "errors"]

    def test_the_eight_operations_are_tagged_notification_policies(self, client: Client) -> None:
        document = client.get("/api/openapi.json").json()
        operations = [
            operation
            for path, item in document["paths"].items()
            if path.startswith("/api/notifications/")
            for operation in item.values()
        ]
        assert len(operations) == 8
        assert all(operation["tags"] == ["Notification Policies"] for operation in operations)
