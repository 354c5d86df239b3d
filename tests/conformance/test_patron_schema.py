"""patron's own document of `/_patron/` (docs/webhooks.md), run against patron with
schemathesis: every account operation there (the webhook log) answers no server error, a
status it documents (or 404) and a body that validates against it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case

from tests.conformance.conftest import Target
from tests.conformance.schemas import served
from tests.conformance.test_sequence_schema import run_case

patron = schemathesis.openapi.from_dict(served("/_patron/openapi.json", Path(__file__).parent / ".patron-probe.db"))


@patron.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_patron_honours_its_own_document_of_the_webhook_log(case: Case[Any], target: Target) -> None:
    case.operation.schema.app = target.app
    if case.query and "wait" in case.query:
        case.query["wait"] = 0  # a generated wait would only make the run slower
    run_case(case, target, extras={404})
