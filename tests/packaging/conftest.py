"""What the packaging tests build once per session (`make dist`, `make zipapp`), fresh venvs
installed from the wheel at the lock's pins, and patron started from them as a user would."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from tests.packaging import walkthrough

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
LOCK = ROOT / "requirements.lock"
ZIPAPP = ROOT / "dist" / "patron.pyz"
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
"""A PATH without the project's venv (nor pyenv's shims): what a CI machine's shell has."""


def make(*targets: str) -> None:
    done = subprocess.run(["make", "--no-print-directory", *targets], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"make {' '.join(targets)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def user_env(home: Path, *, path: str, shiv_root: Path | None = None) -> dict[str, str]:
    """A user's shell: their PATH, a home of their own, nothing of ours (no PATRON_*, no venv)."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": path,
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        # shiv unpacks the zipapp's site-packages here on its first run (default ~/.shiv).
        "SHIV_ROOT": str(shiv_root or home / ".shiv"),
    }


@pytest.fixture(scope="session")
def shiv_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One unpacking of the zipapp for the session (the first run's 5 to 10 s, paid once)."""
    return tmp_path_factory.mktemp("shiv")


@pytest.fixture(scope="session")
def wheel() -> Path:
    """`make dist`'s wheel, built once."""
    make("dist")
    wheels = sorted((ROOT / "dist").glob("patron-*-py3-none-any.whl"))
    assert len(wheels) == 1, f"make dist must leave exactly one wheel: {wheels}"
    return wheels[0]


@pytest.fixture(scope="session")
def zipapp(wheel: Path) -> Path:
    make("zipapp")
    assert ZIPAPP.is_file()
    return ZIPAPP


def fresh_venv(path: Path, wheel: Path, extras: str = "", *, also: Sequence[str] = ()) -> Path:
    """A venv without pip, the wheel installed into it by the project's pip (`pip --python`:
    no ensurepip, no second pip) with every file hash-checked: the lock as constraints (its
    hashes turn on `--require-hashes`, so the wheel's own goes in a requirements file), and
    `also`, more of the lock's packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    requirements = path.parent / "requirements.txt"
    requirements.write_text(
        "".join(f"{line}\n" for line in [f"patron{extras} @ {wheel.as_uri()} --hash=sha256:{digest}", *also])
    )
    done = subprocess.run(
        [
            str(BIN / "python"),
            "-m",
            "pip",
            "--python",
            str(path / "bin" / "python"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",  # 6 s less for the server's venv; its first start compiles what it imports
            "--constraint",
            str(LOCK),
            "--requirement",
            str(requirements),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"pip install patron{extras}: exit {done.returncode}\n{done.stderr}"
    return path


@pytest.fixture(scope="session")
def core_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install patron`: the client only."""
    return fresh_venv(tmp_path_factory.mktemp("core") / "venv", wheel)


@pytest.fixture(scope="session")
def server_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install "patron[server]"`."""
    return fresh_venv(tmp_path_factory.mktemp("server") / "venv", wheel, "[server]")


@dataclass(frozen=True)
class Served:
    """A `patron serve` of a user's: its API and the sandbox account it printed."""

    api: str
    auth: tuple[str, str]
    directory: Path
    env: dict[str, str]
    printed: str


class Serve(Protocol):
    def __call__(self, command: Sequence[str], *, path: str) -> Served: ...


@dataclass
class Process:
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM, as a CI job's end or Ctrl-C would; its process group killed if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise AssertionError(f"not stopped {timeout_s} s after SIGTERM:\n{self.log.read_text()}") from None


def start(command: Sequence[str], *, cwd: Path, env: dict[str, str]) -> Process:
    log = cwd.parent / f"{cwd.name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Process(process, log)


@pytest.fixture
def serve(tmp_path: Path, shiv_root: Path) -> Iterator[Serve]:
    """`serve(command, path=...)`: `command` (ending in `serve --port`, the port appended)
    run from a new empty directory; yields what it printed, stops it at the test's end."""
    started: list[Process] = []

    def run(command: Sequence[str], *, path: str) -> Served:
        directory = tmp_path / f"empty-{len(started)}"
        directory.mkdir()
        env = user_env(tmp_path / "home", path=path, shiv_root=shiv_root)
        port = walkthrough.free_port()
        begun = time.monotonic()
        process = start([*command, str(port)], cwd=directory, env=env)
        started.append(process)
        printed = walkthrough.wait_until_printed(process.log, "patron serving", timeout_s=120)
        walkthrough.wait_for_port(port)
        print(f"{' '.join(command[:2])}: serving after {time.monotonic() - begun:.1f} s")
        return Served(f"http://127.0.0.1:{port}/api", walkthrough.credentials(printed), directory, env, printed)

    yield run
    for process in started:
        process.stop()
