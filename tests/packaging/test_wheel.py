"""The wheel as a user installs it: `pip install patron` is the client alone (no Litestar, no
SQLAlchemy), `pip install "patron[server]"` serves from an empty directory with the
migrations the wheel carries, and the one client talks to the other."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

from patron._entry import MISSING_SERVER
from tests.packaging import walkthrough
from tests.packaging.conftest import ROOT, SYSTEM_PATH, Serve, fresh_venv, user_env

EXAMPLE = Path(__file__).with_name("client_example.py")


def run(command: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


class TestTheWheel:
    def test_holds_every_file_of_the_package(self, wheel: Path) -> None:
        tracked = subprocess.run(
            ["git", "ls-files", "src/patron"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        expected = {line.removeprefix("src/") for line in tracked.stdout.split()}
        shipped = set(zipfile.ZipFile(wheel).namelist())
        assert expected - shipped == set()
        assert any(name.startswith("patron/server/db/migrations/versions/2") for name in shipped)

    def test_says_apache_2_and_its_extras(self, wheel: Path) -> None:
        with zipfile.ZipFile(wheel) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            metadata = archive.read(name).decode()
        assert "License-Expression: Apache-2.0" in metadata
        assert "Provides-Extra: server" in metadata
        core = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
        assert sorted(line.split()[1].split(">")[0] for line in core) == ["httpx", "msgspec", "pyyaml"]


class TestCoreInstall:
    def test_imports_the_client_without_the_server(self, core_venv: Path, tmp_path: Path) -> None:
        script = (
            "import importlib.util, patron.client, patron.wire.models, patron.testing\n"
            "server = ('litestar', 'sqlalchemy', 'granian', 'alembic', 'typer')\n"
            "print([m for m in server if importlib.util.find_spec(m)])"
        )
        done = run(
            [str(core_venv / "bin" / "python"), "-c", script], cwd=tmp_path, env=user_env(tmp_path, path=SYSTEM_PATH)
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "[]"

    def test_patron_command_names_the_server_extra(self, core_venv: Path, tmp_path: Path) -> None:
        env = user_env(tmp_path, path=f"{core_venv / 'bin'}:{SYSTEM_PATH}")
        for command in (["patron", "serve"], ["patron"], ["python", "-m", "patron", "sandbox"]):
            done = run(command, cwd=tmp_path, env=env)
            assert (done.returncode, done.stdout, done.stderr) == (2, "", MISSING_SERVER + "\n"), command

    def test_pytest_plugin_says_its_sandbox_needs_the_server_extra(self, wheel: Path, tmp_path: Path) -> None:
        venv = fresh_venv(tmp_path / "venv", wheel, also=["pytest"])  # `pip install patron pytest`
        (tmp_path / "suite").mkdir()
        (tmp_path / "suite" / "test_sync.py").write_text("def test_it(patron_sandbox):\n    pass\n")
        env = user_env(tmp_path / "home", path=f"{venv / 'bin'}:{SYSTEM_PATH}")
        done = run(["pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path / "suite", env=env)
        assert done.returncode == 1, done.stdout + done.stderr  # an error in setup, not a crash of pytest
        assert MISSING_SERVER in done.stdout


class TestServerInstall:
    def test_serves_the_walkthrough_from_an_empty_directory(self, server_venv: Path, serve: Serve) -> None:
        served = serve(["patron", "serve", "--port"], path=f"{server_venv / 'bin'}:{SYSTEM_PATH}")
        walkthrough.walk(served.api, served.auth)
        assert {"patron.db", "patron.key"} <= {p.name for p in served.directory.iterdir()}  # its own, where it ran

    def test_core_client_talks_to_it(self, server_venv: Path, core_venv: Path, serve: Serve, tmp_path: Path) -> None:
        served = serve(["patron", "serve", "--port"], path=f"{server_venv / 'bin'}:{SYSTEM_PATH}")
        env = served.env | {
            "SEQUENCE_BASE_URL": served.api,
            "SEQUENCE_CLIENT_ID": served.auth[0],
            "SEQUENCE_CLIENT_SECRET": served.auth[1],
        }
        done = run([str(core_venv / "bin" / "python"), str(EXAMPLE)], cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        read = json.loads(done.stdout)
        assert read["byId"] == "Example Client Ltd"
        assert read["byAlias"] == read["created"]
