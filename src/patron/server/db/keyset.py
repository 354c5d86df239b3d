"""Keyset pagination with signed, opaque cursors.

A cursor names the sort key of the row a page ended (or began) at and the direction to go.
It is signed with the server key together with the account and the query it belongs to,
so a tampered cursor, another account's cursor or one reused with other filters is refused.
No OFFSET anywhere: a page costs the same at any depth.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, Protocol, TypeVar

from sqlalchemy import ColumnElement, Connection, Integer, Select, and_, bindparam, false, or_, true, tuple_

from patron.server.db.snapshot import Direct, Snapshot
from patron.server.errors import InvalidInput

RowT = TypeVar("RowT")
Kind = Literal["datetime", "uuid", "str", "int"]
Direction = Literal["after", "before"]
_DIRECTIONS: dict[str, Direction] = {"a": "after", "b": "before"}


@dataclass(frozen=True)
class SortColumn:
    """One column of a sort: the expression, its kind and whether it runs descending."""

    expr: ColumnElement[Any]
    kind: Kind
    descending: bool
    nullable: bool = False


@dataclass(frozen=True)
class Cursor:
    direction: Direction
    key: tuple[Any, ...]


@dataclass(frozen=True)
class Page(Generic[RowT]):
    """A page of rows and the cursors to the pages beside it (None at either end)."""

    rows: list[RowT]
    after: str | None
    before: str | None


class CursorCodec:
    """Encodes and verifies cursors for one query context (account + resource + filters)."""

    def __init__(self, secret: bytes, context: Sequence[object]) -> None:
        self._secret = secret
        self._context = json.dumps([str(part) for part in context], separators=(",", ":"))

    def _sign(self, payload: bytes) -> bytes:
        message = self._context.encode() + b"\x00" + payload
        return hmac.new(self._secret, message, hashlib.sha256).digest()[:16]

    def encode(self, direction: Direction, key: tuple[Any, ...], columns: Sequence[SortColumn]) -> str:
        values = [_dump(value, column.kind) for value, column in zip(key, columns, strict=True)]
        payload = json.dumps([direction[0], values], separators=(",", ":")).encode()
        token = _b64(payload) + "." + _b64(self._sign(payload))
        return token

    def decode(self, token: str, field: str, columns: Sequence[SortColumn]) -> Cursor:
        invalid = InvalidInput(field, "the cursor is invalid, or belongs to another query or account")
        try:
            raw_payload, raw_signature = token.split(".", 1)
            payload = _unb64(raw_payload)
            signature = _unb64(raw_signature)
        except (ValueError, binascii.Error):
            raise invalid from None
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise invalid
        try:
            tag, values = json.loads(payload)
            direction: Direction = _DIRECTIONS[tag]
            key = tuple(_load(v, c.kind) for v, c in zip(values, columns, strict=True))
        except (ValueError, KeyError, TypeError):
            raise invalid from None
        return Cursor(direction, key)


def read_cursor(
    codec: CursorCodec, *, after: str | None, before: str | None, columns: Sequence[SortColumn]
) -> Cursor | None:
    """Read the `after` or `before` query parameter (never both) into a cursor."""
    if after is not None and before is not None:
        raise InvalidInput("after", "use either after or before, not both")
    if after is not None:
        cursor = codec.decode(after, "after", columns)
        if cursor.direction != "after":
            raise InvalidInput("after", "this cursor goes backward; pass it as before")
        return cursor
    if before is not None:
        cursor = codec.decode(before, "before", columns)
        if cursor.direction != "before":
            raise InvalidInput("before", "this cursor goes forward; pass it as after")
        return cursor
    return None


@dataclass(frozen=True)
class Segment:
    """One run of a sort, served by its own query (the last of `columns` must be unique).

    Most sorts are one run (`within=None`): a row's sort key is its key in the run, and a
    cursor holds just that. A sort can also be several runs one after the other, each read
    from its own index: customers holding a custom property (by its value, from the
    property index), then those without it (by id, from the primary key). Keys of such a
    sort lead with the index of the run, and `within` maps a key to the key in this run."""

    query: Select[Any]
    columns: Sequence[SortColumn]
    within: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None


class Reader(Protocol):
    """Where a page's rows come from, run by run: `CoreReader` builds each statement on the
    edge's transaction, `DirectReader` runs statements compiled once on a snapshot. A `key`
    is a key within the run; None reads the run from its start."""

    def rows(self, index: int, key: tuple[Any, ...] | None, *, ahead: bool, limit: int) -> list[Any]:
        """Up to `limit` rows of run `index` strictly beyond `key`, going `ahead`."""
        ...

    def exists(self, index: int, key: tuple[Any, ...] | None, *, ahead: bool, inclusive: bool) -> bool:
        """Is there a row of run `index` beyond `key` going `ahead` (`inclusive`: or at it)?"""
        ...


def fetch_page(
    source: Connection | Reader,
    segments: Sequence[Segment],
    columns: Sequence[SortColumn],
    key_of: Callable[[Any], tuple[Any, ...]],
    *,
    limit: int,
    cursor: Cursor | None,
    codec: CursorCodec,
) -> Page[Any]:
    """One page of the sort made of `segments` in turn (see `Segment`), read from `source`
    (a transaction, or a `Reader` over these segments): `key_of(row)` is a row's sort key,
    `columns` are the sort's columns, as cursors encode its keys."""
    reader = CoreReader(source, segments) if isinstance(source, Connection) else source
    runs = _Runs(reader, segments, limit, cursor)
    if cursor is None or cursor.direction == "after":
        rows = runs.collect(None if cursor is None else cursor.key, ahead=True)
        has_after = len(rows) > limit
        rows = rows[:limit]
        if cursor is None:
            has_before = False
        elif rows:
            has_before = runs.any_beyond(key_of(rows[0]), ahead=False, inclusive=False)
        else:
            has_before = runs.any_beyond(cursor.key, ahead=False, inclusive=True)
    else:
        rows = runs.collect(cursor.key, ahead=False)
        has_before = len(rows) > limit
        rows = rows[:limit]
        rows.reverse()
        if rows:
            has_after = runs.any_beyond(key_of(rows[-1]), ahead=True, inclusive=False)
        else:
            has_after = runs.any_beyond(cursor.key, ahead=True, inclusive=True)
    return Page(
        rows=rows,
        after=codec.encode("after", key_of(rows[-1]), columns) if rows and has_after else None,
        before=codec.encode("before", key_of(rows[0]), columns) if rows and has_before else None,
    )


class _Runs:
    """The runs of one page's sort, read from the page outwards (`ahead`: forward)."""

    def __init__(self, reader: Reader, segments: Sequence[Segment], limit: int, cursor: Cursor | None) -> None:
        indexed = bool(segments) and segments[0].within is not None
        if not segments or (not indexed and len(segments) != 1):
            raise ValueError("a sort is one run without `within`, or runs that each have one")
        if indexed and cursor is not None and not 0 <= cursor.key[0] < len(segments):
            raise InvalidInput(cursor.direction, "the cursor is invalid, or belongs to another query or account")
        self._reader = reader
        self._segments = segments
        self._limit = limit
        self._indexed = indexed  # keys lead with the index of their run

    def _run(self, key: tuple[Any, ...]) -> int:
        return int(key[0]) if self._indexed else 0

    def _within(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        within = self._segments[self._run(key)].within
        return key if within is None else within(key)

    def collect(self, key: tuple[Any, ...] | None, *, ahead: bool) -> list[Any]:
        """Up to `limit + 1` rows beyond `key` (from the start when None), run after run."""
        rows: list[Any] = []
        start = index = 0 if key is None else self._run(key)
        while 0 <= index < len(self._segments) and len(rows) <= self._limit:
            bound = self._within(key) if key is not None and index == start else None
            rows += self._reader.rows(index, bound, ahead=ahead, limit=self._limit + 1 - len(rows))
            index += 1 if ahead else -1
        return rows

    def any_beyond(self, key: tuple[Any, ...], *, ahead: bool, inclusive: bool) -> bool:
        """Is there a row beyond `key` going `ahead` (`inclusive`: or at it), in any run?"""
        index = self._run(key)
        if self._reader.exists(index, self._within(key), ahead=ahead, inclusive=inclusive):
            return True
        others = range(index + 1, len(self._segments)) if ahead else range(index - 1, -1, -1)
        return any(self._reader.exists(i, None, ahead=ahead, inclusive=False) for i in others)


def _bound(
    columns: Sequence[SortColumn], key: tuple[Any, ...] | None, *, ahead: bool, inclusive: bool
) -> ColumnElement[bool]:
    """The rows beyond `key` going `ahead` (`inclusive`: or at it); every row when None."""
    if key is None:
        return true()
    if inclusive:
        return _not_beyond(columns, key, ahead=not ahead)
    return _beyond(columns, key, ahead=ahead)


class CoreReader:
    """Each statement built for the values at hand and run on the edge's transaction."""

    def __init__(self, connection: Connection, segments: Sequence[Segment]) -> None:
        self._connection = connection
        self._segments = segments

    def rows(self, index: int, key: tuple[Any, ...] | None, *, ahead: bool, limit: int) -> list[Any]:
        segment = self._segments[index]
        query = segment.query if key is None else segment.query.where(_beyond(segment.columns, key, ahead=ahead))
        return list(self._connection.execute(query.order_by(*_order(segment, ahead)).limit(limit)))

    def exists(self, index: int, key: tuple[Any, ...] | None, *, ahead: bool, inclusive: bool) -> bool:
        segment = self._segments[index]
        condition = _bound(segment.columns, key, ahead=ahead, inclusive=inclusive)
        return _exists(self._connection, segment.query, condition, _order(segment, ahead))


class DirectPlan:
    """Segments whose queries take every value as a named `bindparam` (built once, at
    import), read with `Direct` statements: one per run, direction and bound (none, strict
    or inclusive), each compiled the first time it is needed and run on the driver ever
    after. Keys bind as `key_0`, `key_1`, ... (typed like their columns), the row count as
    `limit`."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self.segments = segments
        self._statements: dict[tuple[int, bool, bool, bool], Direct] = {}

    def statement(self, index: int, *, bounded: bool, ahead: bool, inclusive: bool) -> Direct:
        shape = (index, bounded, ahead, inclusive and bounded)
        found = self._statements.get(shape)
        if found is None:
            segment = self.segments[index]
            key = tuple(bindparam(f"key_{i}", type_=c.expr.type) for i, c in enumerate(segment.columns))
            condition = _bound(segment.columns, key if bounded else None, ahead=ahead, inclusive=inclusive)
            query = segment.query.where(condition).order_by(*_order(segment, ahead))
            found = self._statements[shape] = Direct(query.limit(bindparam("limit", type_=Integer)))
        return found

    def statements(self) -> list[Direct]:
        """Every statement this plan can run (the query-plan test reads each one's plan)."""
        for index in range(len(self.segments)):
            for bounded in (False, True):
                for ahead in (False, True):
                    for inclusive in (False, True):
                        self.statement(index, bounded=bounded, ahead=ahead, inclusive=inclusive)
        return list(self._statements.values())


class DirectReader:
    """A `DirectPlan` read on a snapshot with the values of one query (`params`)."""

    def __init__(self, snapshot: Snapshot, plan: DirectPlan, params: Mapping[str, Any]) -> None:
        self._snapshot = snapshot
        self._plan = plan
        self._params = params

    def _arguments(self, key: tuple[Any, ...] | None, limit: int) -> dict[str, Any]:
        keys = {} if key is None else {f"key_{i}": value for i, value in enumerate(key)}
        return {**self._params, **keys, "limit": limit}

    def rows(self, index: int, key: tuple[Any, ...] | None, *, ahead: bool, limit: int) -> list[Any]:
        statement = self._plan.statement(index, bounded=key is not None, ahead=ahead, inclusive=False)
        return statement.all(self._snapshot, self._arguments(key, limit))

    def exists(self, index: int, key: tuple[Any, ...] | None, *, ahead: bool, inclusive: bool) -> bool:
        statement = self._plan.statement(index, bounded=key is not None, ahead=ahead, inclusive=inclusive)
        return statement.first(self._snapshot, self._arguments(key, 1)) is not None


def _order(segment: Segment, ahead: bool) -> list[Any]:
    """The run's ORDER BY, forward (`ahead`) or backward."""
    return [(c.expr.desc() if c.descending == ahead else c.expr.asc()) for c in segment.columns]


def _exists(connection: Connection, query: Select[Any], condition: ColumnElement[bool], order: Sequence[Any]) -> bool:
    """Is there a row beyond the page? Ordered from the page outwards, so the probe is one
    step of an index range scan. (Not `EXISTS (...)`: PostgreSQL drops the ORDER BY there
    and may pick a sequential scan that wades through the whole account to find one row.)"""
    return connection.execute(query.where(condition).order_by(*order).limit(1)).first() is not None


def _beyond(columns: Sequence[SortColumn], key: tuple[Any, ...], *, ahead: bool) -> ColumnElement[bool]:
    """Rows strictly after (`ahead`) or strictly before `key` in the sort order."""
    if len({c.descending for c in columns}) == 1 and not any(c.nullable for c in columns):
        # A row-value comparison: both databases serve it as one index range scan, so a
        # page deep in the list costs what the first page costs.
        goes_up = columns[0].descending != ahead
        row, bound = tuple_(*(c.expr for c in columns)), tuple_(*key)
        return row > bound if goes_up else row < bound
    clauses: list[ColumnElement[bool]] = []
    for index, column in enumerate(columns):
        equal_prefix = [_eq(c.expr, key[i]) for i, c in enumerate(columns[:index])]
        value = key[index]
        goes_up = column.descending != ahead  # ascending-and-ahead or descending-and-behind
        step = _gt(column.expr, value) if goes_up else _lt(column.expr, value)
        clauses.append(and_(*equal_prefix, step))
    return or_(*clauses)


def _not_beyond(columns: Sequence[SortColumn], key: tuple[Any, ...], *, ahead: bool) -> ColumnElement[bool]:
    """Rows at `key` or on the other side of it than `_beyond(..., ahead)`."""
    return or_(
        and_(*[_eq(c.expr, key[i]) for i, c in enumerate(columns)]),
        _beyond(columns, key, ahead=not ahead),
    )


# NULL sorts after every value (NULLS LAST when ascending), the same on both databases.
def _eq(expr: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
    return expr.is_(None) if value is None else expr == value


def _gt(expr: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
    return false() if value is None else or_(expr > value, expr.is_(None))


def _lt(expr: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
    return expr.is_not(None) if value is None else expr < value


def _dump(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        assert isinstance(value, datetime)
        return value.isoformat()
    if kind == "uuid":
        return str(value)
    return value


def _load(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return datetime.fromisoformat(str(value))
    if kind == "uuid":
        return uuid.UUID(str(value))
    if kind == "int":
        return int(value)
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
