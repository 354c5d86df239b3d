"""The `patron` console script. The core wheel (the client) installs it too, since a script
cannot depend on an extra: without the server extra it says so in one line, not a traceback."""

from __future__ import annotations

import re
import sys
from importlib import metadata

MISSING_SERVER = 'patron\'s server and CLI need the server extra: pip install "patron[server]"'

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def missing_server_requirements() -> list[str]:
    """The server extra's distributions this environment lacks (none when patron's own
    metadata is not installed: a source checkout on sys.path says nothing about extras)."""
    try:
        requirements = metadata.requires("patron") or []
    except metadata.PackageNotFoundError:
        return []
    missing = []
    for requirement in requirements:
        spec, _, marker = requirement.partition(";")
        found = _NAME.match(spec.strip())
        if found is None or not re.search(r"""extra\s*==\s*["']server["']""", marker):
            continue
        try:
            metadata.distribution(found.group())
        except metadata.PackageNotFoundError:
            missing.append(found.group())
    return missing


def main() -> None:
    try:
        from patron.cli.main import main as cli
    except ModuleNotFoundError as exc:
        # Only a missing third-party module of an incomplete install; a bug in patron's own
        # modules keeps its traceback.
        if (exc.name or "").partition(".")[0] == "patron" or not missing_server_requirements():
            raise
        print(MISSING_SERVER, file=sys.stderr)
        raise SystemExit(2) from None
    cli()
