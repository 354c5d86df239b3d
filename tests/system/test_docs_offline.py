"""The docs page in a real browser with the network cut: Debian's Chromium, headless, and a
real `patron serve`, both in a network namespace that holds only loopback (no route, no
DNS: a file from a CDN cannot load), must render every operation of /api/openapi.json."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import shutil
import socket
import struct
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.system.conftest import start_server, stop_server

_CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
_IFREQ = "16sH22x"
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def chromium() -> str:
    """Debian's Chromium; `make test` installs it (`make chromium`), so only a run outside
    make on a machine without it skips, and never under CI."""
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: `make chromium` must run before the tests in CI")
        pytest.skip("chromium is not installed: `make chromium` (apt-get install chromium) installs it")
    return found


@contextmanager
def loopback_only() -> Iterator[None]:
    """Move this thread into a new network namespace with only `lo`, up; every process it
    starts meanwhile (the server, the browser) lives there for good. Back home on exit.
    A thread's namespace is its own: pytest-xdist's other threads keep the real network."""
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        if libc.unshare(_CLONE_NEWNET) != 0:
            pytest.fail(f"no network namespace (needs root): {os.strerror(ctypes.get_errno())}")
        try:
            _loopback_up()
            yield
        finally:
            if libc.setns(home, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "could not return to the host's network namespace")
    finally:
        os.close(home)


def _loopback_up() -> None:
    # `ip link set lo up` without needing iproute2: SIOCSIFFLAGS on a socket of the namespace.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        current = fcntl.ioctl(sock, _SIOCGIFFLAGS, struct.pack(_IFREQ, b"lo", 0))
        flags = struct.unpack(_IFREQ, current)[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | _IFF_UP))


def render(browser: str, url: str, workdir: Path) -> tuple[str, set[str]]:
    """The page's DOM once its scripts have run (virtual time: no waiting on a clock), and
    every URL the page asked for, from Chromium's NetLog."""
    net_log = workdir / "net-log.json"
    arguments = [browser, "--headless", "--disable-gpu", "--no-first-run", f"--user-data-dir={workdir / 'chromium'}"]
    if os.geteuid() == 0:
        arguments.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    arguments += [f"--log-net-log={net_log}", "--virtual-time-budget=15000", "--dump-dom", url]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(workdir)}
    result = subprocess.run(arguments, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, requested_by(json.loads(net_log.read_text()), "http://127.0.0.1")


def requested_by(net_log: dict[str, Any], site: str) -> set[str]:
    """The URLs requests started for pages of `site`: their network isolation key names it
    as the top frame's site, whatever host they went to. Chromium's own background requests
    (its clock, spelling dictionaries) carry another key."""
    start = net_log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    starts = [event.get("params", {}) for event in net_log["events"] if event["type"] == start]
    return {params["url"] for params in starts if params.get("network_isolation_key", "").startswith(f"{site} ")}


class RenderedOperations(HTMLParser):
    """Each operation block Swagger UI rendered: its method, path and summary."""

    def __init__(self) -> None:
        super().__init__()
        self.methods: list[str] = []
        self.paths: list[str] = []
        self.summaries: list[str] = []
        self._summary_next = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "div" and "opblock" in classes:
            self.methods += [c.removeprefix("opblock-") for c in classes if c.removeprefix("opblock-") in _METHODS]
        if "opblock-summary-path" in classes:
            self.paths.append(attributes.get("data-path") or "")
        self._summary_next = "opblock-summary-description" in classes

    def handle_data(self, data: str) -> None:
        if self._summary_next:
            self.summaries.append(data)
            self._summary_next = False

    @classmethod
    def of(cls, dom: str) -> list[tuple[str, str, str]]:
        parser = cls()
        parser.feed(dom)
        return sorted(zip(parser.methods, parser.paths, parser.summaries, strict=True))


def documented(document: dict[str, dict[str, dict[str, dict[str, str]]]]) -> list[tuple[str, str, str]]:
    return sorted(
        (method, path, operation["summary"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in _METHODS
    )


def test_the_docs_page_lists_every_operation_with_no_network(tmp_path: Path) -> None:
    browser = chromium()
    # SQLite whatever the suite's backend: a PostgreSQL server on the host's loopback is
    # out of reach from the namespace, and the page reads no data.
    with loopback_only():
        # The cut is real: no route to anywhere (192.0.2.1 is documentation's, unrouted).
        with pytest.raises(OSError, match=os.strerror(errno.ENETUNREACH)):
            socket.create_connection(("192.0.2.1", 80), timeout=5)
        process, port = start_server(f"sqlite:///{tmp_path / 'docs.db'}", tmp_path)
        try:
            document = httpx.get(f"http://127.0.0.1:{port}/api/openapi.json").json()
            dom, requested = render(browser, f"http://127.0.0.1:{port}/api/docs/", tmp_path)
        finally:
            stop_server(process)
    operations = documented(document)
    assert ("get", "/api/customers/by-alias/{alias}", "Get customer by alias") in operations
    assert "List customers" in {summary for _, _, summary in operations}
    assert RenderedOperations.of(dom) == operations
    origin = f"http://127.0.0.1:{port}/"
    assert f"{origin}api/openapi.json" in requested
    assert {url for url in requested if not url.startswith(origin)} == set()
