"""All SQL of sending webhook deliveries: claiming due ones under a lease, cancelling those
whose policy or recipient went, recording each attempt (only while the lease holds), and
purging events past their retention."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    String,
    Text,
    Uuid,
    and_,
    bindparam,
    column,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.elements import ColumnElement

from patron.server.db import tables
from patron.server.db.types import UTCDateTime

d = tables.webhook_delivery.c
e = tables.webhook_event.c
p = tables.notification_policy.c
a = tables.account.c
t = tables.webhook_attempt.c

PENDING = "pending"


def row_locks(engine: Engine) -> bool:
    """True where a claim locks the rows it reads, skipping those another claim holds
    (PostgreSQL, `FOR UPDATE SKIP LOCKED`): then reading and leasing share one
    transaction. SQLite has one writer at a time: its claim reads first, then leases with
    a conditional update in a short write transaction (`BEGIN IMMEDIATE`)."""
    return engine.dialect.name == "postgresql"


@dataclass(frozen=True)
class Candidate:
    """A pending delivery free to claim, with what sending it needs: the event's bytes, the
    policy's secret, whether the policy still exists, is live and names the recipient, and
    the account's test clock (None: the wall clock)."""

    account_id: uuid.UUID
    id: uuid.UUID
    event_id: uuid.UUID
    recipient: str
    attempts: int
    body: bytes
    secret: str | None
    policy_found: bool
    policy_deleted: bool
    policy_recipients: list[str]
    frozen_at: datetime | None


def _free(wall_now: datetime) -> ColumnElement[bool]:
    """Pending and not under a live lease (wall clock): an expired lease is taken again."""
    return and_(d.status == PENDING, or_(d.lease_until.is_(None), d.lease_until < wall_now))


def _due(wall_now: datetime, test_clocks: bool) -> ColumnElement[bool]:
    """Due by the account's clock: its test clock when it has one and test clocks count
    (the control plane is on), else the wall clock."""
    if not test_clocks:
        return d.next_attempt_at <= wall_now
    return or_(and_(a.frozen_at.is_(None), d.next_attempt_at <= wall_now), d.next_attempt_at <= a.frozen_at)


def candidates(
    tx: Connection,
    *,
    wall_now: datetime,
    test_clocks: bool,
    limit: int,
    account_id: uuid.UUID | None = None,
    every_pending: bool = False,
    busy: Sequence[str] = (),
    lock: bool = False,
) -> list[Candidate]:
    """Up to `limit` free deliveries, the longest due first: due ones (`every_pending`:
    every pending one, backoff ignored), of one account or all, none to a `busy`
    recipient. `lock`: the rows stay locked to the end of the transaction and rows another
    transaction locked are skipped (only where `row_locks`)."""
    source = (
        tables.webhook_delivery.join(tables.webhook_event, and_(e.account_id == d.account_id, e.id == d.event_id))
        .join(tables.account, a.id == d.account_id)
        .outerjoin(tables.notification_policy, and_(p.account_id == d.account_id, p.id == d.policy_id))
    )
    query = (
        select(
            d.account_id,
            d.id,
            d.event_id,
            d.recipient,
            d.attempts,
            e.body,
            p.webhook_secret,
            p.id.is_not(None).label("policy_found"),
            p.deleted_at,
            p.recipients,
            a.frozen_at,
        )
        .select_from(source)
        .where(_free(wall_now))
        .order_by(d.next_attempt_at, d.id)
        .limit(limit)
    )
    if account_id is not None:
        query = query.where(d.account_id == account_id)
    if not every_pending:
        query = query.where(_due(wall_now, test_clocks))
    if busy:
        query = query.where(d.recipient.not_in(list(busy)))
    if lock:
        query = query.with_for_update(skip_locked=True, of=tables.webhook_delivery)
    return [_candidate(row) for row in tx.execute(query)]


def _candidate(row: Any) -> Candidate:
    return Candidate(
        account_id=row.account_id,
        id=row.id,
        event_id=row.event_id,
        recipient=row.recipient,
        attempts=row.attempts,
        body=bytes(row.body),
        secret=row.webhook_secret,
        policy_found=bool(row.policy_found),
        policy_deleted=row.deleted_at is not None,
        policy_recipients=list(row.recipients or []),
        frozen_at=row.frozen_at,
    )


def lease(
    tx: Connection,
    account_id: uuid.UUID,
    ids: Sequence[uuid.UUID],
    *,
    wall_now: datetime,
    until: datetime,
    token: uuid.UUID,
) -> list[uuid.UUID]:
    """Lease these deliveries to `token` until `until` (wall clock), those still free: the
    ones leased (another claim may have taken the rest since they were read)."""
    statement = (
        update(tables.webhook_delivery)
        .where(d.account_id == account_id, d.id.in_(list(ids)), _free(wall_now))
        .values(lease_until=until, lease_token=token)
        .returning(d.id)
    )
    return [row.id for row in tx.execute(statement)] if ids else []


def release(tx: Connection, account_id: uuid.UUID, ids: Sequence[uuid.UUID], token: uuid.UUID) -> None:
    """Give up the lease `token` holds on these deliveries (those still pending): free again."""
    statement = (
        update(tables.webhook_delivery)
        .where(d.account_id == account_id, d.id.in_(list(ids)), d.lease_token == token, d.status == PENDING)
        .values(lease_until=None, lease_token=None)
    )
    if ids:
        tx.execute(statement)


def cancel(
    tx: Connection,
    account_id: uuid.UUID,
    ids: Sequence[uuid.UUID],
    *,
    wall_now: datetime,
    finished_at: datetime,
    reason: str,
) -> int:
    """Cancel these deliveries, those still free (`reason` as their last error): how many."""
    statement = (
        update(tables.webhook_delivery)
        .where(d.account_id == account_id, d.id.in_(list(ids)), _free(wall_now))
        .values(status="cancelled", next_attempt_at=None, finished_at=finished_at, last_error=reason)
    )
    return int(tx.execute(statement).rowcount) if ids else 0


@dataclass(frozen=True)
class Result:
    """Where a delivery stands after an attempt: `status` (pending again, succeeded or
    failed), when the next attempt is due (by the account's clock), when it finished."""

    status: str
    next_attempt_at: datetime | None
    finished_at: datetime | None
    last_status: int | None
    last_error: str | None


_RECORDED = (
    column("a", Uuid),
    column("delivery", Uuid),
    column("token", Uuid),
    column("status", String),
    column("next_attempt_at", UTCDateTime),
    column("finished_at", UTCDateTime),
    column("last_status", Integer),
    column("last_error", Text),
)


RECORD_CHUNK = 64
"""Deliveries recorded per statement at most (one prebuilt statement per count up to it)."""


def record(tx: Connection, done: Sequence[tuple[uuid.UUID, uuid.UUID, uuid.UUID, Result]]) -> dict[uuid.UUID, int]:
    """Count an attempt and store its result for each (account, delivery, token, result),
    only while `token` still holds the delivery's lease (a sender whose lease expired and
    was taken again never overwrites), in a statement per `RECORD_CHUNK`: each kept
    delivery's attempt number, by delivery. The deliveries must be distinct. (No two
    transactions update one row here, as a row matches only its own lease's token: no
    deadlock, whatever order the rows are locked in.)"""
    numbers: dict[uuid.UUID, int] = {}
    for start in range(0, len(done), RECORD_CHUNK):
        chunk = done[start : start + RECORD_CHUNK]
        params = {
            f"v{i}_{name}": value
            for i, (account_id, delivery_id, token, r) in enumerate(chunk)
            for name, value in zip(
                _RECORDED_NAMES,
                (
                    account_id,
                    delivery_id,
                    token,
                    r.status,
                    r.next_attempt_at,
                    r.finished_at,
                    r.last_status,
                    r.last_error,
                ),
                strict=True,
            )
        }
        numbers.update((row.id, int(row.attempts)) for row in tx.execute(_record_statement(len(chunk)), params))
    return numbers


_RECORDED_NAMES = tuple(c.name for c in _RECORDED)


@functools.cache
def _record_statement(count: int) -> Update:
    """`WITH recorded AS (SELECT ... UNION ALL ...) UPDATE ... FROM recorded` for `count`
    deliveries, each value a typed bind parameter named `v<row>_<column>`: built once per
    count, and cacheable (a `VALUES` construct is compiled on every execution)."""
    rows = [select(*(bindparam(f"v{i}_{c.name}", type_=c.type).label(c.name) for c in _RECORDED)) for i in range(count)]
    v = (rows[0] if count == 1 else union_all(*rows)).cte("recorded")
    return (
        update(tables.webhook_delivery)
        .where(d.account_id == v.c.a, d.id == v.c.delivery, d.lease_token == v.c.token, d.status == PENDING)
        .values(
            attempts=d.attempts + 1,
            status=v.c.status,
            next_attempt_at=v.c.next_attempt_at,
            finished_at=v.c.finished_at,
            last_status=v.c.last_status,
            last_error=v.c.last_error,
            lease_until=None,
            lease_token=None,
        )
        .returning(d.id, d.attempts)
    )


@dataclass(frozen=True)
class Attempt:
    """One attempt as the delivery log shows it (headers without any secret)."""

    started_at: datetime
    signed_at_ms: int
    request_headers: dict[str, str]
    duration_ms: float
    status_code: int | None
    response_headers: dict[str, str] | None
    response_excerpt: str | None
    error: str | None


def add_attempts(tx: Connection, made: Sequence[tuple[uuid.UUID, uuid.UUID, int, Attempt]]) -> None:
    """Store attempts: (account, delivery, the attempt's number, the attempt) each."""
    rows = [
        {
            "account_id": account_id,
            "delivery_id": delivery_id,
            "number": number,
            "started_at": attempt.started_at,
            "signed_at_ms": attempt.signed_at_ms,
            "request_headers": attempt.request_headers,
            "status_code": attempt.status_code,
            "response_headers": attempt.response_headers,
            "response_excerpt": attempt.response_excerpt,
            "duration_ms": attempt.duration_ms,
            "error": attempt.error,
        }
        for account_id, delivery_id, number, attempt in made
    ]
    if rows:
        tx.execute(insert(tables.webhook_attempt), rows)


def unsettled(
    tx: Connection, account_id: uuid.UUID, *, wall_now: datetime, test_clocks: bool, every_pending: bool
) -> bool:
    """True while one of the account's pending deliveries is being sent (a live lease) or
    could be (due; `every_pending`: any), whoever holds it or is about to: a plain read,
    so it also sees the rows another claim has locked and not leased yet."""
    condition = true() if every_pending else or_(d.lease_until >= wall_now, _due(wall_now, test_clocks))
    query = (
        select(d.id)
        .select_from(tables.webhook_delivery.join(tables.account, a.id == d.account_id))
        .where(d.account_id == account_id, d.status == PENDING, condition)
        .limit(1)
    )
    return tx.execute(query).first() is not None


def count_pending(tx: Connection, account_id: uuid.UUID) -> int:
    query = (
        select(func.count()).select_from(tables.webhook_delivery).where(d.account_id == account_id, d.status == PENDING)
    )
    return int(tx.execute(query).scalar_one())


def accounts_after(tx: Connection, after: uuid.UUID | None, limit: int) -> list[tuple[uuid.UUID, datetime | None]]:
    """Up to `limit` accounts (id, test clock) in id order, after `after`."""
    query = select(a.id, a.frozen_at).order_by(a.id).limit(limit)
    if after is not None:
        query = query.where(a.id > after)
    return [(row.id, row.frozen_at) for row in tx.execute(query)]


def expired_events(tx: Connection, account_id: uuid.UUID, before: datetime, limit: int) -> list[uuid.UUID]:
    """Up to `limit` of the account's events recorded before `before`, oldest first."""
    query = (
        select(e.id).where(e.account_id == account_id, e.created_at < before).order_by(e.created_at, e.id).limit(limit)
    )
    return [row.id for row in tx.execute(query)]


def purge_events(tx: Connection, account_id: uuid.UUID, event_ids: Sequence[uuid.UUID]) -> int:
    """Delete these events with their deliveries and attempts: how many events went."""
    if not event_ids:
        return 0
    ids = list(event_ids)
    deliveries = select(d.id).where(d.account_id == account_id, d.event_id.in_(ids))
    tx.execute(delete(tables.webhook_attempt).where(t.account_id == account_id, t.delivery_id.in_(deliveries)))
    tx.execute(delete(tables.webhook_delivery).where(d.account_id == account_id, d.event_id.in_(ids)))
    return int(tx.execute(delete(tables.webhook_event).where(e.account_id == account_id, e.id.in_(ids))).rowcount)
