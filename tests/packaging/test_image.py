"""The container image (Containerfile, scripts/build-image.sh): built here with podman from
the wheel, run as a newcomer would run it, answering the README's curl walk-through, and
stopped by SIGTERM within a second (granian is PID 1 and handles it)."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.packaging.walkthrough import credentials, free_port, wait_for_port, walk

ROOT = Path(__file__).resolve().parents[2]
VERSION = re.search(r'^__version__ = "([^"]+)"$', (ROOT / "src/patron/__init__.py").read_text(), re.M)
STOP_WITHIN_S = 1.0


def podman(*args: str, timeout: float = 60) -> str:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"podman {' '.join(args)}: exit {done.returncode}\n{done.stdout}{done.stderr}"
    return done.stdout.strip()


@pytest.fixture(scope="session")
def image() -> str:
    """localhost/patron:<version>, built by the script `make image` runs (it installs podman
    and builds the Debian base when they are missing, so a clean clone is enough)."""
    if shutil.which("podman") is None and os.geteuid() != 0:
        pytest.skip("needs podman, or root to install it (scripts/build-image.sh)")
    assert VERSION is not None
    if not (ROOT / f"dist/patron-{VERSION[1]}-py3-none-any.whl").exists():
        subprocess.run(["make", "--no-print-directory", "dist"], cwd=ROOT, check=True, timeout=600)
    subprocess.run([str(ROOT / "scripts/build-image.sh")], cwd=ROOT, check=True, timeout=1200)
    return f"localhost/patron:{VERSION[1]}"


@pytest.fixture
def volume() -> Iterator[str]:
    name = f"patron-test-{os.getpid()}-{free_port()}"
    podman("volume", "create", name)
    try:
        yield name
    finally:
        subprocess.run(["podman", "volume", "rm", "-f", name], capture_output=True, timeout=60)


def start(image: str, *args: str) -> tuple[str, int]:
    """A detached container of `image` published on a free loopback port."""
    port = free_port()
    container = podman("run", "-d", "-p", f"127.0.0.1:{port}:8000", *args, image)
    return container, port


def wait_until_live(container: str, port: int, timeout_s: float = 60.0) -> str:
    """The container's output once /livez answers (podman holds the host port open before
    the server listens, so an open port alone says nothing)."""
    wait_for_port(port, timeout_s)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2) as answer:
                if answer.status == 200:
                    return podman("logs", container) + "\n" + _stderr_logs(container)
        except OSError:
            pass
        state = podman("inspect", "--format", "{{.State.Status}}", container)
        assert state == "running", f"container {state}:\n{_stderr_logs(container)}"
        assert time.monotonic() < deadline, f"/livez not answering after {timeout_s} s"
        time.sleep(0.2)


def _stderr_logs(container: str) -> str:
    return subprocess.run(["podman", "logs", container], capture_output=True, text=True, timeout=60).stderr


def remove(container: str) -> None:
    subprocess.run(["podman", "rm", "-f", "-v", container], capture_output=True, timeout=60)


def stop_duration(container: str) -> tuple[float, int]:
    """SIGTERM the container: how long until it had exited (by podman's record of when it
    finished), and its exit code."""
    sent = datetime.now(UTC)
    podman("kill", "--signal", "TERM", container)
    deadline = time.monotonic() + 15
    while podman("inspect", "--format", "{{.State.Running}}", container) == "true":
        assert time.monotonic() < deadline, "still running 15 s after SIGTERM"
        time.sleep(0.05)
    finished, code = podman("inspect", "--format", "{{.State.FinishedAt}}|{{.State.ExitCode}}", container).split("|")
    # "2026-12-03 16:19:06.521163317 +0000 UTC": microseconds are enough.
    stamp = re.sub(r"(\.\d{6})\d*", r"\1", finished.removesuffix(" UTC"))
    return (datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f %z") - sent).total_seconds(), int(code)


def test_the_image_serves_the_walkthrough_and_stops_on_sigterm(image: str) -> None:
    container, port = start(image)
    try:
        printed = wait_until_live(container, port)
        walk(f"http://127.0.0.1:{port}/api", credentials(printed))

        assert podman("exec", container, "id", "-u") == "10001", "the server runs as root"
        assert {"patron.db", "patron.key"} <= set(podman("exec", container, "ls", "/data").split())
        podman("healthcheck", "run", container)

        took, code = stop_duration(container)
        assert code == 0, f"exit {code} on SIGTERM (0: granian shut down cleanly)"
        assert took < STOP_WITHIN_S, f"exited {took:.2f} s after SIGTERM"
    finally:
        remove(container)


def test_the_data_volume_keeps_the_account_across_containers(image: str, volume: str) -> None:
    first, port = start(image, "-v", f"{volume}:/data")
    try:
        auth = credentials(wait_until_live(first, port))
    finally:
        remove(first)
    second, port = start(image, "-v", f"{volume}:/data")
    try:
        printed = wait_until_live(second, port)
        assert "client secret" not in printed, "a second sandbox account on a kept volume"
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/customers")
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
    finally:
        remove(second)
