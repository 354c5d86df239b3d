"""`patron sandbox` run as a user runs it, a subprocess: what it prints, that its credentials
and admin token work, what it loads, and that it leaves nothing behind."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import SECRET_KEY

NAMES = [
    "SEQUENCE_BASE_URL",
    "SEQUENCE_CLIENT_ID",
    "SEQUENCE_CLIENT_SECRET",
    "PATRON_ACCOUNT_ID",
    "PATRON_ADMIN_URL",
    "PATRON_ADMIN_TOKEN",
]
# Every character a shell treats specially that a chosen secret may hold.
AWKWARD_SECRET = "s3cr3t'$\"`\\;|&*[]{}!#"


@dataclass
class Sandbox:
    process: subprocess.Popen[bytes]
    lines: list[str]
    stderr: Path

    def env(self) -> dict[str, str]:
        """The values the lines give a POSIX shell that sources them."""
        script = "".join(self.lines) + "".join(f'printf "%s\\0" "${name}"\n' for name in NAMES)
        result = subprocess.run(["sh", "-c", script], capture_output=True, check=True)
        return dict(zip(NAMES, result.stdout.decode().split("\0")[:-1], strict=True))

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise


class Starter:
    """Starts sandboxes in `workdir` with `TMPDIR` of their own; stops what it started."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.tmpdir = workdir / "tmp"
        self.tmpdir.mkdir()
        self.started: list[Sandbox] = []

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        base = {"PATH": "/usr/bin:/bin", "TMPDIR": str(self.tmpdir)}
        with (self.workdir / f"sandbox-{len(self.started)}.log").open("wb") as stderr:
            return subprocess.Popen(
                [sys.executable, "-m", "patron", "sandbox", *args],
                cwd=self.workdir,
                env={**base, **(env or {})},
                stdout=subprocess.PIPE,
                # Unbuffered: `select` then sees every line still unread.
                bufsize=0,
                stderr=stderr,
                start_new_session=True,
            )

    def start(self, *args: str, env: dict[str, str] | None = None, last: str = "export PATRON_ADMIN_TOKEN=") -> Sandbox:
        """A sandbox that has printed its `last` line (with `--print-env`: all of them)."""
        process = self.run(*args, env=env)
        sandbox = Sandbox(process, [], self.workdir / f"sandbox-{len(self.started)}.log")
        self.started.append(sandbox)
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while not sandbox.lines or not sandbox.lines[-1].startswith(last):
            ready, _, _ = select.select([process.stdout], [], [], max(deadline - time.monotonic(), 0))
            line = process.stdout.readline().decode() if ready else ""
            if not line:
                raise AssertionError(f"the sandbox printed no {last!r}: {sandbox.stderr.read_text()}")
            sandbox.lines.append(line)
        return sandbox

    def close(self) -> None:
        for sandbox in self.started:
            if sandbox.process.poll() is None:
                # SIGTERM, so it stops its worker; SIGKILL to the group (its own session) if not.
                sandbox.process.terminate()
                try:
                    sandbox.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(sandbox.process.pid, signal.SIGKILL)
                    sandbox.process.wait()
            if sandbox.process.stdout is not None:
                sandbox.process.stdout.close()


@pytest.fixture
def starter(tmp_path: Path) -> Iterator[Starter]:
    started = Starter(tmp_path)
    yield started
    started.close()


def customers(env: dict[str, str]) -> httpx.Response:
    auth = (env["SEQUENCE_CLIENT_ID"], env["SEQUENCE_CLIENT_SECRET"])
    return httpx.get(f"{env['SEQUENCE_BASE_URL']}/customers", auth=auth, headers={"Sequence-Version": "2024-07-30"})


def operator(env: dict[str, str]) -> httpx.Client:
    headers = {"Authorization": f"Bearer {env['PATRON_ADMIN_TOKEN']}"}
    return httpx.Client(base_url=env["PATRON_ADMIN_URL"], headers=headers)


class TestPrintEnv:
    def test_prints_only_export_lines_a_shell_can_source(self, starter: Starter) -> None:
        sandbox = starter.start("--print-env")
        assert [line.split("=")[0] for line in sandbox.lines] == [f"export {name}" for name in NAMES]
        env = sandbox.env()
        assert env["SEQUENCE_BASE_URL"].startswith("http://127.0.0.1:")
        assert env["SEQUENCE_BASE_URL"].endswith("/api")
        assert env["PATRON_ADMIN_URL"] == env["SEQUENCE_BASE_URL"].removesuffix("/api") + "/_patron"

    def test_its_credentials_work_on_the_api(self, starter: Starter) -> None:
        env = starter.start("--print-env").env()
        answer = customers(env)
        assert answer.status_code == 200
        assert answer.json()["pagination"]["totalResultSize"] == 0

    def test_the_admin_token_opens_the_control_plane(self, starter: Starter) -> None:
        env = starter.start("--print-env").env()
        assert httpx.get(f"{env['PATRON_ADMIN_URL']}/accounts").status_code == 401
        with operator(env) as control:
            created = control.post("/accounts", json={"name": "second"})
        assert created.status_code == 201

    def test_each_sandbox_has_a_fresh_token_and_random_credentials(self, starter: Starter) -> None:
        first, second = starter.start("--print-env").env(), starter.start("--print-env").env()
        for name in ("SEQUENCE_CLIENT_ID", "SEQUENCE_CLIENT_SECRET", "PATRON_ADMIN_TOKEN"):
            assert first[name] != second[name]
        assert len(first["PATRON_ADMIN_TOKEN"]) >= 32

    def test_chosen_credentials_come_from_the_environment(self, starter: Starter) -> None:
        chosen = {"PATRON_SANDBOX_CLIENT_ID": "ci-sync", "PATRON_SANDBOX_CLIENT_SECRET": AWKWARD_SECRET}
        env = starter.start("--print-env", env=chosen).env()
        assert (env["SEQUENCE_CLIENT_ID"], env["SEQUENCE_CLIENT_SECRET"]) == ("ci-sync", AWKWARD_SECRET)
        assert customers(env).status_code == 200

    def test_a_chosen_client_id_the_rules_refuse_is_named(self, starter: Starter) -> None:
        process = starter.run("--print-env", env={"PATRON_SANDBOX_CLIENT_ID": "no spaces"})
        assert process.wait(timeout=60) == 1
        assert "PATRON_SANDBOX_CLIENT_ID" in (starter.workdir / "sandbox-0.log").read_text()


class TestSummary:
    def test_without_print_env_it_says_where_it_is_and_how_long_it_took(self, starter: Starter) -> None:
        sandbox = starter.start(last="Ctrl-C stops it.")
        text = "".join(sandbox.lines)
        assert "ready in" in text
        assert "/api" in text
        assert "curl -u " in text
        assert "rate limits    off" in text


class TestLifetime:
    @pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
    def test_the_temporary_database_is_removed_on_exit(self, starter: Starter, signum: int) -> None:
        sandbox = starter.start("--print-env")
        [directory] = starter.tmpdir.iterdir()
        assert (directory / "sandbox.db").exists()
        assert sandbox.stop(signum) == 0
        assert list(starter.tmpdir.iterdir()) == []
        # Its worker is gone too: nothing is left in its process group.
        with pytest.raises(ProcessLookupError):
            os.killpg(sandbox.process.pid, 0)
        # Nothing in the working directory either (no key file, no database).
        assert sorted(p.name for p in starter.workdir.iterdir()) == ["sandbox-0.log", "tmp"]

    def test_a_given_database_is_kept_and_chosen_credentials_reused(self, starter: Starter, database_url: str) -> None:
        chosen = {
            "PATRON_SANDBOX_CLIENT_ID": "ci-sync",
            "PATRON_SANDBOX_CLIENT_SECRET": "fixed-secret",
            "PATRON_SECRET_KEY": SECRET_KEY,
        }
        first = starter.start("--print-env", "--database", database_url, env=chosen)
        before = first.env()
        assert first.stop() == 0
        after = starter.start("--print-env", "--database", database_url, env=chosen).env()
        assert after["PATRON_ACCOUNT_ID"] == before["PATRON_ACCOUNT_ID"]
        assert customers(after).status_code == 200


class TestRateLimits:
    def test_off_by_default(self, starter: Starter) -> None:
        env = starter.start("--print-env").env()
        # Sequence's default is 100 a minute per credential.
        statuses = {customers(env).status_code for _ in range(105)}
        assert statuses == {200}

    def test_the_environment_can_set_one(self, starter: Starter) -> None:
        env = starter.start("--print-env", env={"PATRON_RATE_LIMIT": "2/minute"}).env()
        statuses = [customers(env).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]


class TestSeed:
    FIXTURE = """\
customers:
  - legalName: Acme Norge AS
    customerAliases: [crm-1]
    createdAt: 2030-01-01T00:00:00.000Z
    address: {line1: Storgata 1, town: Oslo, postcode: "0155", country: NO}
    taxStatus: TAXED
    contacts: [{name: Kari, email: kari@acme.example, billingPreference: PRIMARY}]
"""

    def test_a_yaml_fixture_is_loaded_into_the_account(self, starter: Starter) -> None:
        (starter.workdir / "fixture.yaml").write_text(self.FIXTURE)
        env = starter.start("--print-env", "--seed", "fixture.yaml").env()
        [customer] = customers(env).json()["items"]
        assert customer["legalName"] == "Acme Norge AS"
        assert customer["address"]["country"] == "NO"
        assert customer["createdAt"] == "2030-01-01T00:00:00.000Z"

    def test_the_summary_says_how_many_were_loaded(self, starter: Starter) -> None:
        (starter.workdir / "fixture.yaml").write_text(self.FIXTURE)
        sandbox = starter.start("--seed", "fixture.yaml", last="Ctrl-C stops it.")
        assert "seeded         1 customer from the fixture" in "".join(sandbox.lines)

    def test_a_fixture_the_api_refuses_stops_it_naming_the_field(self, starter: Starter) -> None:
        (starter.workdir / "fixture.yaml").write_text(self.FIXTURE.replace("taxStatus: TAXED", "taxStatus: OFTEN"))
        process = starter.run("--print-env", "--seed", "fixture.yaml")
        assert process.wait(timeout=60) == 1
        assert "taxStatus" in (starter.workdir / "sandbox-0.log").read_text()
        assert list(starter.tmpdir.iterdir()) == []

    def test_an_unreadable_fixture_stops_it_before_it_starts(self, starter: Starter) -> None:
        process = starter.run("--print-env", "--seed", "missing.json")
        assert process.wait(timeout=60) == 1
        assert "--seed" in (starter.workdir / "sandbox-0.log").read_text()
        assert list(starter.tmpdir.iterdir()) == []


class TestIdSeed:
    def test_the_same_seed_mints_the_same_ids_on_a_frozen_clock(self, starter: Starter) -> None:
        made = []
        for _ in range(2):
            env = starter.start("--print-env", "--id-seed", "7").env()
            with operator(env) as control:
                frozen = control.put(
                    f"/accounts/{env['PATRON_ACCOUNT_ID']}/clock", json={"frozenTime": "2030-01-01T00:00:00.000Z"}
                )
                assert frozen.status_code == 200
            made.append(create_customer(env)["id"])
            assert starter.started[-1].stop() == 0
        assert made[0] == made[1]


def create_customer(env: dict[str, str]) -> dict[str, object]:
    body = {
        "legalName": "Acme",
        "address": {"line1": "1 Main St", "town": "Springfield", "postcode": "62701", "country": "US", "state": "IL"},
        "taxStatus": "TAXED",
        "contacts": [{"name": "Bob", "email": "bob@acme.example", "billingPreference": "PRIMARY"}],
    }
    auth = (env["SEQUENCE_CLIENT_ID"], env["SEQUENCE_CLIENT_SECRET"])
    answer = httpx.post(
        f"{env['SEQUENCE_BASE_URL']}/customers", json=body, auth=auth, headers={"Sequence-Version": "2024-07-30"}
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, object] = answer.json()
    return created
