"""`patron import customers` and `patron export customers`."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from patron.cli.main import app as cli
from patron.server import clock
from patron.server.app import create_app
from patron.server.config import Settings
from patron.server.customers import bulk
from tests.conftest import NO_LIMITS, SECRET_KEY
from tests.factories import customer_body

runner = CliRunner()


@pytest.fixture
def setup(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.setenv("PATRON_SECRET_KEY", SECRET_KEY)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["accounts", "create", "Importer", "--json", "--database", database_url])
    assert result.exit_code == 0, result.output
    return database_url, json.loads(result.output)["accountId"]


def run(*args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def api_get(database_url: str, account_id: str, path: str, **params: Any) -> Any:
    app = create_app(Settings(database_url=database_url, secret_key=SECRET_KEY, **NO_LIMITS))
    database = app.state.database
    from uuid import UUID

    from patron.server.accounts import service as accounts

    with database.write() as tx:
        credential = accounts.create_credential(tx, database.key, UUID(account_id))
    with TestClient(app) as client:
        body = client.get(path, params=params, auth=(credential.client_id, credential.client_secret)).json()
    database.engine.dispose()
    return body


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


class TestImportJsonLines:
    def test_valid_rows_become_customers_and_bad_rows_are_reported(
        self, setup: tuple[str, str], tmp_path: Path
    ) -> None:
        database, account = setup
        good = [customer_body(legalName=f"Imported {i}", customerAliases=[f"imp-{i}"]) for i in range(5)]
        bad_state = customer_body(address={"line1": "x", "town": "y", "postcode": "1", "country": "US"})
        source = write_jsonl(tmp_path / "in.jsonl", [good[0], good[1], "{not json", bad_state, good[2], *good[3:]])
        output = run("import", "customers", str(source), "--account", account, "--database", database, "--quiet")
        assert "imported 5 customers" in output
        assert "rejected 2" in output
        rejected = [json.loads(line) for line in (tmp_path / "in.jsonl.rejected.jsonl").read_text().splitlines()]
        assert [r["line"] for r in rejected] == [3, 4]
        assert "address.state" in rejected[1]["reason"]
        page = api_get(database, account, "/api/customers", legalName="imported")
        assert page["pagination"]["totalResultSize"] == 5
        found = api_get(database, account, "/api/customers/by-alias/imp-3")
        assert found["legalName"] == "Imported 3"

    def test_running_the_same_file_twice_creates_nothing_new(self, setup: tuple[str, str], tmp_path: Path) -> None:
        database, account = setup
        rows = [customer_body(customerAliases=[f"again-{i}"]) for i in range(4)]
        source = write_jsonl(tmp_path / "in.jsonl", rows)
        run("import", "customers", str(source), "--account", account, "--database", database, "--quiet")
        second = run("import", "customers", str(source), "--account", account, "--database", database, "--quiet")
        assert "imported 0 customers, skipped 4 already present" in second
        assert api_get(database, account, "/api/customers")["pagination"]["totalResultSize"] == 4

    def test_an_alias_used_twice_in_one_file_rejects_the_second_row(
        self, setup: tuple[str, str], tmp_path: Path
    ) -> None:
        database, account = setup
        rows = [customer_body(customerAliases=["dup"]), customer_body(customerAliases=["dup"])]
        source = write_jsonl(tmp_path / "in.jsonl", rows)
        output = run("import", "customers", str(source), "--account", account, "--database", database, "--quiet")
        assert "imported 1 customers" in output
        rejected = json.loads((tmp_path / "in.jsonl.rejected.jsonl").read_text())
        assert rejected["line"] == 2
        assert "line 1" in rejected["reason"]

    def test_rows_with_a_parent_join_its_organization(self, setup: tuple[str, str], tmp_path: Path) -> None:
        database, account = setup
        parent = write_jsonl(tmp_path / "parent.jsonl", [customer_body(customerAliases=["the-parent"])])
        run("import", "customers", str(parent), "--account", account, "--database", database, "--quiet")
        parent_id = api_get(database, account, "/api/customers/by-alias/the-parent")["id"]
        child = write_jsonl(tmp_path / "child.jsonl", [customer_body(parentId=parent_id, customerAliases=["kid"])])
        run("import", "customers", str(child), "--account", account, "--database", database, "--quiet")
        kid = api_get(database, account, "/api/customers", alias="kid")["items"][0]
        assert kid["organizations"][0]["owner"]["id"] == parent_id

    def test_batches_smaller_than_the_file_give_the_same_result(self, setup: tuple[str, str], tmp_path: Path) -> None:
        database, account = setup
        rows = [customer_body(customerAliases=[f"b-{i}"]) for i in range(7)]
        source = write_jsonl(tmp_path / "in.jsonl", rows)
        run(
            "import",
            "customers",
            str(source),
            "--account",
            account,
            "--database",
            database,
            "--batch-size",
            "2",
            "--quiet",
        )
        assert api_get(database, account, "/api/customers")["pagination"]["totalResultSize"] == 7

    def test_unknown_account_fails_cleanly(self, setup: tuple[str, str], tmp_path: Path) -> None:
        database, _ = setup
        source = write_jsonl(tmp_path / "in.jsonl", [customer_body()])
        result = runner.invoke(
            cli,
            [
                "import",
                "customers",
                str(source),
                "--account",
                "01890000-0000-7000-8000-000000000000",
                "--database",
                database,
            ],
        )
        assert result.exit_code == 1
        assert "not found" in result.output


class TestCsv:
    def test_import_csv_columns(self, setup: tuple[str, str], tmp_path: Path) -> None:
        database, account = setup
        source = tmp_path / "in.csv"
        with source.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                [
                    "legalName",
                    "taxStatus",
                    "line1",
                    "town",
                    "state",
                    "postcode",
                    "country",
                    "aliases",
                    "contact1Name",
                    "contact1Email",
                    "contact1BillingPreference",
                    "customProperties",
                ]
            )
            writer.writerow(
                [
                    "Csv Co",
                    "TAXED",
                    "1 Road",
                    "Austin",
                    "TX",
                    "73301",
                    "US",
                    "csv-1|csv-2",
                    "Ann",
                    "ann@csv.test",
                    "PRIMARY",
                    '{"tier": "gold"}',
                ]
            )
            writer.writerow(["No Contact", "TAXED", "1 Road", "Paris", "", "75001", "FR", "", "", "", "", ""])
        output = run("import", "customers", str(source), "--account", account, "--database", database, "--quiet")
        assert "imported 1 customers" in output
        found = api_get(database, account, "/api/customers/by-alias/csv-2")
        assert found["legalName"] == "Csv Co"
        assert found["email"] == "ann@csv.test"
        assert api_get(database, account, f"/api/customers/{found['id']}")["customProperties"] == {"tier": "gold"}
        rejected = json.loads((tmp_path / "in.csv.rejected.jsonl").read_text())
        assert rejected["line"] == 3

    def test_export_then_import_elsewhere_round_trips(
        self, setup: tuple[str, str], tmp_path: Path, backend: Any
    ) -> None:
        database, account = setup
        rows = [
            customer_body(legalName=f"Round {i}", customerAliases=[f"r-{i}"], customProperties={"n": str(i)})
            for i in range(3)
        ]
        run(
            "import",
            "customers",
            str(write_jsonl(tmp_path / "in.jsonl", rows)),
            "--account",
            account,
            "--database",
            database,
            "--quiet",
        )
        for file_format in ("csv", "jsonl"):
            exported = tmp_path / f"out.{file_format}"
            run(
                "export",
                "customers",
                "--account",
                account,
                "--database",
                database,
                "--format",
                file_format,
                "--output",
                str(exported),
            )
            target_db = backend.fresh(tmp_path)
            other = json.loads(run("accounts", "create", "Copy", "--json", "--database", target_db))["accountId"]
            run("import", "customers", str(exported), "--account", other, "--database", target_db, "--quiet")
            copied = api_get(target_db, other, "/api/customers", sortBy="legalName", sortOrder="ASC")
            assert [c["legalName"] for c in copied["items"]] == ["Round 0", "Round 1", "Round 2"]
            assert [c["customProperties"] for c in copied["items"]] == [{"n": "0"}, {"n": "1"}, {"n": "2"}]
            assert api_get(target_db, other, "/api/customers/by-alias/r-1")["legalName"] == "Round 1"
            backend.drop(target_db)

    def test_export_jsonl_has_the_customer_shape_and_aliases(self, setup: tuple[str, str], tmp_path: Path) -> None:
        database, account = setup
        run(
            "import",
            "customers",
            str(write_jsonl(tmp_path / "in.jsonl", [customer_body(customerAliases=["e-1"])])),
            "--account",
            account,
            "--database",
            database,
            "--quiet",
        )
        exported = tmp_path / "out.jsonl"
        run("export", "customers", "--account", account, "--database", database, "--output", str(exported))
        [line] = exported.read_text().splitlines()
        document = json.loads(line)
        assert document["customerAliases"] == ["e-1"]
        assert {"id", "createdAt", "contacts", "status", "organizations", "customProperties"} <= set(document)


def import_file(database: str, account: str, source: Path, *extra: str) -> str:
    return run("import", "customers", str(source), "--account", account, "--database", database, "--quiet", *extra)


class TestRerunsAndDuplicates:
    @pytest.mark.parametrize("batch_size", ["1", "2000"])
    def test_an_alias_taken_by_an_earlier_row_rejects_the_row_wherever_the_batches_end(
        self, setup: tuple[str, str], tmp_path: Path, batch_size: str
    ) -> None:
        database, account = setup
        rows = [
            customer_body(customerAliases=["first"]),
            customer_body(customerAliases=["other"]),
            customer_body(customerAliases=["x", "first"]),
        ]
        output = import_file(database, account, write_jsonl(tmp_path / "in.jsonl", rows), "--batch-size", batch_size)
        assert "imported 2 customers, skipped 0 already present, rejected 1" in output
        assert str(tmp_path / "in.jsonl.rejected.jsonl") in output.replace("\n", "")
        rejected = json.loads((tmp_path / "in.jsonl.rejected.jsonl").read_text())
        assert rejected["line"] == 3
        assert rejected["reason"] == "customerAliases: 'first' is already used by line 1"
        # The same file again: every row names a customer that now exists.
        again = import_file(database, account, tmp_path / "in.jsonl", "--batch-size", batch_size)
        assert "imported 0 customers, skipped 3 already present, rejected 0" in again

    def test_rows_without_aliases_are_created_again_by_a_rerun(self, setup: tuple[str, str], tmp_path: Path) -> None:
        database, account = setup
        source = write_jsonl(tmp_path / "in.jsonl", [customer_body(), customer_body(customerAliases=["kept"])])
        import_file(database, account, source)
        second = import_file(database, account, source)
        assert "imported 1 customers, skipped 1 already present" in second
        assert api_get(database, account, "/api/customers")["pagination"]["totalResultSize"] == 3

    def test_a_row_naming_an_alias_of_an_existing_customer_changes_nothing(
        self, setup: tuple[str, str], tmp_path: Path
    ) -> None:
        database, account = setup
        import_file(
            database,
            account,
            write_jsonl(tmp_path / "a.jsonl", [customer_body(legalName="Old", customerAliases=["k"])]),
        )
        changed = customer_body(legalName="New", customerAliases=["k", "extra"])
        output = import_file(database, account, write_jsonl(tmp_path / "b.jsonl", [changed]))
        assert "skipped 1 already present" in output
        found = api_get(database, account, "/api/customers/by-alias/k")
        assert found["legalName"] == "Old"
        assert api_get(database, account, "/api/customers", alias="extra")["items"] == []


class TestReaderProcess:
    def test_reading_in_a_second_process_gives_the_same_outcome(self, setup: tuple[str, str], tmp_path: Path) -> None:
        database, account = setup
        rows: list[Any] = [customer_body(legalName=f"P{i}", customerAliases=[f"p-{i}"]) for i in range(7)]
        rows[2] = "{broken"
        rows[5] = customer_body(customerAliases=["p-0"])
        source = write_jsonl(tmp_path / "in.jsonl", rows)
        output = import_file(database, account, source, "--parallel", "--batch-size", "3")
        assert "imported 5 customers, skipped 0 already present, rejected 2" in output
        rejected = [json.loads(line) for line in (tmp_path / "in.jsonl.rejected.jsonl").read_text().splitlines()]
        assert [r["line"] for r in rejected] == [3, 6]
        assert rejected[1]["reason"] == "customerAliases: 'p-0' is already used by line 1"

    def test_rows_list_in_the_order_of_the_file(self, setup: tuple[str, str], tmp_path: Path) -> None:
        database, account = setup
        names = [f"Row {i:02d}" for i in range(12)]
        source = write_jsonl(tmp_path / "in.jsonl", [customer_body(legalName=n) for n in names])
        import_file(database, account, source, "--parallel", "--batch-size", "5")
        page = api_get(database, account, "/api/customers", sortOrder="ASC", limit=100)
        assert [c["legalName"] for c in page["items"]] == names


class TestCreated:
    """What an import remembers of the customers it created: 20 bytes each."""

    def test_finds_the_line_of_each_created_customer(self) -> None:
        created = bulk.Created()
        batches = [sorted(clock.new_hex_ids(5)) for _ in range(3)]
        for number, ids in enumerate(batches):
            created.add([(ident, 10 * number + position) for position, ident in enumerate(ids)])
        for number, ids in enumerate(batches):
            for position, ident in enumerate(ids):
                assert created.line_of(UUID(ident)) == 10 * number + position
        assert created.line_of(UUID(clock.new_hex_ids(1)[0])) is None

    def test_batches_out_of_order_are_still_found(self) -> None:
        created = bulk.Created()
        later, earlier = sorted(clock.new_hex_ids(2))[::-1]
        created.add([(later, 1)])
        created.add([(earlier, 2)])  # as if the clock had gone back
        assert created.line_of(UUID(later)) == 1
        assert created.line_of(UUID(earlier)) == 2


class TestAliasRules:
    def test_an_alias_that_is_another_customers_id_is_refused_in_any_spelling(
        self, setup: tuple[str, str], tmp_path: Path
    ) -> None:
        database, account = setup
        import_file(database, account, write_jsonl(tmp_path / "a.jsonl", [customer_body(customerAliases=["one"])]))
        existing = UUID(api_get(database, account, "/api/customers/by-alias/one")["id"])
        rows = [customer_body(customerAliases=[spelling]) for spelling in (str(existing).upper(), existing.hex)]
        output = import_file(database, account, write_jsonl(tmp_path / "b.jsonl", rows))
        assert "imported 0 customers, skipped 0 already present, rejected 2" in output
        reasons = [
            json.loads(line)["reason"] for line in (tmp_path / "b.jsonl.rejected.jsonl").read_text().splitlines()
        ]
        assert all("another customer's id" in reason for reason in reasons)


class TestImportEvents:
    """An import records no webhook event unless asked (docs/webhooks.md)."""

    def events(self, database_url: str) -> list[tuple[str, str]]:
        from sqlalchemy import select

        from patron.server.db import tables
        from patron.server.db.engine import make_engine

        engine = make_engine(database_url)
        with engine.connect() as tx:
            e = tables.webhook_event.c
            rows = tx.execute(select(e.notification_type, e.resource_id)).all()
        engine.dispose()
        return [(kind, str(resource)) for kind, resource in rows]

    def test_an_import_fires_nothing_by_default(self, setup: tuple[str, str], tmp_path: Path) -> None:
        database, account = setup
        source = write_jsonl(tmp_path / "in.jsonl", [customer_body() for _ in range(3)])
        run("import", "customers", str(source), "--account", account, "--database", database, "--quiet")
        assert self.events(database) == []

    def test_emit_events_records_one_created_per_customer(self, setup: tuple[str, str], tmp_path: Path) -> None:
        database, account = setup
        parent = customer_body(customerAliases=["parent"])
        rows = [parent, customer_body(), customer_body()]
        source = write_jsonl(tmp_path / "in.jsonl", rows)
        args = ("--account", account, "--database", database, "--quiet", "--emit-events")
        run("import", "customers", str(source), *args)
        listed = api_get(database, account, "/api/customers")["items"]
        assert sorted(self.events(database)) == sorted(("CUSTOMER_CREATED", c["id"]) for c in listed)
