"""The README's curl walk-through, run as written against a patron started some other way
(an installed wheel, the zipapp, the container image): the packaging tests' one check that
what a newcomer copies from the README works. `section_blocks` reads any document's shell
blocks the same way (docs/ci.md's step is run verbatim too)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"
_HEADING = re.compile(r"^(#+) ")
_CREDENTIAL = re.compile(r"^\s*client (id|secret)\s+(\S+)\s*$", re.M)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def section_blocks(document: Path, heading: str, language: str = "sh") -> list[str]:
    """The ```` ```language ```` blocks under `heading` (a whole line, `## A walk-through with
    curl`) up to the next heading of its level or above; `#` lines inside code blocks are code."""
    level = len(heading) - len(heading.lstrip("#"))
    found: list[str] = []
    inside, fence, block = False, None, list[str]()
    for line in document.read_text().splitlines(keepends=True):
        if fence is None and line.rstrip("\n") == heading:
            inside = True
        elif fence is None and (match := _HEADING.match(line)) and inside and len(match.group(1)) <= level:
            break
        elif line.startswith("```"):
            if fence is None:
                fence, block = line[3:].strip(), list[str]()
            else:
                if inside and fence == language:
                    found.append("".join(block))
                fence = None
        elif fence is not None:
            block.append(line)
    assert inside, f"{document.name} has no {heading!r} section"
    return found


def blocks() -> list[str]:
    """The walk-through's shell blocks after the first (which only sets AUTH and API)."""
    found = section_blocks(README, "## A walk-through with curl")
    assert found, "the walk-through has no shell blocks"
    assert "export AUTH" in found[0], "the walk-through starts by setting AUTH and API"
    return found[1:]


def credentials(printed: str) -> tuple[str, str]:
    """The client id and secret `patron serve` prints when it creates the sandbox account."""
    found = dict(_CREDENTIAL.findall(printed))
    assert {"id", "secret"} <= found.keys(), f"no credentials in the server's output:\n{printed}"
    return found["id"], found["secret"]


def wait_until_printed(log: Path, text: str, timeout_s: float = 60.0) -> str:
    """The log's text once it contains `text` (the server announcing it serves)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        printed = log.read_text(errors="replace") if log.exists() else ""
        if text in printed:
            return printed
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not printed within {timeout_s} s:\n{printed}")


def wait_for_port(port: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


def _documents(output: str) -> list[Any]:
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(output):
        document, at = decoder.raw_decode(output, at)
        found.append(document)
        while at < len(output) and output[at].isspace():
            at += 1
    return found


def _run(block: str, api: str, auth: tuple[str, str]) -> list[Any]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "API": api, "AUTH": ":".join(auth)}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"{block}\nexit {done.returncode}: {done.stderr}"
    return _documents(done.stdout)


def walk(api: str, auth: tuple[str, str]) -> None:
    """Every block of the walk-through, in order, with what the README says it answers."""
    created, listed, by_alias = (_run(block, api, auth) for block in blocks())
    assert [(c["legalName"], c["status"], c["domain"]) for c in created] == [("Acme Ltd", "ACTIVE", "acme.test")]
    customer_id = created[0]["id"]
    assert len(listed) == 3, listed
    assert all([item["id"] for item in page["items"]] == [customer_id] for page in listed), listed
    assert all(page["pagination"]["totalResultSize"] == 1 for page in listed), listed
    assert [(c["id"], c["email"]) for c in by_alias] == [(customer_id, "ada@acme.test")]
