"""`patron import customers` and `patron export customers`: JSON Lines or CSV, streamed.

CSV columns (a header row is required; unknown columns are ignored):
  legalName, taxStatus, status, url, label,
  line1, line2, town, state, postcode, country,
  aliases                          alias values separated by `|`
  contact1Name, contact1Email, contact1BillingPreference, ... up to contact5
  customProperties                 a JSON object of strings, e.g. {"tier": "gold"}
Export adds id, createdAt and archivedAt in front.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import sys
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import IO, Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from patron.server.accounts import repository as accounts
from patron.server.auth import Principal
from patron.server.config import Settings
from patron.server.customers import bulk, export
from patron.server.db import bulk as load
from patron.server.db import maintenance, migrate
from patron.server.db.engine import Database, open_database
from patron.wire import models as wire

import_app = typer.Typer(help="Import data from files.", no_args_is_help=True)
export_app = typer.Typer(help="Export data to files.", no_args_is_help=True)
err = Console(stderr=True)

MAX_CONTACTS = 5
CSV_COLUMNS = [
    "legalName", "taxStatus", "status", "url", "label",
    "line1", "line2", "town", "state", "postcode", "country",
    "aliases",
    *[f"contact{i}{part}" for i in range(1, MAX_CONTACTS + 1) for part in ("Name", "Email", "BillingPreference")],
    "customProperties",
]  # fmt: skip

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database", help="Database URL (default: $PATRON_DATABASE_URL, else sqlite:///patron.db)."),
]
AccountOption = Annotated[str, typer.Option("--account", help="Account id.")]
# Import: files larger than this are read and checked in a second process.
PARALLEL_FROM_BYTES = 1 << 20
# Checked batches the reader process may hold ready (bounds its memory).
READ_AHEAD = 3


def _open(database: str | None, account: str) -> tuple[Database, Principal]:
    db = open_database(Settings.from_env(database_url=database))
    migrate.upgrade(db.engine)
    try:
        account_id = uuid.UUID(account)
    except ValueError:
        raise _fail(f"{account!r} is not an account id") from None
    with db.read() as tx:
        if accounts.get_account(tx, account_id) is None:
            raise _fail(f"account {account} not found")
    return db, Principal(account_id=account_id, client_id="cli")


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    line: int
    raw: str
    request: wire.CreateOrUpdateCustomerRequest | None
    problem: str | None


class _Counting(io.RawIOBase):
    """Counts the bytes read through it, for the progress bar."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


_decoder = msgspec.json.Decoder(wire.CreateOrUpdateCustomerRequest)


def _problem(exc: Exception) -> str:
    return str(exc).replace("`$.", "`").replace("$.", "")


def read_jsonl(stream: IO[str]) -> Iterator[Record]:
    for number, line in enumerate(stream, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            yield Record(number, text, _decoder.decode(text), None)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            yield Record(number, text, None, _problem(exc))


def csv_row_to_request(row: dict[str, str]) -> dict[str, Any]:
    def value(name: str) -> str | None:
        text = (row.get(name) or "").strip()
        return text or None

    address = {k: value(k) for k in ("line1", "line2", "town", "state", "postcode", "country")}
    contacts = []
    for i in range(1, MAX_CONTACTS + 1):
        name, email, preference = (value(f"contact{i}{p}") for p in ("Name", "Email", "BillingPreference"))
        if name or email or preference:
            contacts.append({"name": name, "email": email, "billingPreference": preference})
    body: dict[str, Any] = {
        "legalName": value("legalName"),
        "taxStatus": value("taxStatus"),
        "address": {k: v for k, v in address.items() if v is not None},
        "contacts": contacts,
    }
    for name in ("status", "url", "label"):
        if value(name) is not None:
            body[name] = value(name)
    aliases = value("aliases")
    if aliases:
        body["customerAliases"] = [a for a in aliases.split("|") if a]
    properties = value("customProperties")
    if properties:
        body["customProperties"] = json.loads(properties)
    return body


def read_csv(stream: IO[str]) -> Iterator[Record]:
    reader = csv.DictReader(stream)
    for row in reader:
        number = reader.line_num
        raw = json.dumps(row, ensure_ascii=False)
        try:
            body = csv_row_to_request(row)
            yield Record(number, raw, msgspec.convert(body, wire.CreateOrUpdateCustomerRequest), None)
        except (msgspec.ValidationError, ValueError) as exc:
            yield Record(number, raw, None, _problem(exc))


# --- import -------------------------------------------------------------------------------


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def prepared_batches(
    path: Path, kind: str, batch_size: int, who: Principal, dialect: str
) -> Iterator[tuple[int, bulk.Batch]]:
    """(bytes read so far, checked batch) for each batch of the file, streaming."""
    loaders = bulk.loaders(dialect)
    with path.open("rb") as raw:
        counting = _Counting(raw)
        stream = io.TextIOWrapper(io.BufferedReader(counting), encoding="utf-8", newline="")
        records = read_csv(stream) if kind == "csv" else read_jsonl(stream)
        for chunk in _chunks(records, batch_size):
            good = [(r.line, r.raw, r.request) for r in chunk if r.request is not None]
            batch = bulk.prepare(who, good, loaders)
            batch.rejected += [bulk.Rejection(r.line, r.problem, r.raw) for r in chunk if r.problem is not None]
            yield counting.count, batch


def _prepare_in_worker(
    path: Path, kind: str, batch_size: int, who: Principal, dialect: str, queue: multiprocessing.Queue[Any]
) -> None:
    """The reader process: parse and check the file, hand batches over; None at the end,
    a traceback (text) on failure."""
    try:
        for item in prepared_batches(path, kind, batch_size, who, dialect):
            queue.put(item)
        queue.put(None)
    except BaseException:
        queue.put(traceback.format_exc())


def _prepared_in_worker(
    path: Path, kind: str, batch_size: int, who: Principal, dialect: str
) -> Iterator[tuple[int, bulk.Batch]]:
    """`prepared_batches`, computed in another process a few batches ahead, so parsing and
    checking the next batches runs on another core while this one writes (threads would
    take turns on the GIL)."""
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[Any] = context.Queue(maxsize=READ_AHEAD)
    worker = context.Process(
        target=_prepare_in_worker, args=(path, kind, batch_size, who, dialect, queue), name="patron-import-reader"
    )
    worker.daemon = True
    worker.start()
    try:
        while True:
            try:
                item = queue.get(timeout=1)
            except Empty:
                if not worker.is_alive():
                    raise RuntimeError(f"the reader process stopped (exit code {worker.exitcode})") from None
                continue
            if item is None:
                return
            if isinstance(item, str):
                raise RuntimeError(f"reading {path} failed:\n{item}")
            yield item
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join()


@import_app.command("customers")
def import_customers(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .jsonl or .csv file.")],
    account: AccountOption,
    database: DatabaseOption = None,
    file_format: Annotated[str | None, typer.Option("--format", help="jsonl or csv (default: by extension).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction.")] = 2000,
    rejected: Annotated[Path | None, typer.Option(help="Where rejected rows go (default FILE.rejected.jsonl).")] = None,
    parallel: Annotated[
        bool | None,
        typer.Option(
            "--parallel/--no-parallel", help="Read and check rows in a second process (default: for files over 1 MiB)."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Create customers from a file, validating every row like the API does.

    Rows whose aliases already name a customer are skipped, so a re-run adds nothing.
    Rejected rows (line number and reason) go to a file; the import does not stop.
    """
    kind = (file_format or ("csv" if file.suffix.lower() == ".csv" else "jsonl")).lower()
    if kind not in {"jsonl", "csv"}:
        raise _fail(f"unknown format {kind!r}: use jsonl or csv")
    db, who = _open(database, account)
    load.tune_engine_for_load(db.engine)
    dialect = db.engine.dialect.name
    loaders = bulk.loaders(dialect)
    rejected_path = rejected or file.with_name(file.name + ".rejected.jsonl")
    total_bytes = file.stat().st_size
    if parallel is None:
        parallel = total_bytes > PARALLEL_FROM_BYTES
    batches = (_prepared_in_worker if parallel else prepared_batches)(file, kind, batch_size, who, dialect)
    created = bulk.Created()
    made = existing = refused = 0
    started = time.monotonic()
    with (
        rejected_path.open("w", encoding="utf-8") as rejects,
        Progress(
            TextColumn("[bold]importing"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rows]:,} rows · {task.fields[rate]:,.0f}/s"),
            TimeRemainingColumn(),
            console=err,
            disable=quiet,
        ) as progress,
    ):
        task = progress.add_task("import", total=total_bytes, rows=0, rate=0.0)
        for read, batch in batches:
            with db.write() as tx:
                outcome = bulk.store(tx, who, batch, loaders, created=created)
            for line, reason, raw in outcome.rejected:
                _reject(rejects, line, reason, raw)
            made += outcome.created
            existing += outcome.existing
            refused += len(outcome.rejected)
            done = made + existing + refused
            progress.update(task, completed=read, rows=done, rate=done / max(time.monotonic() - started, 1e-6))
        progress.update(task, completed=total_bytes)
    maintenance.after_bulk_load(db.engine)
    elapsed = time.monotonic() - started
    err.print(
        f"imported {made:,} customers, skipped {existing:,} already present, rejected {refused:,} "
        f"in {elapsed:.1f} s" + (f"; rejected rows: {rejected_path}" if refused else "")
    )
    if not refused:
        rejected_path.unlink(missing_ok=True)


def _reject(out: IO[str], line: int, reason: str, raw: str) -> None:
    out.write(json.dumps({"line": line, "reason": reason, "row": raw}, ensure_ascii=False) + "\n")


# --- export -------------------------------------------------------------------------------


@export_app.command("customers")
def export_customers(
    account: AccountOption,
    database: DatabaseOption = None,
    file_format: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    output: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
) -> None:
    """Write every customer of the account (archived ones too), streaming."""
    if file_format not in {"jsonl", "csv"}:
        raise _fail(f"unknown format {file_format!r}: use jsonl or csv")
    db, who = _open(database, account)
    sink = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    count = 0
    try:
        writer = csv.writer(sink) if file_format == "csv" else None
        if writer is not None:
            writer.writerow(["id", "createdAt", "archivedAt", *CSV_COLUMNS])
        for customer, aliases in _exported(db, who):
            if writer is not None:
                writer.writerow(_csv_row(customer, aliases))
            else:
                document = msgspec.to_builtins(customer)
                document["customerAliases"] = aliases
                sink.write(json.dumps(document, ensure_ascii=False) + "\n")
            count += 1
    finally:
        if output:
            sink.close()
    err.print(f"exported {count:,} customers")


def _exported(db: Database, who: Principal) -> Iterator[tuple[wire.Customer, list[str]]]:
    """Every customer of the account with its aliases, a batch per short transaction."""
    after: export.Position | None = None
    while True:
        with db.read() as tx:
            batch = export.batch(tx, who.account_id, after=after)
        if batch.end is None:
            return
        yield from batch.customers
        after = batch.end


def _csv_row(customer: wire.Customer, aliases: list[str]) -> list[str]:
    address = customer.address
    cells: list[str] = [
        customer.id, customer.created_at, customer.archived_at or "",
        customer.legal_name, customer.tax_status.value, customer.status.value, customer.url or "", customer.label or "",
        address.line1, address.line2 or "", address.town, address.state.value if address.state else "",
        address.postcode, address.country.value,
        "|".join(aliases),
    ]  # fmt: skip
    people = customer.contacts[:MAX_CONTACTS]
    for index in range(MAX_CONTACTS):
        if index < len(people):
            cells += [people[index].name, people[index].email, people[index].billing_preference.value]
        else:
            cells += ["", "", ""]
    cells.append(json.dumps(customer.custom_properties, ensure_ascii=False) if customer.custom_properties else "")
    return cells
