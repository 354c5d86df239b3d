"""`patron import customers` and `patron export customers`: the commands, their progress,
and the second process that reads and checks an import file (the files: `formats`)."""

from __future__ import annotations

import multiprocessing
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import IO, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from patron.cli import formats
from patron.cli.common import AccountOption, DatabaseOption, err, fail, open_account
from patron.server import changes
from patron.server.auth import Principal
from patron.server.customers import bulk, export
from patron.server.customers import service as customer_service
from patron.server.db import bulk as load
from patron.server.db import maintenance
from patron.server.db.engine import Database
from patron.wire import models as wire

import_app = typer.Typer(help="Import data from files.", no_args_is_help=True)
export_app = typer.Typer(help="Export data to files.", no_args_is_help=True)

# Import: files larger than this are read and checked in a second process.
PARALLEL_FROM_BYTES = 1 << 20
# Checked batches the reader process may hold ready (bounds its memory).
READ_AHEAD = 3


# --- reading ------------------------------------------------------------------------------


def prepared_batches(
    path: Path, kind: str, batch_size: int, who: Principal, dialect: str
) -> Iterator[tuple[int, bulk.Batch]]:
    """(bytes read so far, checked batch) for each batch of the file, streaming."""
    loaders = bulk.loaders(dialect)
    for read, chunk in formats.read_chunks(path, kind, batch_size):
        good = [(r.line, r.raw, r.request) for r in chunk if r.request is not None]
        batch = bulk.prepare(who, good, loaders)
        batch.rejected += [bulk.Rejection(r.line, r.problem, r.raw) for r in chunk if r.problem is not None]
        yield read, batch


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


# --- import -------------------------------------------------------------------------------


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
    emit_events: Annotated[
        bool,
        typer.Option(
            "--emit-events",
            help="Record a CUSTOMER_CREATED webhook event per customer (off: an import sends no webhooks).",
        ),
    ] = False,
) -> None:
    """Create customers from a file, validating every row like the API does.

    Rows whose aliases already name a customer are skipped, so a re-run adds nothing.
    Rejected rows (line number and reason) go to a file; the import does not stop.
    """
    kind = formats.import_format(file, file_format)
    if kind not in formats.FORMATS:
        raise fail(f"unknown format {kind!r}: use jsonl or csv")
    db, who = open_account(database, account)
    load.tune_engine_for_load(db.engine)
    rejected_path = rejected or file.with_name(file.name + ".rejected.jsonl")
    total_bytes = file.stat().st_size
    if parallel is None:
        parallel = total_bytes > PARALLEL_FROM_BYTES
    batches = (_prepared_in_worker if parallel else prepared_batches)(
        file, kind, batch_size, who, db.engine.dialect.name
    )
    started = time.monotonic()
    with rejected_path.open("w", encoding="utf-8") as rejects, _meter(total_bytes, quiet=quiet) as update:
        tally = _store_all(db, who, batches, rejects, update, emit_events=emit_events)
    maintenance.after_bulk_load(db.engine)
    _summarize(tally, time.monotonic() - started, rejected_path)


@dataclass
class _Tally:
    made: int = 0
    existing: int = 0
    refused: int = 0

    @property
    def done(self) -> int:
        return self.made + self.existing + self.refused


# update(bytes read so far, rows done so far)
_Update = Callable[[int, int], None]


def _store_all(
    db: Database,
    who: Principal,
    batches: Iterator[tuple[int, bulk.Batch]],
    rejects: IO[str],
    update: _Update,
    *,
    emit_events: bool,
) -> _Tally:
    """Store each batch in a transaction of its own, writing its rejected rows to `rejects`;
    `emit_events`: with the batch's webhook events, which a running server then sends."""
    loaders = bulk.loaders(db.engine.dialect.name)
    created = bulk.Created()
    tally = _Tally()
    for read, batch in batches:
        with changes.noting() as noted, db.write() as tx:
            outcome = bulk.store(tx, who, batch, loaders, created=created)
            if emit_events:
                customer_service.announce(tx, who, noted)
        for line, reason, raw in outcome.rejected:
            rejects.write(formats.rejection(line, reason, raw))
        tally.made += outcome.created
        tally.existing += outcome.existing
        tally.refused += len(outcome.rejected)
        update(read, tally.done)
    return tally


@contextmanager
def _meter(total_bytes: int, *, quiet: bool) -> Iterator[_Update]:
    """A progress bar on stderr over the file's bytes, with rows and rows per second."""
    started = time.monotonic()
    with Progress(
        TextColumn("[bold]importing"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows · {task.fields[rate]:,.0f}/s"),
        TimeRemainingColumn(),
        console=err,
        disable=quiet,
    ) as progress:
        task = progress.add_task("import", total=total_bytes, rows=0, rate=0.0)

        def update(read: int, rows: int) -> None:
            progress.update(task, completed=read, rows=rows, rate=rows / max(time.monotonic() - started, 1e-6))

        yield update
        progress.update(task, completed=total_bytes)


def _summarize(tally: _Tally, elapsed: float, rejected_path: Path) -> None:
    err.print(
        f"imported {tally.made:,} customers, skipped {tally.existing:,} already present, rejected {tally.refused:,} "
        f"in {elapsed:.1f} s" + (f"; rejected rows: {rejected_path}" if tally.refused else "")
    )
    if not tally.refused:
        rejected_path.unlink(missing_ok=True)


# --- export -------------------------------------------------------------------------------


@export_app.command("customers")
def export_customers(
    account: AccountOption,
    database: DatabaseOption = None,
    file_format: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    output: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
) -> None:
    """Write every customer of the account (archived ones too), streaming."""
    if file_format not in formats.FORMATS:
        raise fail(f"unknown format {file_format!r}: use jsonl or csv")
    db, who = open_account(database, account)
    sink = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        count = formats.write_customers(sink, file_format, _exported(db, who))
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
