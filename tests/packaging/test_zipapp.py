"""`make zipapp`'s dist/patron.pyz on a machine with only `python3`: no venv on PATH, no
patron installed, run from an empty directory, by each CPython it is built for."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.packaging import walkthrough
from tests.packaging.conftest import SYSTEM_PATH, Serve


def interpreter(version: str) -> Path:
    """The directory of a real `python3` of this version: on PATH, else one pyenv installed
    (its shims run only the versions pyenv is told to, and need pyenv itself)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [shutil.which(f"python{version}"), *map(str, sorted(pyenv.glob(f"{version}.*/bin/python{version}")))]
    for candidate in filter(None, candidates):
        done = subprocess.run(
            [candidate, "-c", "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        executable, _, found = done.stdout.strip().partition("\n")
        if done.returncode == 0 and found == version and (Path(executable).parent / "python3").exists():
            return Path(executable).parent
    pytest.skip(f"no python{version} on this machine")


def test_runs_by_its_shebang_with_the_system_python3(zipapp: Path, serve: Serve) -> None:
    served = serve([str(zipapp), "serve", "--port"], path=SYSTEM_PATH)
    walkthrough.walk(served.api, served.auth)


@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_serves_the_walkthrough(zipapp: Path, serve: Serve, version: str) -> None:
    served = serve(["python3", str(zipapp), "serve", "--port"], path=f"{interpreter(version)}:{SYSTEM_PATH}")
    walkthrough.walk(served.api, served.auth)
