"""patron's own document of `/_patron/` (docs/webhooks.md), run against patron with
schemathesis: every account operation there (the webhook log) answers no server error, a
status it documents (or 404) and a body that validates against it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case

from patron.server.app import create_app
from patron.server.config import Settings
from tests.conformance.conftest import Target
from tests.conformance.test_sequence_schema import run_case
from tests.conftest import NO_LIMITS

_scratch = Path(__file__).parent / ".patron-probe.db"
patron = schemathesis.openapi.from_asgi(
    "/_patron/openapi.json",
    create_app(Settings(database_url=f"sqlite:///{_scratch}", secret_key="probe", **NO_LIMITS)),
)
for leftover in _scratch.parent.glob(".patron-probe.db*"):
    leftover.unlink()


@patron.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_patron_honours_its_own_document_of_the_webhook_log(case: Case[Any], target: Target) -> None:
    case.operation.schema.app = target.app
    if case.query and "wait" in case.query:
        case.query["wait"] = 0  # a generated wait would only make the run slower
    run_case(case, target, extras={404})
