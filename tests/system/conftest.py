"""A real patron server on loopback, for tests that need real HTTP and real concurrency."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import SECRET_KEY


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    base_url: str
    auth: tuple[str, str]
    database_url: str


def start_server(
    database_url: str, workdir: Path, *, workers: int = 1, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """`patron serve` on a free loopback port, ready. Rate limits are off unless `env` sets
    them (`PATRON_RATE_LIMIT`, ...). Its output (one JSON line per request) goes to
    `workdir/server-PORT.log`, never to a pipe no one reads, which would fill and stall it."""
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "PATRON_SECRET_KEY": SECRET_KEY,
        "PATRON_BOOTSTRAP": "false",
        "PATRON_RATE_LIMIT": "0",
        "PATRON_AUTH_FAILURE_LIMIT": "0",
        **(env or {}),
    }
    log_path = workdir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "patron",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--database",
                database_url,
            ],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group, so a test can signal the server and its workers at once.
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log_path.read_text(errors="replace")
            raise RuntimeError(f"patron serve exited early:\n{output}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process, port
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("patron serve did not become ready in 30 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def create_account_cli(database_url: str, workdir: Path) -> tuple[str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "patron", "accounts", "create", "load", "--json", "--database", database_url],
        cwd=workdir,
        env={"PATH": "/usr/bin:/bin", "PATRON_SECRET_KEY": SECRET_KEY},
        capture_output=True,
        check=True,
        timeout=60,
    )
    created = json.loads(result.stdout)
    return created["clientId"], created["clientSecret"]


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    """One worker serving the test's database."""
    auth = create_account_cli(database_url, tmp_path)
    process, port = start_server(database_url, tmp_path)
    try:
        yield Server(f"http://127.0.0.1:{port}/api", auth, database_url)
    finally:
        stop_server(process)
