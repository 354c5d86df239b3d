"""Sequence's published notifications schema (the eight Notification Policy operations), run
against patron with schemathesis exactly as `test_sequence_schema.py` runs the customers
schema: valid credentials injected; no server error, only documented statuses (plus
patron's documented extras) and every documented body valid against Sequence's schema.

Every other generated request is aimed at a policy that exists: a fresh one per case (so
a generated delete does not leave the next cases nothing to aim at), with a recipient it
holds in the path and recipients of the right kind in the body.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.testing import TestClient
from schemathesis import Case
from schemathesis.core.result import Ok

from patron.server.app import create_app
from patron.server.config import Settings
from tests.conformance.conftest import Target
from tests.conformance.schemas import OPENAPI
from tests.conformance.test_sequence_schema import EXAMPLES, run_case
from tests.conftest import NO_LIMITS, SECRET_KEY, Backend, make_account

NOTIFICATIONS = OPENAPI / "sequence-notifications-2024-07-30.head.json"
RECIPIENT = "https://hooks.example.com//sequence/?a=1&b=2"


@dataclass
class PolicyTarget(Target):
    """The app, and a fresh real policy to aim each other generated request at."""

    client: TestClient[Any] | None = None
    aims: itertools.count[int] = field(default_factory=itertools.count)
    bodies: itertools.count[int] = field(default_factory=itertools.count)
    channel: str = "WEBHOOK"
    """The channel of the policy the current case aims at (its body's recipients follow it)."""

    def _fresh_policy(self) -> str:
        assert self.client is not None
        body = {"name": "conformance", "recipients": [self._recipient()], "channel": self.channel}
        response = self.client.post("/api/notifications/policies", json=body, headers=self.account.headers)
        assert response.status_code == 201, response.text
        ident: str = response.json()["id"]
        return ident

    def _recipient(self, n: int = 0) -> str:
        return f"{RECIPIENT}&n={n}" if self.channel == "WEBHOOK" else f"finance{n}@example.com"

    def aim(self, path: str, path_parameters: dict[str, Any]) -> dict[str, Any]:
        turn = next(self.aims)
        # One aimed case in four is at an EMAIL policy.
        self.channel = "EMAIL" if turn % 8 == 4 else "WEBHOOK"
        if not path_parameters or turn % 2:
            return path_parameters
        real = {"id": self._fresh_policy(), "recipient": self._recipient()}
        return {name: real.get(name, value) for name, value in path_parameters.items()}

    def aim_body(self, body: Any) -> Any:
        """Every other body, recipients of the kind its channel takes and no secret on an
        EMAIL policy."""
        if not isinstance(body, dict) or next(self.bodies) % 2:
            return body
        aimed = dict(body)
        if isinstance(aimed.get("channel"), str):
            self.channel = aimed["channel"]
        if isinstance(aimed.get("recipients"), list):
            aimed["recipients"] = [self._recipient(n) for n in range(1, 3)]
        if self.channel == "EMAIL":
            aimed.pop("webhookSecret", None)
        if isinstance(aimed.get("name"), str) and not aimed["name"].strip():
            aimed["name"] = "conformance"
        return aimed


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[Target]:
    url = backend.fresh(tmp_path_factory.mktemp("notifications"))
    app = create_app(Settings(database_url=url, secret_key=SECRET_KEY, **NO_LIMITS))
    account = make_account(app.state.database)
    with TestClient(app) as client:
        yield PolicyTarget(app=app, account=account, ids={}, client=client)
    app.state.database.engine.dispose()
    backend.drop(url)


def _schema() -> schemathesis.BaseSchema | None:
    if not NOTIFICATIONS.exists():
        return None
    document = json.loads(NOTIFICATIONS.read_text())
    # Sequence's servers are its own hosts; in process the API lives under /api.
    document["servers"] = [{"url": "/api"}]
    return schemathesis.openapi.from_dict(document)


notifications = _schema()

if notifications is None:

    def test_the_notifications_schema_is_present() -> None:
        pytest.skip("../shared/sequence-openapi is absent beside the repository (CI has it)")

else:

    @notifications.parametrize()
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def test_notifications_schema(case: Case[Any], target: Target) -> None:
        run_case(case, target)


def test_the_eight_operations_are_all_generated() -> None:
    if notifications is None:
        pytest.skip("../shared/sequence-openapi is absent beside the repository (CI has it)")
    found = list(notifications.get_all_operations())
    assert all(isinstance(result, Ok) for result in found), "every operation of the schema loads"
    assert len({result.ok().definition.raw["operationId"] for result in found if isinstance(result, Ok)}) == 8
