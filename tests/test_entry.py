"""The `patron` script without the server extra: one line and exit code 2, not a traceback;
any other missing module keeps its traceback."""

from __future__ import annotations

import sys
from importlib import metadata

import pytest

import patron
from patron import _entry


def unimport_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI imported afresh by `main`, and typer's import failing; all put back afterwards."""
    monkeypatch.setattr(patron, "cli", sys.modules.get("patron.cli"), raising=False)
    for name in [m for m in sys.modules if m == "patron.cli" or m.startswith("patron.cli.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "typer", None)


@pytest.fixture
def without_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if `pip install patron` had not installed typer: its import fails, its metadata is gone."""
    unimport_the_cli(monkeypatch)
    found = metadata.distribution

    def distribution(name: str) -> metadata.Distribution:
        if name == "typer":
            raise metadata.PackageNotFoundError(name)
        return found(name)

    monkeypatch.setattr(metadata, "distribution", distribution)


@pytest.mark.usefixtures("without_typer")
def test_a_missing_server_extra_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert _entry.missing_server_requirements() == ["typer"]
    with pytest.raises(SystemExit) as stopped:
        _entry.main()
    assert stopped.value.code == 2
    assert capsys.readouterr().err == 'patron\'s server and CLI need the server extra: pip install "patron[server]"\n'


def test_a_missing_module_with_the_extra_installed_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    unimport_the_cli(monkeypatch)  # typer's metadata is there: a broken environment, not a missing extra
    assert _entry.missing_server_requirements() == []
    with pytest.raises(ModuleNotFoundError):
        _entry.main()
