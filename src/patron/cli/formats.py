"""The files `patron import customers` reads and `patron export customers` writes: JSON Lines
or CSV, streamed. Plain functions over streams: nothing of the terminal (typer, rich) here.

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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import msgspec

from patron.wire import models as wire

FORMATS = ("jsonl", "csv")
MAX_CONTACTS = 5
CSV_COLUMNS = [
    "legalName", "taxStatus", "status", "url", "label",
    "line1", "line2", "town", "state", "postcode", "country",
    "aliases",
    *[f"contact{i}{part}" for i in range(1, MAX_CONTACTS + 1) for part in ("Name", "Email", "BillingPreference")],
    "customProperties",
]  # fmt: skip
EXPORT_COLUMNS = ["id", "createdAt", "archivedAt", *CSV_COLUMNS]


def import_format(path: Path, given: str | None) -> str:
    """The format named by `--format`, else by the file's extension (`.csv`, else JSON Lines)."""
    return (given or ("csv" if path.suffix.lower() == ".csv" else "jsonl")).lower()


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One row of an import file: a request to create, or the reason it is not one."""

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


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_chunks(path: Path, kind: str, size: int) -> Iterator[tuple[int, list[Record]]]:
    """(bytes read so far, the next `size` records) for the file `path` in format `kind`,
    streaming."""
    with path.open("rb") as raw:
        counting = _Counting(raw)
        stream = io.TextIOWrapper(io.BufferedReader(counting), encoding="utf-8", newline="")
        records = read_csv(stream) if kind == "csv" else read_jsonl(stream)
        for chunk in _chunks(records, size):
            yield counting.count, chunk


def rejection(line: int, reason: str, raw: str) -> str:
    """A line of the rejected-rows file (JSON Lines): where, why, and the row as read."""
    return json.dumps({"line": line, "reason": reason, "row": raw}, ensure_ascii=False) + "\n"


# --- writing ------------------------------------------------------------------------------


def write_customers(sink: IO[str], kind: str, customers: Iterable[tuple[wire.Customer, list[str]]]) -> int:
    """Write each (customer, its aliases) to `sink` in format `kind`; how many were written."""
    writer = csv.writer(sink) if kind == "csv" else None
    if writer is not None:
        writer.writerow(EXPORT_COLUMNS)
    count = 0
    for customer, aliases in customers:
        if writer is not None:
            writer.writerow(_csv_row(customer, aliases))
        else:
            sink.write(_jsonl_document(customer, aliases))
        count += 1
    return count


def _jsonl_document(customer: wire.Customer, aliases: list[str]) -> str:
    document = msgspec.to_builtins(customer)
    document["customerAliases"] = aliases
    return json.dumps(document, ensure_ascii=False) + "\n"


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
