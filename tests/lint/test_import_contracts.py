"""The import contracts bite: each forbidden import, added to a copy of the source,
breaks the contract that names it (and the real tree keeps them all)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")

# (module to change, the import added to it, the contract that must break)
FORBIDDEN = [
    ("patron/client/_client.py", "import sqlalchemy", "the client speaks HTTP: no server, no storage"),
    ("patron/client/_client.py", "import patron.server.errors", "the client speaks HTTP: no server, no storage"),
    ("patron/wire/models.py", "import patron.client", "wire is the contract: it imports nothing else of patron"),
    ("patron/server/customers/bulk.py", "import litestar", "only the HTTP edge imports Litestar: routes, web, app"),
    (
        "patron/server/aliases/service.py",
        "from patron.server.customers.repository import records",
        "resources meet only through a named service",
    ),
    ("patron/server/directory/service.py", "import patron.server.customers.service", "no package-level cycles"),
    ("patron/cli/transfer.py", "import patron.server.app", "the CLI never loads the web app"),
    ("patron/wire/models.py", "import granian", "the core (pip install patron)"),
]


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("contracts")
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "pyproject.toml", tree)
    return tree


def test_the_tree_keeps_every_contract(pristine: Path) -> None:
    result = lint(pristine)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(("module", "statement", "contract"), FORBIDDEN, ids=[f[1] for f in FORBIDDEN])
def test_a_forbidden_import_breaks_its_contract(
    pristine: Path, tmp_path: Path, module: str, statement: str, contract: str
) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(pristine, tree)
    target = tree / "src" / module
    target.write_text(target.read_text() + f"\n{statement}  # noqa\n")
    result = lint(tree)
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if " BROKEN" in line]
    assert any(contract in line for line in broken), result.stdout
