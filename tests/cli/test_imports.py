"""What the `patron` command loads: every command pays for its imports before it starts."""

from __future__ import annotations

import subprocess
import sys

import pytest


def loads(module: str, other: str) -> bool:
    """Whether importing `module` in a fresh interpreter also imports `other`."""
    probe = f"import {module}, sys; print({other!r} in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return result.stdout.strip() == "True"


def test_the_command_does_not_load_the_web_framework() -> None:
    assert not loads("patron.cli.main", "litestar")


@pytest.mark.parametrize("terminal", ["typer", "rich"])
def test_the_file_formats_know_nothing_of_the_terminal(terminal: str) -> None:
    assert not loads("patron.cli.formats", terminal)
