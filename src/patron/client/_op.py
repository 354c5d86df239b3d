"""What one call of an operation sends and what it answers, as data: `Op` (no I/O), the
helpers that spell Python values as Sequence's query parameters and path segments, and
how a page of a list leads to the next."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, Protocol, TypeVar
from urllib.parse import quote

import msgspec

T_co = TypeVar("T_co", covariant=True)
Item = TypeVar("Item", covariant=True)

Param = str | int | float | bool | Enum | Sequence[str] | None
Params = Mapping[str, str | list[str]]


@dataclass(frozen=True)
class Op(Generic[T_co]):
    """One request: `path` relative to the client's base URL, `params` by their wire names,
    `body` encoded as JSON, and the type the answer decodes to."""

    method: str
    path: str
    response: type[T_co]
    params: Params = field(default_factory=dict)
    body: msgspec.Struct | None = None


def query(**given: Param) -> Params:
    """Query parameters by their wire names, left out when None, spelled as Sequence reads
    them (`true`/`false`, an enum by its value, a list as the parameter repeated)."""
    return {name: _spell(value) for name, value in given.items() if value is not None}


def _spell(value: Param) -> str | list[str]:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, str | int | float):
        return str(value)
    assert value is not None
    return [str(item) for item in value]


def segment(value: str | Enum) -> str:
    """`value` as one path segment, every reserved character escaped (an alias holding `/`
    or a recipient URL stays one segment); `.` and `..` too, so no one resolves them."""
    text = str(value.value) if isinstance(value, Enum) else value
    if text in {".", ".."}:
        return text.replace(".", "%2E")
    return quote(text, safe="")


class Cursors(Protocol):
    @property
    def after(self) -> str | None: ...


class Page(Protocol[Item]):
    """A page of a list: its items and the cursor to the next page."""

    @property
    def items(self) -> Sequence[Item]: ...

    @property
    def pagination(self) -> Cursors: ...


def next_page(op: Op[Page[Item]], page: Page[Item]) -> Op[Page[Item]] | None:
    """The request for the page after `page` (which `op` fetched): the same filters, its
    `after` cursor; None after the last page."""
    cursor = page.pagination.after
    if cursor is None or not page.items:
        return None
    params = {name: value for name, value in op.params.items() if name not in {"after", "before"}}
    return dataclasses.replace(op, params={**params, "after": cursor})
