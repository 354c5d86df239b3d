"""Finding or starting a patron sandbox for tests: the one the environment names
(`PATRON_ADMIN_URL` and `PATRON_ADMIN_TOKEN`, as `patron sandbox --print-env` prints them),
or a `patron sandbox --print-env` subprocess of our own."""

from __future__ import annotations

import os
import queue
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO

READY_TIMEOUT = 60.0
"""Seconds a sandbox subprocess gets to answer (it needs about one; a loaded CI machine more)."""
STOP_TIMEOUT = 10.0
_NEEDED = ("PATRON_ADMIN_URL", "PATRON_ADMIN_TOKEN", "SEQUENCE_BASE_URL")


class SandboxError(RuntimeError):
    """The sandbox did not start; the message holds what it wrote on stderr."""


@dataclass(frozen=True)
class Sandbox:
    """A running sandbox: the Sequence API's base URL (`.../api`), the control plane's
    (`.../_patron`) and its admin token."""

    base_url: str
    admin_url: str
    admin_token: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Sandbox | None:
        """The sandbox `PATRON_ADMIN_URL` and `PATRON_ADMIN_TOKEN` name, if both are set. Its
        API is derived from the admin URL: accounts made there only exist on that server."""
        admin_url, token = env.get("PATRON_ADMIN_URL", "").rstrip("/"), env.get("PATRON_ADMIN_TOKEN", "")
        if not admin_url or not token:
            return None
        root = admin_url.removesuffix("/_patron")
        return cls(base_url=f"{root}/api", admin_url=admin_url, admin_token=token)


def parse_env(text: str) -> dict[str, str]:
    """`export NAME=value` lines (shell-quoted, as `--print-env` writes them) -> {NAME: value}."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["export"]:
            words = words[1:]
        if len(words) == 1 and "=" in words[0]:
            name, _, value = words[0].partition("=")
            found[name] = value
    return found


class SandboxProcess:
    """`patron sandbox --print-env` (and `args`) as a subprocess of this Python; `stop()` ends
    it, and its temporary database with it. Its stderr goes to a temporary file (a pipe no one
    reads would fill and stall it), shown when it fails to start."""

    def __init__(self, args: Sequence[str] = (), *, timeout: float = READY_TIMEOUT) -> None:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process; `stop()` closes it)
        command = [sys.executable, "-m", "patron", "sandbox", "--print-env", "--port", "0", *args]
        self._process = subprocess.Popen(  # noqa: S603 (our own interpreter running patron)
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            # Its own process group: if it will not stop, its worker is killed with it.
            start_new_session=True,
        )
        try:
            self.sandbox = self._wait(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait(self, timeout: float) -> Sandbox:
        assert self._process.stdout is not None
        lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=_pump, args=(self._process.stdout, lines), daemon=True).start()
        found: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while not all(name in found for name in _NEEDED):
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                raise SandboxError(self._failure(f"did not answer within {timeout:g} s")) from None
            if line is None:
                raise SandboxError(self._failure(f"exited with code {self._process.wait()}"))
            found.update(parse_env(line.decode()))
        sandbox = Sandbox.from_env(found)
        assert sandbox is not None
        return sandbox

    def _failure(self, what: str) -> str:
        self._log.seek(0)
        stderr = self._log.read().decode(errors="replace").strip()
        return f"patron sandbox {what}; its stderr:\n{stderr[-4000:] or '(empty)'}"

    def stop(self) -> None:
        """SIGTERM (it removes its temporary database); SIGKILL to it and its worker if it is
        still there after `STOP_TIMEOUT` seconds."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._log.close()


def _pump(stream: IO[bytes], lines: queue.Queue[bytes | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)
