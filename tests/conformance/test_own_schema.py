"""patron's own OpenAPI document: the same operations, names, fields and enums as
Sequence's, and patron honours it (schemathesis, in process)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case

from tests.conformance.conftest import Target
from tests.conformance.schemas import HEAD, OPENAPI, load, served
from tests.conformance.test_sequence_schema import run_case

own = schemathesis.openapi.from_dict(served("/api/openapi.json", Path(__file__).parent / ".openapi-probe.db"))

NOTIFICATIONS = OPENAPI / "sequence-notifications-2024-07-30.head.json"
SEQUENCE = (HEAD, NOTIFICATIONS)
"""Sequence's schemas of what patron serves: the customers and the notification policies."""

OWN_SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@own.parametrize()
@OWN_SETTINGS
def test_patron_honours_its_own_document(case: Case[Any], target: Target) -> None:
    case.operation.schema.app = target.app
    run_case(case, target, extras=set())


def _document(target: Target) -> dict[str, Any]:
    from litestar.testing import TestClient

    with TestClient(target.app) as client:
        document: dict[str, Any] = client.get("/api/openapi.json").json()
    return document


def _operations(document: dict[str, Any], prefix: str = "") -> dict[str, tuple[str, str]]:
    return {
        operation["operationId"]: (method.upper(), path.removeprefix(prefix))
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _body_schema(document: dict[str, Any], operation: dict[str, Any], where: str) -> dict[str, Any]:
    if where == "request":
        content = operation["requestBody"]["content"]["application/json"]
    else:
        ok = next(code for code in operation["responses"] if code.startswith("2"))
        content = operation["responses"][ok]["content"]["application/json"]
    return _resolve(document, content["schema"])


def _fields(document: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> set[str]:
    """Dotted field names of a schema, nested objects and array items included."""
    names: set[str] = set()
    for name, prop in schema.get("properties", {}).items():
        names.add(name)
        options = prop.get("oneOf") or prop.get("anyOf") or [prop]
        for option in options:
            inner = _resolve(document, option.get("items", option))
            if depth < 3 and inner.get("properties"):
                names |= {f"{name}.{sub}" for sub in _fields(document, inner, depth + 1)}
    return names


class TestSameContractAsSequence:
    def test_the_same_27_operations(self, target: Target) -> None:
        customers, notifications = _operations(load(HEAD)), _operations(load(NOTIFICATIONS))
        patron = _operations(_document(target), prefix="/api")
        assert (len(customers), len(notifications)) == (19, 8)
        assert patron == customers | notifications

    def test_the_same_fields_on_every_request_and_response(self, target: Target) -> None:
        patron = _document(target)
        ours = {op["operationId"]: op for item in patron["paths"].values() for op in item.values()}
        for sequence in map(load, SEQUENCE):
            for item in sequence["paths"].values():
                for operation in (op for op in item.values() if isinstance(op, dict) and "operationId" in op):
                    mine = ours[operation["operationId"]]
                    for where in ("request", "response"):
                        if where == "request" and "requestBody" not in operation:
                            continue
                        theirs = _fields(sequence, _body_schema(sequence, operation, where))
                        assert theirs <= _fields(patron, _body_schema(patron, mine, where)), (
                            operation["operationId"],
                            where,
                            theirs - _fields(patron, _body_schema(patron, mine, where)),
                        )

    def test_the_same_enum_values(self, target: Target) -> None:
        sequence, patron = load(HEAD)["components"]["schemas"], _document(target)["components"]["schemas"]
        pairs = {
            "TaxStatus": "TaxStatus",
            "State1": "State",
            "CountryCode1": "CountryCode",
            "IntegrationService": "IntegrationService",
            "ContactBillingPreference": "BillingPreference",
            "CustomerStatus": "CustomerStatus",
            "CreateOrUpdateCustomerRequestIntegration": "PushIntegration",
        }
        for theirs, mine in pairs.items():
            assert sorted(patron[mine]["enum"]) == sorted(sequence[theirs]["enum"]), theirs
        notifications = load(NOTIFICATIONS)["components"]["schemas"]
        for name in ("NotificationType", "NotificationChannel"):
            # In Sequence's order: a policy with no list losing one type lists the others so.
            assert patron[name]["enum"] == notifications[name]["enum"], name

    def test_query_parameters_match(self, target: Target) -> None:
        sequence, patron = load(HEAD), _document(target)
        notifications = load(NOTIFICATIONS)
        for document, path in (
            (sequence, "/customers"),
            (sequence, "/customer-aliases"),
            (notifications, "/notifications/policies"),
        ):
            theirs = {p["name"] for p in document["paths"][path]["get"]["parameters"] if p["in"] == "query"}
            mine = {p["name"] for p in patron["paths"]["/api" + path]["get"]["parameters"] if p["in"] == "query"}
            assert theirs == mine, path


def test_document_is_json_serialisable(target: Target) -> None:
    assert json.dumps(_document(target))
