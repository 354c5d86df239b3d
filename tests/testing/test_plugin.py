"""The plugin as a user's pytest loads it (a pytest of its own in a fresh directory): its
fixtures work with no conftest, a sandbox that will not start fails them with its stderr,
and a running sandbox named in the environment is used instead of a new one."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from patron.testing import SandboxProcess

USER_TEST = """
import pytest

from patron.client import Client
from patron.testing import ControlError, PatronAccount, PatronClock

made = []


def test_everything_is_there(patron_account: PatronAccount, patron_client: Client, patron_clock: PatronClock) -> None:
    assert patron_account.base_url.endswith("/api")
    assert patron_client.list_customers().pagination.total_result_size == 0
    assert patron_clock.freeze("2030-01-01T00:00:00.000Z") == "2030-01-01T00:00:00.000Z"
    made.append(patron_account.account_id)


def test_the_last_test_s_account_is_gone(patron_account: PatronAccount) -> None:
    assert patron_account.account_id != made[0]
    with pytest.raises(ControlError) as gone:
        patron_account.control.reset(made[0])
    assert gone.value.status == 404
"""


def run_pytest(directory: Path, source: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    (directory / "test_user.py").write_text(source)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PATRON_", "SEQUENCE_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=directory,
        env={**inherited, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def running() -> Iterator[SandboxProcess]:
    process = SandboxProcess()
    yield process
    process.stop()


def test_the_fixtures_work_in_a_project_with_no_conftest(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, USER_TEST)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_a_sandbox_that_will_not_start_fails_the_fixture_with_its_stderr(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "def test_it(patron_account):\n    pass\n", {"PATRON_RATE_LIMIT": "lots"})
    assert result.returncode == 1
    assert "patron sandbox exited with code 1" in result.stdout
    assert "not a rate limit: 'lots'" in result.stdout


def test_a_running_sandbox_in_the_environment_is_used(tmp_path: Path, running: SandboxProcess) -> None:
    sandbox = running.sandbox
    source = (
        "def test_it(patron_sandbox, patron_account):\n"
        f"    assert patron_sandbox.admin_url == {sandbox.admin_url!r}\n"
        f"    assert patron_account.base_url == {sandbox.base_url!r}\n"
    )
    env = {"PATRON_ADMIN_URL": sandbox.admin_url, "PATRON_ADMIN_TOKEN": sandbox.admin_token}
    result = run_pytest(tmp_path, source, env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_sandbox_named_in_the_environment_that_is_not_there_says_so(tmp_path: Path) -> None:
    env = {"PATRON_ADMIN_URL": "http://127.0.0.1:9/_patron", "PATRON_ADMIN_TOKEN": "t"}
    result = run_pytest(tmp_path, "def test_it(patron_account):\n    pass\n", env)
    assert result.returncode == 1
    assert "unset PATRON_ADMIN_URL" in result.stdout
