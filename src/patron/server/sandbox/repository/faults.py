"""All SQL for injected faults (docs/sandbox.md). The rules an account's requests check
are read on the driver (one statement on the account's key, on every request while the
control plane is on); a rule's count is spent by a conditional UPDATE, so concurrent
requests never spend more than it holds."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, delete, func, insert, literal_column, or_, select, type_coerce, update
from sqlalchemy.types import NullType

from patron.server.db import tables
from patron.server.db.snapshot import Direct, Snapshot

f = tables.sandbox_fault.c


class Rule(NamedTuple):
    id: uuid.UUID
    method: str | None
    path: str
    status: int | None
    remaining: int | None
    probability: float | None
    retry_after: int | None
    delay_ms: int | None
    created_at: datetime


_COLUMNS = (f.id, f.method, f.path, f.status, f.remaining, f.probability, f.retry_after, f.delay_ms, f.created_at)
_OLDEST_FIRST = (f.created_at, f.id)


def count_rules(tx: Connection, account_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(tables.sandbox_fault).where(f.account_id == account_id)
    return int(tx.execute(query).scalar_one())


def insert_rule(tx: Connection, account_id: uuid.UUID, rule: Rule) -> None:
    tx.execute(insert(tables.sandbox_fault).values(account_id=account_id, **rule._asdict()))


def list_rules(tx: Connection, account_id: uuid.UUID) -> list[Rule]:
    query = select(*_COLUMNS).where(f.account_id == account_id).order_by(*_OLDEST_FIRST)
    return [Rule._make(row) for row in tx.execute(query)]


def delete_rule(tx: Connection, account_id: uuid.UUID, fault_id: uuid.UUID) -> bool:
    """Delete one rule; False when the account has no such rule."""
    done = tx.execute(delete(tables.sandbox_fault).where(f.account_id == account_id, f.id == fault_id))
    return done.rowcount == 1


def delete_rules(tx: Connection, account_id: uuid.UUID) -> None:
    tx.execute(delete(tables.sandbox_fault).where(f.account_id == account_id))


# Every request of the account runs this (on the primary key's leading column): the rules
# still able to act, oldest first. No rule: one empty index probe. A Direct statement binds
# only named parameters (hence the literal 0), and the probability comes as the driver
# gives it (a float on both): a Float's PostgreSQL result processor needs the column's
# type code, which a Direct statement does not have.
_RAW_PROBABILITY = type_coerce(f.probability, NullType()).label("probability")
_LIVE = Direct(
    select(f.id, f.method, f.path, f.status, f.remaining, _RAW_PROBABILITY, f.retry_after, f.delay_ms, f.created_at)
    .where(f.account_id == bindparam("account_id"), or_(f.remaining.is_(None), f.remaining > literal_column("0")))
    .order_by(*_OLDEST_FIRST)
)


def live_rules(reads: Snapshot, account_id: uuid.UUID) -> list[Rule]:
    return [Rule._make(row) for row in _LIVE.all(reads, {"account_id": account_id})]


_SPEND = (
    update(tables.sandbox_fault)
    .where(f.account_id == bindparam("a"), f.id == bindparam("r"), f.remaining > 0)
    .values(remaining=f.remaining - 1)
)


def spend(tx: Connection, account_id: uuid.UUID, fault_id: uuid.UUID) -> bool:
    """Take one from the rule's count; False when none was left (another request took the
    last one): the database decides, one row at a time."""
    return tx.execute(_SPEND, {"a": account_id, "r": fault_id}).rowcount == 1
