"""Hostile input that needs a real socket, against a real `patron serve`: bodies cut short,
raw invalid bytes, half-sent headers (docs/limits.md). Every answer a 4xx or a closed
connection; the server's log holds one line per body cut short and no traceback."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from patron.cli.main import HEADER_TIMEOUT_MS
from patron.server.web.guard import TRUNCATED
from tests.system.conftest import create_account_cli, start_server, stop_server


@dataclass
class Served:
    port: int
    process: subprocess.Popen[bytes]
    authorization: bytes
    log_path: Path

    def log(self) -> str:
        """The server's whole output (start_server writes it to a file); stops it."""
        stop_server(self.process)
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    client_id, secret = create_account_cli(database_url, tmp_path)
    process, port = start_server(database_url, tmp_path)
    token = base64.b64encode(f"{client_id}:{secret}".encode())
    try:
        yield Served(port, process, b"Authorization: Basic " + token + b"\r\n", tmp_path / f"server-{port}.log")
    finally:
        stop_server(process)


def exchange(served: Served, data: bytes, *, half_close: bool = False, timeout: float = 15.0) -> bytes:
    """Send raw bytes, read until the server closes (bounded by `timeout`)."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def request(served: Served, method: bytes, target: bytes, body: bytes = b"", length: int | None = None) -> bytes:
    size = len(body) if length is None else length
    head = b"%s %s HTTP/1.1\r\nHost: patron\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n" % (
        method,
        target,
        served.authorization,
        size,
    )
    return head + b"Connection: close\r\n\r\n" + body


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def error_of(response: bytes) -> dict[str, str]:
    found: dict[str, str] = json.loads(response.partition(b"\r\n\r\n")[2])["error"]
    return found


RAW_BODIES = {
    "invalid UTF-8 in a string": b'{"legalName": "\xff\xfe"}',
    "invalid UTF-8 outside strings": b"{\xc3}",
    "UTF-8-encoded surrogate": b'{"legalName": "\xed\xa0\x80"}',
    "nested 10,000 deep": b"[" * 10_000 + b"]" * 10_000,
    "raw NUL": b'{"legalName": "a\x00b"}',
}


def test_raw_hostile_bodies_and_targets_are_4xx_with_no_traceback(served: Served) -> None:
    for label, body in RAW_BODIES.items():
        answer = exchange(served, request(served, b"POST", b"/api/customers", body))
        assert status(answer) == 400, (label, answer[:300])
        assert error_of(answer)["type"] == "ValidationError"
    for target in (
        b"/api/customers/%00",
        b"/api/customers/%ff",
        b"/api/customers?legalName=%00",
        b"/api/customers/a\x01b",
    ):
        answer = exchange(served, request(served, b"GET", target))
        assert status(answer) == 400, (target, answer[:300])
    assert "Traceback" not in served.log()


# Broken framing: (extra headers, body, half-close) -> the status.
FRAMING = {
    "a malformed chunk": (b"Transfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n0\r\n\r\n", False, 400),
    "a chunk cut short": (b"Transfer-Encoding: chunked\r\n", b"10\r\nabc", True, 400),
    "Content-Length over 1 MiB": (b"Content-Length: 5000000\r\n", b"{", True, 413),
    "Content-Length not a number": (b"Content-Length: abc\r\n", b"{}", False, 400),
    "two Content-Lengths": (b"Content-Length: 2\r\nContent-Length: 3\r\n", b"{}", False, 400),
    "Content-Length and chunked": (
        b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
        b"2\r\n{}\r\n0\r\n\r\n",
        False,
        400,
    ),
}


def test_broken_framing_is_4xx_with_no_traceback(served: Served) -> None:
    for label, (headers, body, half_close, expected) in FRAMING.items():
        head = (
            b"POST /api/customers HTTP/1.1\r\nHost: patron\r\n%sContent-Type: application/json\r\n"
            % served.authorization
        )
        answer = exchange(served, head + headers + b"Connection: close\r\n\r\n" + body, half_close=half_close)
        assert status(answer) == expected, (label, answer[:300])
    assert "Traceback" not in served.log()


def test_a_body_cut_short_is_400_and_one_log_line(served: Served) -> None:
    cut = request(served, b"POST", b"/api/customers", b'{"legalName": "Acme', length=1000)
    answer = exchange(served, cut, half_close=True)
    assert status(answer) == 400
    assert error_of(answer)["message"] == TRUNCATED
    log = served.log()
    assert log.count(TRUNCATED) == 1, log
    assert "Traceback" not in log


def test_half_sent_headers_are_dropped(served: Served) -> None:
    # Closed by the server with no answer; past the bound the socket's timeout fails the test.
    answer = exchange(served, b"GET /api/customers HTTP/1.1\r\nHost: patron\r\n", timeout=HEADER_TIMEOUT_MS / 1000 + 10)
    assert answer == b""
