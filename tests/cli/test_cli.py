"""The `patron` command: accounts, credentials and the database."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from patron.cli.main import app as cli
from patron.cli.main import main
from patron.server.app import create_app
from patron.server.config import Settings
from tests.conftest import NO_LIMITS, SECRET_KEY

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PATRON_SECRET_KEY", SECRET_KEY)
    monkeypatch.chdir(tmp_path)
    return f"sqlite:///{tmp_path / 'cli.db'}"


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.output


def authenticates(database_url: str, client_id: str, secret: str) -> int:
    app = create_app(Settings(database_url=database_url, secret_key=SECRET_KEY, **NO_LIMITS))
    with TestClient(app) as client:
        status: int = client.get("/api/customers", auth=(client_id, secret)).status_code
    app.state.database.engine.dispose()
    return status


class TestAccountsCreate:
    def test_json_prints_one_object_whose_credentials_work(self, env: str) -> None:
        code, output = invoke("accounts", "create", "Acme", "--json", "--database", env)
        assert code == 0
        created = json.loads(output)
        assert set(created) == {"accountId", "clientId", "clientSecret"}
        assert len(created["clientSecret"]) >= 43  # 32 random bytes, base64url
        assert authenticates(env, created["clientId"], created["clientSecret"]) == 200

    def test_plain_output_shows_the_secret_once(self, env: str) -> None:
        code, output = invoke("accounts", "create", "Acme", "--database", env)
        assert code == 0
        assert "client secret" in output

    def test_blank_name_fails_cleanly(self, env: str) -> None:
        code, output = invoke("accounts", "create", "  ", "--database", env)
        assert code == 1
        assert "name" in output
        assert "Traceback" not in output


class TestCredentials:
    def test_create_list_revoke(self, env: str) -> None:
        account = json.loads(invoke("accounts", "create", "Acme", "--json", "--database", env)[1])
        code, output = invoke("credentials", "create", "--account", account["accountId"], "--json", "--database", env)
        assert code == 0
        second = json.loads(output)
        assert second["accountId"] == account["accountId"]
        assert second["clientId"] != account["clientId"]

        code, listing = invoke("credentials", "list", "--account", account["accountId"], "--database", env)
        assert code == 0
        assert account["clientId"] in listing
        assert second["clientId"] in listing
        assert account["clientSecret"] not in listing

        code, _ = invoke("credentials", "revoke", second["clientId"], "--database", env)
        assert code == 0
        assert authenticates(env, second["clientId"], second["clientSecret"]) == 401
        assert authenticates(env, account["clientId"], account["clientSecret"]) == 200

    def test_unknown_account_fails_with_a_message(self, env: str) -> None:
        code, output = invoke(
            "credentials", "create", "--account", "01890000-0000-7000-8000-000000000000", "--database", env
        )
        assert code == 1
        assert "not found" in output
        assert "Traceback" not in output

    def test_revoking_an_unknown_client_fails(self, env: str) -> None:
        code, output = invoke("credentials", "revoke", "nobody", "--database", env)
        assert code == 1
        assert "not found" in output


class TestDatabase:
    def test_upgrade_builds_the_schema(self, env: str) -> None:
        code, output = invoke("db", "upgrade", "--database", env)
        assert code == 0
        assert "head" in output
        assert invoke("accounts", "create", "Acme", "--json", "--database", env)[0] == 0

    def test_database_url_comes_from_the_environment(
        self, env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("PATRON_DATABASE_URL", env)
        created = json.loads(invoke("accounts", "create", "Acme", "--json")[1])
        assert authenticates(env, created["clientId"], created["clientSecret"]) == 200

    def test_a_key_file_is_created_when_no_key_is_set(
        self, env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("PATRON_SECRET_KEY")
        assert invoke("accounts", "create", "Acme", "--json", "--database", env)[0] == 0
        key_file = tmp_path / "patron.key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert len(key_file.read_text().strip()) >= 43


class TestFailures:
    def test_an_unreachable_database_is_one_line_not_a_traceback(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("PATRON_SECRET_KEY", SECRET_KEY)
        monkeypatch.delenv("PATRON_DEBUG", raising=False)
        missing = tmp_path / "no-such-directory" / "patron.db"
        monkeypatch.setattr(sys, "argv", ["patron", "accounts", "create", "acme", "--database", f"sqlite:///{missing}"])
        with pytest.raises(SystemExit) as exited:
            main()
        assert exited.value.code == 1
        stderr = capsys.readouterr().err
        assert "error: the database refused or could not be reached: unable to open database file" in stderr
        assert "Traceback" not in stderr
        assert "PATRON_DEBUG=1" in stderr
