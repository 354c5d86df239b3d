"""The rate limit of `patron serve --workers 2` holds for the credential as a whole: the
workers count in one storage (the SQLite file `serve` sets up, or a real Redis)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis

from tests.system.conftest import create_account_cli, free_port, start_server, stop_server

NO_PERSISTENCE = ("--save", "", "--appendonly", "no", "--daemonize", "no")
LIMIT = 20
SENT = 60


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port (`make redis` installs it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: `make redis` (Debian package redis-server)")
    port = free_port()
    directory = tmp_path / "redis"
    directory.mkdir()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), *NO_PERSISTENCE],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def hammer(base: str, auth: tuple[str, str]) -> list[int]:
    """SENT requests from 8 threads, each on a new connection (so both workers get some)."""

    def one(_: int) -> int:
        with httpx.Client(auth=auth, timeout=30) as client:
            return client.get(f"{base}/api/customers").status_code

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(SENT)))


def workers_that_answered(log: Path) -> set[int]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return {line["pid"] for line in lines if line["route"] == "/api/customers"}


def run(database_url: str, workdir: Path, env: dict[str, str]) -> tuple[list[int], set[int]]:
    auth = create_account_cli(database_url, workdir)
    process, port = start_server(database_url, workdir, workers=2, env={"PATRON_RATE_LIMIT": f"{LIMIT}/minute", **env})
    try:
        statuses = hammer(f"http://127.0.0.1:{port}", auth)
    finally:
        stop_server(process)
    return statuses, workers_that_answered(workdir / f"server-{port}.log")


def test_two_workers_share_one_allowance(database_url: str, tmp_path: Path) -> None:
    statuses, pids = run(database_url, tmp_path, {})
    assert len(pids) == 2, "both workers must have answered for the test to mean anything"
    assert statuses.count(200) == LIMIT
    assert statuses.count(429) == SENT - LIMIT


def test_two_workers_share_one_allowance_in_redis(database_url: str, tmp_path: Path, redis_url: str) -> None:
    statuses, pids = run(database_url, tmp_path, {"PATRON_RATE_LIMIT_STORAGE": redis_url})
    assert len(pids) == 2
    assert statuses.count(200) == LIMIT
    assert statuses.count(429) == SENT - LIMIT
    with redis.Redis.from_url(redis_url) as client:
        assert client.keys("*LIMITER/requests/*"), "the counts must be in Redis"


def test_redis_gone_answers_503_not_500(database_url: str, tmp_path: Path) -> None:
    auth = create_account_cli(database_url, tmp_path)
    nowhere = f"redis://127.0.0.1:{free_port()}"
    process, port = start_server(
        database_url, tmp_path, env={"PATRON_RATE_LIMIT": "5/minute", "PATRON_RATE_LIMIT_STORAGE": nowhere}
    )
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/api/customers", auth=auth, timeout=30)
    finally:
        stop_server(process)
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "ServiceUnavailable"
    assert response.headers["Retry-After"] == "1"
