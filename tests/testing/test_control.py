"""The plugin's pieces that need no server: fixture files, the clock's arguments, the lines
`patron sandbox --print-env` writes, and finding a running sandbox in the environment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest

from patron.server.sandbox.service.seeds import parse_fixture
from patron.testing import Sandbox, read_fixture
from patron.testing.control import iso_duration, iso_moment
from patron.testing.sandbox import parse_env

FIXTURE = """\
x-hq: &hq {line1: 1 Storgata, town: Oslo, postcode: 0155, country: NO}
customers:
  - legalName: Nord AS
    customerAliases: [crm-1, 1001]
    createdAt: 2030-01-01T00:00:00Z
    address: {<<: *hq, line2: Box 7}
    taxStatus: TAXED
    contacts: [{name: Kari, email: kari@nord.example, billingPreference: PRIMARY}]
    customProperties: {vip: yes, score: 1.5}
"""


class TestReadFixture:
    def test_yaml_reads_every_scalar_as_text(self, tmp_path: Path) -> None:
        path = tmp_path / "fixture.yml"
        path.write_text(FIXTURE)
        [customer] = read_fixture(path)["customers"]
        # Norway stays Norway, a postcode keeps its zero, a timestamp is the string the API parses.
        assert customer["address"] == {
            "line1": "1 Storgata",
            "town": "Oslo",
            "postcode": "0155",
            "country": "NO",
            "line2": "Box 7",
        }
        assert customer["customerAliases"] == ["crm-1", "1001"]
        assert customer["createdAt"] == "2030-01-01T00:00:00Z"
        assert customer["customProperties"] == {"vip": "yes", "score": "1.5"}

    def test_yaml_nulls_are_null_and_true_is_text(self, tmp_path: Path) -> None:
        path = tmp_path / "fixture.yaml"
        path.write_text("customers: []\nx: [null, ~, true]\ny:\n")
        assert read_fixture(path) == {"customers": [], "x": [None, None, "true"], "y": None}

    def test_yaml_reads_as_the_seed_endpoint_s_parser_does(self, tmp_path: Path) -> None:
        # `patron sandbox --seed` parses with the server's parser; the plugin may not import it.
        path = tmp_path / "fixture.yaml"
        path.write_text(FIXTURE)
        theirs = msgspec.to_builtins(parse_fixture(path.read_bytes(), filename=path.name))
        assert read_fixture(path)["customers"] == theirs["customers"]

    def test_any_other_name_is_json(self, tmp_path: Path) -> None:
        path = tmp_path / "fixture.txt"
        path.write_text('{"customers": []}')
        assert read_fixture(path) == {"customers": []}

    @pytest.mark.parametrize(("name", "text"), [("bad.json", "{"), ("bad.yaml", "customers: [")])
    def test_a_broken_file_is_a_value_error_naming_it(self, tmp_path: Path, name: str, text: str) -> None:
        (tmp_path / name).write_text(text)
        with pytest.raises(ValueError, match=name):
            read_fixture(tmp_path / name)

    def test_a_fixture_is_a_mapping(self, tmp_path: Path) -> None:
        (tmp_path / "list.json").write_text("[]")
        with pytest.raises(ValueError, match="mapping"):
            read_fixture(tmp_path / "list.json")


class TestClockArguments:
    @pytest.mark.parametrize(
        ("moment", "expected"),
        [
            ("2030-01-01T00:00:00.000Z", "2030-01-01T00:00:00.000Z"),
            (datetime(2030, 1, 1, 12, 30, 5, 123456, tzinfo=UTC), "2030-01-01T12:30:05.123Z"),
            (datetime(2030, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1))), "2030-01-01T00:00:00.000Z"),
            (datetime(2030, 1, 1), "2030-01-01T00:00:00.000Z"),
        ],
    )
    def test_moments(self, moment: str | datetime, expected: str) -> None:
        assert iso_moment(moment) == expected

    @pytest.mark.parametrize(
        ("by", "expected"),
        [
            ("P7D", "P7D"),
            (timedelta(days=7), "P7D"),
            (timedelta(hours=1), "PT3600S"),
            (timedelta(days=1, seconds=30, milliseconds=250), "P1DT30.25S"),
            (timedelta(seconds=1, microseconds=1500), "PT1.001S"),
            (timedelta(0), "P0D"),
        ],
    )
    def test_durations(self, by: str | timedelta, expected: str) -> None:
        assert iso_duration(by) == expected

    def test_the_clock_never_goes_back(self) -> None:
        with pytest.raises(ValueError, match="forward"):
            iso_duration(timedelta(seconds=-1))


class TestEnvironment:
    def test_print_env_lines_parse_back(self) -> None:
        text = "export A=plain\nexport B='it'\"'\"'s $HOME'\n# a comment\n\nC=bare\n"
        assert parse_env(text) == {"A": "plain", "B": "it's $HOME", "C": "bare"}

    def test_a_running_sandbox_is_named_by_its_admin_url_and_token(self) -> None:
        found = Sandbox.from_env({"PATRON_ADMIN_URL": "http://ci:8000/_patron/", "PATRON_ADMIN_TOKEN": "t"})
        assert found == Sandbox("http://ci:8000/api", "http://ci:8000/_patron", "t")

    def test_the_api_is_always_the_admin_url_s_server(self) -> None:
        # SEQUENCE_BASE_URL may name the real Sequence in a developer's shell: never followed.
        env = {"PATRON_ADMIN_URL": "http://ci:8000/_patron", "PATRON_ADMIN_TOKEN": "t"}
        found = Sandbox.from_env({**env, "SEQUENCE_BASE_URL": "https://eu.sequencehq.com/api"})
        assert found is not None
        assert found.base_url == "http://ci:8000/api"

    @pytest.mark.parametrize("env", [{}, {"PATRON_ADMIN_URL": "http://ci/_patron"}, {"PATRON_ADMIN_TOKEN": "t"}])
    def test_without_both_there_is_none(self, env: dict[str, str]) -> None:
        assert Sandbox.from_env(env) is None
