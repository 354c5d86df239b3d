"""Seeds (docs/sandbox.md): a fixture of customers stored into an account in one go, every
row checked with the API's own rules, each written at its own `createdAt` (the clock
pinned to it), parents before their children; a refused fixture writes nothing (the
caller's transaction rolls back). `parse_fixture` reads one from a JSON or YAML file."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import yaml  # type: ignore[import-untyped]  # (no stubs in the lock)
from sqlalchemy import Connection

from patron.server import clock, validation
from patron.server.aliases import service as aliases
from patron.server.auth import Principal
from patron.server.customers import service as customers
from patron.server.directory import service as directory
from patron.server.errors import Conflict, InvalidInput, NotFound, PatronError
from patron.server.sandbox.repository import clock as accounts_clock
from patron.server.sandbox.service.clock import parse_moment
from patron.wire.sandbox import seeds as wire

SEEDER = "seed"
"""The client id a seed's writes act as (no credential: the operator seeds)."""
MAX_FIXTURE_BYTES = 16 * 1024 * 1024
"""Largest fixture file `parse_fixture` reads (an HTTP seed's body stops at 1 MiB)."""
MAX_ANCESTORS = 100
"""Parents above a row within one fixture (parent, its parent, ...)."""
MAX_VALUES = 2_000_000
"""Values (scalars, lists and mappings) a YAML fixture may expand to, its aliases followed:
a few anchors can otherwise stand for billions of them."""


@dataclass(frozen=True)
class _Row:
    """A fixture row checked against every rule that needs no database."""

    request: wire.SeedCustomer
    prepared: customers.Prepared
    customer_id: uuid.UUID | None
    created_at: datetime
    archived_at: datetime | None
    parent: tuple[str, str] | None
    """(field, value) of the row's parent reference: `parent` or `parentId`."""


Parent = int | uuid.UUID
"""Where a row's parent is: another row of the fixture (its index), or a customer already
in the account (its id)."""


def load(tx: Connection, account_id: str, fixture: wire.SeedFixture) -> wire.SeedResult:
    """Store every customer of `fixture` in the account; their ids in the fixture's order.
    A rule broken is a 400 naming `customers[i].<field>`, an id or alias the account
    already holds a 409 naming the row; either way nothing is stored."""
    ident = validation.parse_id(account_id, "account")
    found = accounts_clock.read(tx, ident)
    if found is None:
        raise NotFound("account", account_id)
    who = Principal(account_id=ident, client_id=SEEDER, frozen_at=found.frozen_at)
    default = found.frozen_at or clock.utc_now()
    rows = [_checked(index, customer, default) for index, customer in enumerate(fixture.customers)]
    _refuse_repeats(rows)
    _refuse_taken(tx, who, rows)
    parents = _parents(tx, who, rows)
    ids = _store(tx, who, rows, parents, _parents_first(rows, parents))
    return wire.SeedResult(customers=len(ids), ids=[str(customer_id) for customer_id in ids])


@contextmanager
def _in_row(index: int) -> Iterator[None]:
    """Errors of the block, their field (or message) prefixed with the row they are about."""
    try:
        yield
    except InvalidInput as exc:
        raise InvalidInput(f"customers[{index}].{exc.field}", exc.detail) from None
    except Conflict as exc:
        raise Conflict(f"customers[{index}]: {exc.message}") from None


def _checked(index: int, customer: wire.SeedCustomer, default: datetime) -> _Row:
    with _in_row(index):
        created_at = default if customer.created_at is None else parse_moment(customer.created_at, "createdAt")
        archived_at = None if customer.archived_at is None else parse_moment(customer.archived_at, "archivedAt")
        if archived_at is not None and archived_at < created_at:
            raise InvalidInput("archivedAt", f"must not be before createdAt ({clock.iso(created_at)})")
        if customer.parent is not None and customer.parent_id is not None:
            raise InvalidInput("parent", "give parent or parentId, not both")
        return _Row(
            request=customer,
            prepared=customers.prepare(msgspec.structs.replace(customer, parent_id=None)),
            customer_id=validation.reference(customer.id, "id") if customer.id is not None else None,
            created_at=created_at,
            archived_at=archived_at,
            parent=_parent_reference(customer),
        )


def _parent_reference(customer: wire.SeedCustomer) -> tuple[str, str] | None:
    if customer.parent_id is not None:
        return "parentId", str(validation.reference(customer.parent_id, "parentId"))
    if customer.parent is not None:
        return "parent", customer.parent.strip()
    return None


def _refuse_repeats(rows: Sequence[_Row]) -> None:
    """An id or an alias value twice in the fixture (or an alias that is another row's id)."""
    ids: dict[uuid.UUID, int] = {}
    for index, row in enumerate(rows):
        if row.customer_id is not None:
            first = ids.setdefault(row.customer_id, index)
            if first != index:
                raise InvalidInput(f"customers[{index}].id", f"is also the id of customers[{first}]")
    held: dict[str, int] = {}
    for index, row in enumerate(rows):
        for position, value in enumerate(row.prepared.aliases):
            as_id = _as_id(value)
            other = held.setdefault(value, index)
            if other == index and as_id is not None:
                other = ids.get(as_id, index)
            if other != index:
                field = f"customers[{index}].customerAliases[{position}]"
                raise InvalidInput(field, f"{value!r} is also the alias or the id of customers[{other}]")


def _as_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _refuse_taken(tx: Connection, who: Principal, rows: Sequence[_Row]) -> None:
    """Ids and alias values the account already holds: a 409 naming the first such row.
    (The database still decides a race with another write: then the 409 names no row.)"""
    chosen = [row.customer_id for row in rows if row.customer_id is not None]
    existing = directory.existing(tx, who, chosen)
    values = [value for row in rows for value in row.prepared.aliases]
    owners = aliases.owners_of(tx, who, values)
    for index, row in enumerate(rows):
        if row.customer_id in existing:
            raise Conflict(f"customers[{index}].id: the account already has a customer with id {row.customer_id}")
        for position, value in enumerate(row.prepared.aliases):
            if value in owners:
                raise Conflict(f"customers[{index}].customerAliases[{position}]: the alias {value!r} is already in use")


def _parents(tx: Connection, who: Principal, rows: Sequence[_Row]) -> dict[int, Parent]:
    """Each row's parent: by an alias or the id of a row of the fixture first, else of a
    customer already in the account; a 400 naming the row when neither has it."""
    in_fixture = {value: index for index, row in enumerate(rows) for value in row.prepared.aliases}
    in_fixture.update({str(row.customer_id): index for index, row in enumerate(rows) if row.customer_id is not None})
    wanted = {index: row.parent for index, row in enumerate(rows) if row.parent is not None}
    outside = [value for _, value in wanted.values() if _find(value, in_fixture) is None]
    held = aliases.owners_of(tx, who, outside)
    ids = directory.existing(tx, who, [i for i in map(_as_id, outside) if i is not None])
    parents: dict[int, Parent] = {}
    for index, (field, value) in wanted.items():
        found = _find(value, in_fixture, held, ids)
        if found is None:
            message = f"no customer in the fixture or the account has the alias or id {value!r}"
            raise InvalidInput(f"customers[{index}].{field}", message)
        parents[index] = found
    return parents


def _find(
    value: str,
    in_fixture: dict[str, int],
    held: dict[str, uuid.UUID] | None = None,
    ids: set[uuid.UUID] | None = None,
) -> Parent | None:
    """The customer `value` names: a row's alias or id, else an alias `held` in the account,
    else the id of one of its customers (`ids`)."""
    as_id = _as_id(value)
    for key in (value,) if as_id is None else (value, str(as_id)):
        if key in in_fixture:
            return in_fixture[key]
    if held and value in held:
        return held[value]
    return as_id if ids and as_id in ids else None


def _parents_first(rows: Sequence[_Row], parents: dict[int, Parent]) -> list[int]:
    """The rows in fixture order, each parent moved before its children; a 400 naming the
    first row of a cycle (a row that is its own ancestor), or a row with more than
    `MAX_ANCESTORS` ancestors in the fixture (each level costs every descendant a lookup)."""
    order: list[int] = []
    depth: dict[int, int] = {}
    for start in range(len(rows)):
        chain: dict[int, None] = {}
        index: int | None = start
        while index is not None and index not in depth:
            if index in chain:
                _refuse_cycle(rows, list(chain)[list(chain).index(index) :])
            chain[index] = None
            parent = parents.get(index)
            index = parent if isinstance(parent, int) else None
        below = -1 if index is None else depth[index]
        for level, placed in enumerate(reversed(chain), start=below + 1):
            depth[placed] = level
            order.append(placed)
        if depth[start] > MAX_ANCESTORS:
            message = f"has more than {MAX_ANCESTORS} ancestors in the fixture"
            raise InvalidInput(f"customers[{start}].{_parent_field(rows[start])}", message)
    return order


def _refuse_cycle(rows: Sequence[_Row], cycle: list[int]) -> None:
    first = min(cycle)
    at = cycle.index(first)
    loop = [*cycle[at:], *cycle[:at], first]
    path = " -> ".join(f"customers[{index}]" for index in loop)
    raise InvalidInput(f"customers[{first}].{_parent_field(rows[first])}", f"makes a cycle: {path}")


def _parent_field(row: _Row) -> str:
    return row.parent[0] if row.parent is not None else "parent"


def _store(
    tx: Connection, who: Principal, rows: Sequence[_Row], parents: dict[int, Parent], order: Sequence[int]
) -> list[uuid.UUID]:
    """Insert the rows in `order`, each with the clock pinned to its `createdAt`, then
    archive those with an `archivedAt` at that time; the ids in fixture order."""
    ids: dict[int, uuid.UUID] = {}
    for index in order:
        row = rows[index]
        parent = parents.get(index)
        parent_id = ids[parent] if isinstance(parent, int) else parent
        prepared = dataclasses.replace(row.prepared, parent_id=parent_id)
        with clock.pinned(row.created_at), _in_row(index):
            ids[index] = customers.insert(tx, who, row.request, prepared, customer_id=row.customer_id)
    for index in order:
        moment = rows[index].archived_at
        if moment is not None:
            with clock.pinned(moment), _in_row(index):
                customers.archive(tx, who, str(ids[index]))
    return [ids[index] for index in range(len(rows))]


def parse_fixture(content: bytes, *, filename: str) -> wire.SeedFixture:
    """A fixture from a file's bytes: YAML for `.yaml`/`.yml` (every scalar read as text,
    so a postcode 01234 stays 01234; `null` and `~` are null), JSON otherwise. What is not
    a fixture is an `InvalidInput` naming the field (`body` for the whole document); the
    result posts as `msgspec.json.encode(fixture)`."""
    if len(content) > MAX_FIXTURE_BYTES:
        raise InvalidInput("body", f"a fixture is at most {MAX_FIXTURE_BYTES // (1024 * 1024)} MiB")
    try:
        if filename.lower().endswith((".yaml", ".yml")):
            return msgspec.convert(_from_yaml(content), wire.SeedFixture)
        return msgspec.json.decode(content, type=wire.SeedFixture)
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise InvalidInput("body", f"is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidInput("body", _TOO_DEEP) from None


def _from_yaml(content: bytes) -> Any:
    """The YAML document as plain data. Composed by PyYAML's safe loader (no tag makes an
    object), then read as text rather than `yaml.safe_load`'s types: YAML 1.1 reads a
    postcode 01234 as the number 668 and `no` as false; merge keys (`<<: *base`) apply."""
    try:
        root = yaml.compose(content, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise InvalidInput("body", f"is not valid YAML: {exc}") from None
    except RecursionError:
        raise InvalidInput("body", _TOO_DEEP) from None
    return _Text().read(root, depth=0)


MAX_DEPTH = 32
"""Nesting a fixture may have (a customer's deepest value is 4 levels down); also stops an
alias inside its own anchor."""
_TOO_DEEP = f"nests deeper than {MAX_DEPTH} levels"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"


class _Text:
    """Nodes to data, counting the values read (aliases followed) up to `MAX_VALUES`: a few
    anchors can otherwise stand for billions of them."""

    def __init__(self) -> None:
        self.seen = 0

    def read(self, node: Any, *, depth: int) -> Any:
        self.seen += 1
        if self.seen > MAX_VALUES:
            raise InvalidInput("body", f"holds more than {MAX_VALUES:,} values (YAML aliases followed)")
        if depth > MAX_DEPTH:
            raise InvalidInput("body", _TOO_DEEP)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth=depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.read(item, depth=depth + 1) for item in node.value]
        return None if node is None or node.tag == _NULL else str(node.value)

    def _mapping(self, node: Any, *, depth: int) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        own: dict[str, Any] = {}
        for key, value in node.value:
            if key.tag == _MERGE:
                for base in value.value if isinstance(value, yaml.SequenceNode) else [value]:
                    if not isinstance(base, yaml.MappingNode):
                        raise InvalidInput("body", f"a merge key takes mappings (line {key.start_mark.line + 1})")
                    merged.update({k: v for k, v in self._mapping(base, depth=depth + 1).items() if k not in merged})
                continue
            if not isinstance(key, yaml.ScalarNode):
                raise InvalidInput("body", f"a mapping key must be text (line {key.start_mark.line + 1})")
            own[str(key.value)] = self.read(value, depth=depth + 1)
        return {**merged, **own}


def _invalid(problem: str) -> PatronError:
    """msgspec's "Expected `str`, got `int` - at `$.customers[0].address.postcode`" as an
    `InvalidInput` naming the field like an API answer does."""
    message, _, where = problem.partition(" - at ")
    field = where.removeprefix("`key` in ").strip("`").removeprefix("$").removeprefix(".")
    missing = message.removeprefix("Object missing required field ")
    if missing != message:
        name = missing.strip("`")
        return InvalidInput(f"{field}.{name}" if field else name, "is required")
    return InvalidInput(field or "body", message)
