"""The edge every request crosses: credentials, the version header, the error body."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from patron.server import errors
from patron.server.accounts import service as accounts
from patron.server.customers import service as customers
from patron.server.db import tables
from patron.server.db.engine import Database
from patron.server.web.errors import TABLE
from tests.conftest import Account
from tests.factories import create_alias, create_customer, customer_body

Client = TestClient[Litestar]


def basic(value: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(value.encode()).decode()}


class TestAuthentication:
    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"Authorization": "Bearer abc"},
            {"Authorization": "Basic"},
            {"Authorization": "Basic !!!notbase64"},
            basic("no-colon"),
            basic(":secret-only"),
            basic("id-only:"),
            basic("unknown-client:secret"),
            basic(f"{uuid.uuid4().hex}{'0' * 16}:secret"),
        ],
    )
    def test_bad_credentials_are_401_with_the_same_body(self, client: Client, headers: dict[str, str]) -> None:
        response = client.get("/api/customers", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic")
        assert response.headers["sequence-version"] == "2024-07-30"
        assert response.json() == {"error": {"type": "Unauthorized", "message": accounts.BAD_CREDENTIALS}}

    def test_wrong_secret_is_401(self, client: Client, account: Account) -> None:
        response = client.get("/api/customers", headers=basic(f"{account.client_id}:wrong"))
        assert response.status_code == 401

    def test_a_revoked_credential_is_refused_at_once(
        self, client: Client, account: Account, database: Database
    ) -> None:
        assert client.get("/api/customers", headers=account.headers).status_code == 200
        with database.write() as tx:
            accounts.revoke_credential(tx, account.client_id)
        assert client.get("/api/customers", headers=account.headers).status_code == 401

    def test_a_second_credential_works_alongside_the_first(
        self, client: Client, account: Account, database: Database
    ) -> None:
        with database.write() as tx:
            second = accounts.create_credential(tx, database.key, uuid.UUID(account.account_id))
        created = create_customer(client, basic(f"{second.client_id}:{second.client_secret}"))
        assert client.get(f"/api/customers/{created['id']}", headers=account.headers).status_code == 200

    def test_every_operation_needs_credentials(self, app: Litestar, client: Client) -> None:
        routes = [
            (method, route.path)
            for route in app.routes
            if route.path.startswith("/api/") and "openapi" not in route.path and "docs" not in route.path
            for method in getattr(route, "methods", set()) - {"OPTIONS", "HEAD"}
        ]
        assert len(routes) == 27
        for method, path in routes:
            concrete = path.replace("{id:str}", "x").replace("{customer:str}", "x").replace("{alias:path}", "x")
            response = client.request(method, concrete, json={})
            assert response.status_code == 401, (method, path)

    def test_secrets_are_stored_only_as_keyed_hashes(self, database: Database, account: Account) -> None:
        with database.read() as tx:
            rows = list(tx.execute(select(tables.credential)))
        assert rows
        for row in rows:
            assert account.client_secret not in str(tuple(row))
            assert row.secret_hash == accounts.hash_secret(database.key, account.client_secret)


class TestTenancy:
    def test_another_accounts_objects_look_like_missing_ones(
        self, client: Client, account: Account, other_account: Account
    ) -> None:
        theirs = create_customer(client, other_account.headers, customerAliases=["their-alias"])
        alias = client.get(f"/api/customers/{theirs['id']}/aliases", headers=other_account.headers).json()["items"][0]
        missing = str(uuid.uuid4())
        probes: list[tuple[str, str, dict[str, Any] | None]] = [
            ("GET", "/api/customers/{}", None),
            ("PUT", "/api/customers/{}", customer_body()),
            ("POST", "/api/customers/{}/archive", None),
            ("GET", "/api/customers/{}/aliases", None),
            ("PUT", "/api/customer-aliases/{}", {"label": "x"}),
            ("DELETE", "/api/customer-aliases/{}", None),
        ]
        for method, template, body in probes:
            target = alias["id"] if "customer-aliases" in template else theirs["id"]
            foreign = client.request(method, template.format(target), json=body, headers=account.headers)
            absent = client.request(method, template.format(missing), json=body, headers=account.headers)
            assert foreign.status_code == absent.status_code == 404, template
            assert foreign.json()["error"]["type"] == absent.json()["error"]["type"]
            assert foreign.json()["error"]["message"].replace(target, missing) == absent.json()["error"]["message"]
        assert client.get("/api/customers/by-alias/their-alias", headers=account.headers).status_code == 404
        assert client.get(f"/api/customers/by-alias/{theirs['id']}", headers=account.headers).status_code == 404

    def test_lists_never_show_another_accounts_objects(
        self, client: Client, account: Account, other_account: Account
    ) -> None:
        theirs = create_customer(client, other_account.headers, customerAliases=["t"], label="L")
        assert client.get("/api/customers", headers=account.headers).json()["items"] == []
        assert (
            client.get("/api/customers", params={"alias": theirs["id"]}, headers=account.headers).json()["items"] == []
        )
        assert client.get("/api/customer-aliases", headers=account.headers).json()["items"] == []

    def test_aliases_cannot_point_at_another_accounts_customer(
        self, client: Client, account: Account, other_account: Account
    ) -> None:
        theirs = create_customer(client, other_account.headers)
        response = client.post(
            "/api/customer-aliases", json={"customerId": theirs["id"], "value": "x"}, headers=account.headers
        )
        assert response.status_code == 400


class TestVersionHeader:
    @pytest.mark.parametrize("version", [None, "2024-07-30"])
    def test_absent_or_current_is_accepted(self, client: Client, account: Account, version: str | None) -> None:
        headers = {**account.headers, **({"Sequence-Version": version} if version else {})}
        response = client.get("/api/customers", headers=headers)
        assert response.status_code == 200
        assert response.headers["sequence-version"] == "2024-07-30"

    def test_the_lower_case_header_name_works(self, client: Client, account: Account) -> None:
        response = client.get("/api/customers", headers={**account.headers, "sequence-version": "2017-01-01"})
        assert response.status_code == 400

    @pytest.mark.parametrize("version", ["2017-01-01", "2024-05-09", "latest", ""])
    def test_anything_else_is_400_unrecognised(self, client: Client, account: Account, version: str) -> None:
        response = client.get("/api/customers", headers={**account.headers, "Sequence-Version": version})
        assert response.status_code == 400
        assert response.json() == {
            "error": {
                "type": "UnrecognisedApiVersion",
                "message": "No matching API version found. Please make sure the specified API version is valid.",
            }
        }
        assert response.headers["sequence-version"] == "2024-07-30"

    def test_every_response_carries_the_header(self, client: Client, account: Account) -> None:
        for response in (
            client.get("/api/customers", headers=account.headers),
            client.get("/api/customers/nope", headers=account.headers),
            client.get("/api/customers", params={"limit": 0}, headers=account.headers),
            client.get("/api/customers"),
            client.get("/api/no-such-route", headers=account.headers),
            client.get("/livez"),
        ):
            assert response.headers["sequence-version"] == "2024-07-30"
            assert len(response.headers["request-id"]) == 32


class TestErrors:
    def test_every_domain_error_has_a_status(self) -> None:
        def subclasses(cls: type[errors.PatronError]) -> set[type[errors.PatronError]]:
            found = set(cls.__subclasses__())
            for sub in list(found):
                found |= subclasses(sub)
            return found

        assert subclasses(errors.PatronError) == set(TABLE)

    def test_an_unexpected_error_is_a_bare_500(
        self, client: Client, account: Account, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def explode(*_: object, **__: object) -> None:
            raise RuntimeError("SELECT secret FROM /srv/patron/db.py line 42")

        monkeypatch.setattr(customers, "list_page", explode)
        monkeypatch.setattr(customers, "list_page_direct", explode)
        response = client.get("/api/customers", headers=account.headers)
        assert response.status_code == 500
        assert response.json() == {
            "error": {"type": "InternalServerError", "message": "something went wrong on our side"}
        }
        for leak in ("Traceback", "SELECT", "/srv", ".py"):
            assert leak not in response.text

    def test_unknown_routes_are_404_with_the_error_body(self, client: Client, account: Account) -> None:
        response = client.get("/api/nothing-here", headers=account.headers)
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "NotFound"

    def test_wrong_method_is_405_with_allow(self, client: Client, account: Account) -> None:
        response = client.delete("/api/customers", headers=account.headers)
        assert response.status_code == 405
        assert "GET" in response.headers["allow"]

    def test_bodies_over_one_mebibyte_are_413(self, client: Client, account: Account) -> None:
        huge = customer_body(legalName="x" * (1024 * 1024 + 10))
        response = client.post("/api/customers", json=huge, headers=account.headers)
        assert response.status_code == 413
        assert response.json()["error"]["type"] == "PayloadTooLarge"

    def test_a_json_array_body_is_400(self, client: Client, account: Account) -> None:
        response = client.post("/api/customers", json=[1, 2], headers=account.headers)
        assert response.status_code == 400


class TestOpenApi:
    def test_document_declares_basic_auth_and_errors(self, client: Client) -> None:
        document = client.get("/api/openapi.json").json()
        assert document["components"]["securitySchemes"]["basicAuth"] == {"type": "http", "scheme": "basic"}
        operations = [op for path in document["paths"].values() for op in path.values()]
        assert len(operations) == 27
        for operation in operations:
            assert operation["security"] == [{"basicAuth": []}]
            assert {"400", "401"} <= set(operation["responses"])

    def test_docs_page_is_served(self, client: Client) -> None:
        response = client.get("/api/docs/")
        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]


class TestHealth:
    def test_livez_and_readyz_need_no_credentials(self, client: Client) -> None:
        assert client.get("/livez").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ok"}


def test_alias_values_are_unique_per_account_even_when_created_through_customers(
    client: Client, account: Account
) -> None:
    first = create_customer(client, account.headers)
    create_alias(client, account.headers, first["id"], "dup")
    response = client.post("/api/customers", json=customer_body(customerAliases=["dup"]), headers=account.headers)
    assert response.status_code == 409
