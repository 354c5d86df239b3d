"""The control plane's own OpenAPI document (`/_patron/openapi.json`): every operator route
in it, tagged "Sandbox" with the admin token's scheme; none of it in `/api/openapi.json`."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from patron.server.app import create_app
from patron.server.config import Settings
from tests.conftest import NO_LIMITS, SECRET_KEY

Client = TestClient[Litestar]
_TYPED = re.compile(r"\{(\w+):\w+\}")


def operator_routes(app: Litestar) -> set[tuple[str, str]]:
    """(method, path as OpenAPI spells it) of every route the operator's token opens."""
    found = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.startswith("/_patron/accounts"):
            path = _TYPED.sub(r"{\1}", route.path)
            found |= {(method.lower(), path) for method in route.methods if method not in {"HEAD", "OPTIONS"}}
    return found


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "delete", "patch"}
    }


def test_is_public_json(client: Client) -> None:
    answer = client.get("/_patron/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["openapi"].startswith("3.")


def test_every_operator_route_is_in_it(app: Litestar, client: Client) -> None:
    documented = operations(client.get("/_patron/openapi.json").json())
    routes = operator_routes(app)
    assert {("post", "/_patron/accounts"), ("post", "/_patron/accounts/{account_id}/reset")} <= routes
    assert routes <= set(documented)


def test_every_operation_is_tagged_and_takes_the_admin_token(client: Client) -> None:
    document = client.get("/_patron/openapi.json").json()
    assert document["components"]["securitySchemes"]["adminToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "PATRON_ADMIN_TOKEN",
    }
    # Beside the account's own operations (docs/webhooks.md: tagged "Webhooks", Basic auth).
    assert [tag["name"] for tag in document["tags"]] == ["Sandbox", "Webhooks"]
    found = operations(document)
    for (_, path), operation in found.items():
        if not path.startswith("/_patron/accounts"):
            continue
        assert operation["tags"] == ["Sandbox"]
        assert operation["security"] == [{"adminToken": []}]
        assert "401" in operation["responses"]
    ids = [operation["operationId"] for operation in found.values()]
    assert len(ids) == len(set(ids))


def test_documents_the_bodies_and_statuses(client: Client) -> None:
    found = operations(client.get("/_patron/openapi.json").json())
    create = found[("post", "/_patron/accounts")]
    assert {"201", "400", "401", "409"} <= set(create["responses"])
    assert "requestBody" in create
    assert {"204", "404"} <= set(
        found[("post", "/_patron/accounts/{account_id}/snapshots/{name}/restore")]["responses"]
    )


def test_none_of_it_is_in_the_apis_document(client: Client, database_url: str) -> None:
    api = client.get("/api/openapi.json").json()
    assert not [path for path in api["paths"] if path.startswith("/_patron")]
    assert "Sandbox" not in {tag["name"] for tag in api.get("tags", [])}
    assert "adminToken" not in api["components"]["securitySchemes"]
    # The API's document is the same whether the control plane is on or off.
    plain = create_app(Settings(database_url=database_url, secret_key=SECRET_KEY, **NO_LIMITS))
    try:
        with TestClient(plain) as off:
            assert off.get("/api/openapi.json").json() == api
            # Off, patron's own document holds only the account's operations.
            patron = off.get("/_patron/openapi.json").json()
            assert not [path for path in patron["paths"] if path.startswith("/_patron/accounts")]
            assert "adminToken" not in patron["components"]["securitySchemes"]
    finally:
        plain.state.database.close()
