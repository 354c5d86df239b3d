"""Sequence's own published schemas, run against patron with schemathesis.

Every operation of both snapshots (baseline = the seeds', head = the newest) is fuzzed with
valid credentials injected. Checked on every answer: no server error, the status is one the
schema lists or one of patron's documented extras (404, 409, 415, 429; 415 for a body that is
not JSON, docs/limits.md), and the body of every
documented status validates against Sequence's response schema.

Not run, and why:
- `status_code_conformance` as shipped: it would flag the documented extra statuses; the
  same check with the extras allowed is `_status_is_documented` below.
- `content_type_conformance`: Sequence declares its error responses with `content: {}`;
  patron's errors carry a JSON body, which that check counts as undeclared.
- `negative_data_rejection` / `positive_data_acceptance`: patron ignores unknown fields
  (as documented) and enforces rules Sequence states only in prose (a PRIMARY contact,
  `state` for US/CA), so schema-valid bodies may be refused and vice versa by design.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import BaseSchema, Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conformance.conftest import Target
from tests.conformance.schemas import BASELINE, HEAD

EXTRA_STATUSES = {404, 409, 415, 429}
EXAMPLES = 30


def _schema(path: Path) -> BaseSchema | None:
    if not path.exists():
        return None
    document = json.loads(path.read_text())
    document = copy.deepcopy(document)
    # Sequence's servers are its own hosts; in process the API lives under /api.
    document["servers"] = [{"url": "/api"}]
    return schemathesis.openapi.from_dict(document)


def _status_is_documented(case: Case[Any], status: int, extras: set[int] = EXTRA_STATUSES) -> None:
    if case.method.upper() != case.operation.method.upper():
        # schemathesis also probes methods the path does not declare: those must be 405,
        # except OPTIONS, which answers 204 with `Allow` (standard HTTP).
        expected = 204 if case.method.upper() == "OPTIONS" else 405
        assert status == expected, f"{case.method} {case.path}: {status} for an undeclared method"
        return
    documented = {int(code) for code in case.operation.definition.raw["responses"] if code.isdigit()}
    assert status in documented | extras, f"{case.method} {case.path}: undocumented status {status}"


def run_case(case: Case[Any], target: Target, *, extras: set[int] = EXTRA_STATUSES) -> None:
    """Send one generated case with valid credentials and check the answer."""
    case.path_parameters = target.aim(case.operation.path, case.path_parameters or {})
    case.body = target.aim_body(case.body)
    for name in [k for k in case.headers if k.lower() in {"authorization", "sequence-version"}]:
        del case.headers[name]
    case.headers.update({**target.account.headers, "Sequence-Version": "2024-07-30"})
    response = case.call(app=target.app)
    sent = {name.lower() for name in response.request.headers}
    if "authorization" in sent:
        assert response.status_code != 401, "valid credentials were sent, yet the request was refused"
    else:
        # Negative cases drop the required Authorization header on purpose: that is a 401.
        assert response.status_code == 401
    _status_is_documented(case, response.status_code, extras)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


baseline = _schema(BASELINE)
head = _schema(HEAD)
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)

if baseline is None or head is None:

    def test_sequence_schemas_are_present() -> None:
        pytest.skip("../shared/sequence-openapi is absent beside the repository (CI has it)")

else:

    @baseline.parametrize()
    @SETTINGS
    def test_baseline_schema(case: Case[Any], target: Target) -> None:
        run_case(case, target)

    @head.parametrize()
    @SETTINGS
    def test_head_schema(case: Case[Any], target: Target) -> None:
        run_case(case, target)
