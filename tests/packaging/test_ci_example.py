"""docs/ci.md's plain shell step, run verbatim as a team's CI would run it: with the
installed wheel's `patron` and with the zipapp, a passing and a failing test command."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.packaging import walkthrough
from tests.packaging.conftest import ROOT, SYSTEM_PATH, user_env

STEP = walkthrough.section_blocks(ROOT / "docs" / "ci.md", "## A plain shell step")

# The team's `npm test`: one request with the variables the sandbox printed, and what it saw.
NPM = """#!/bin/sh
set -eu
echo "$SEQUENCE_BASE_URL" > npm-saw-url
curl -fsS -u "$SEQUENCE_CLIENT_ID:$SEQUENCE_CLIENT_SECRET" "$SEQUENCE_BASE_URL/customers" > npm-saw.json
exit "${NPM_EXIT:-0}"
"""


def listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(params=["wheel", "zipapp"])
def installed(request: pytest.FixtureRequest) -> tuple[str, dict[str, str]]:
    """(PATH, extra variables) of a CI machine with patron installed the one way or the other."""
    if request.param == "wheel":
        venv: Path = request.getfixturevalue("server_venv")
        return f"{venv / 'bin'}:{SYSTEM_PATH}", {}
    zipapp: Path = request.getfixturevalue("zipapp")
    shiv_root: Path = request.getfixturevalue("shiv_root")
    return SYSTEM_PATH, {"PATRON": f"python3 {zipapp}", "SHIV_ROOT": str(shiv_root)}


def run_step(workspace: Path, installed: tuple[str, dict[str, str]], **env: str) -> subprocess.CompletedProcess[str]:
    assert len(STEP) == 1, "docs/ci.md's plain shell step is one block"
    (workspace / "ci").mkdir(parents=True)
    (workspace / "ci" / "with-patron.sh").write_text(STEP[0])
    tools = workspace.parent / "tools"
    tools.mkdir(exist_ok=True)
    (tools / "npm").write_text(NPM)
    (tools / "npm").chmod(0o755)
    path, extra = installed
    environment = user_env(workspace.parent / "home", path=f"{tools}:{path}") | extra | env
    return subprocess.run(
        ["sh", "ci/with-patron.sh"], cwd=workspace, env=environment, capture_output=True, text=True, timeout=180
    )


def test_runs_the_tests_against_a_sandbox_and_stops_it(installed: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    begun = time.monotonic()
    done = run_step(tmp_path / "repo", installed)
    print(f"the step took {time.monotonic() - begun:.1f} s")
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{(tmp_path / 'repo' / 'patron.log').read_text()}"
    url = (tmp_path / "repo" / "npm-saw-url").read_text().strip()
    assert url.startswith("http://127.0.0.1:"), url
    assert url.endswith("/api"), url
    assert '"items":[]' in (tmp_path / "repo" / "npm-saw.json").read_text()
    assert not listening(url), "the sandbox still serves after the step"


def test_a_failing_test_fails_the_step_and_still_stops_it(
    installed: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    done = run_step(tmp_path / "repo", installed, NPM_EXIT="3")
    assert done.returncode == 3, f"{done.stdout}\n{done.stderr}"
    assert not listening((tmp_path / "repo" / "npm-saw-url").read_text().strip())
