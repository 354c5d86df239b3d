"""Injected faults (docs/sandbox.md): an operator's rules for an account, and which rule, if
any, acts on one of its requests. A rule matches a method (or any) and a path pattern, in
which `*` stands for any characters within a segment and `**` for any across segments;
the oldest rule that matches, wins its probability draw and still has count left acts."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable
from typing import cast

from sqlalchemy import Connection

from patron.server import clock, validation
from patron.server.db.snapshot import Snapshot
from patron.server.errors import InvalidInput, NotFound
from patron.server.sandbox.repository import faults as repository
from patron.server.sandbox.repository.faults import Rule
from patron.server.sandbox.service import accounts
from patron.wire.sandbox import faults as wire

MAX_RULES = 100
"""Rules per account, used-up ones included (delete them to make room)."""
PREFIX = "/api/"
_NOT_IN_A_PATH = re.compile(r"[\s?#\x00-\x1f\x7f]")


def create(tx: Connection, account: str, rule: wire.FaultRule) -> wire.Fault:
    _check(rule)
    # The account's row held: two creates at the cap cannot both pass it.
    account_id = accounts.found(tx, account, lock=True)
    if repository.count_rules(tx, account_id) >= MAX_RULES:
        raise InvalidInput("faults", f"the account holds {MAX_RULES} rules already: delete some first")
    stored = Rule(
        id=clock.new_id(),
        method=rule.method,
        path=rule.path,
        status=rule.status,
        remaining=rule.count,
        probability=rule.probability,
        retry_after=rule.retry_after,
        delay_ms=rule.delay_ms,
        created_at=clock.utc_now(),
    )
    repository.insert_rule(tx, account_id, stored)
    return to_wire(stored)


def _check(rule: wire.FaultRule) -> None:
    """The rules the wire's bounds cannot say."""
    if not rule.path.startswith(PREFIX):
        raise InvalidInput("path", f"must start with {PREFIX}: faults act on the API's requests")
    if _NOT_IN_A_PATH.search(rule.path):
        raise InvalidInput("path", "is a path pattern: no query, fragment, spaces or control characters")
    if rule.status is None and rule.delay_ms is None:
        raise InvalidInput("status", "a rule needs a status, a delayMs or both")
    if rule.retry_after is not None and rule.status is None:
        raise InvalidInput("retryAfter", "goes with a status: give one")


def list_faults(tx: Connection, account: str) -> wire.FaultList:
    account_id = accounts.found(tx, account)
    return wire.FaultList(items=[to_wire(rule) for rule in repository.list_rules(tx, account_id)])


def delete(tx: Connection, account: str, fault: str) -> None:
    account_id = accounts.found(tx, account)
    if not repository.delete_rule(tx, account_id, validation.parse_id(fault, "fault")):
        raise NotFound("fault", fault)


def delete_all(tx: Connection, account: str) -> None:
    repository.delete_rules(tx, accounts.found(tx, account))


def to_wire(rule: Rule) -> wire.Fault:
    return wire.Fault(
        id=str(rule.id),
        path=rule.path,
        created_at=clock.iso(rule.created_at),
        method=cast(wire.Method | None, rule.method),  # validated on the way in
        status=rule.status,
        remaining=rule.remaining,
        probability=rule.probability,
        retry_after=rule.retry_after,
        delay_ms=rule.delay_ms,
    )


# --- on each request --------------------------------------------------------------------


def candidates(reads: Snapshot, account_id: uuid.UUID, method: str, path: str, draw: Callable[[], float]) -> list[Rule]:
    """The rules that would act on this request, oldest first: they match it, have count
    left (as read) and won their draw. The first whose count `spend` can take acts."""
    return [
        rule
        for rule in repository.live_rules(reads, account_id)
        if matches(rule, method, path) and (rule.probability is None or draw() < rule.probability)
    ]


def matches(rule: Rule, method: str, path: str) -> bool:
    return (rule.method is None or rule.method == method) and _pattern(rule.path).fullmatch(path) is not None


@functools.lru_cache(maxsize=4096)
def _pattern(glob: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*|\*)", glob)
    return re.compile("".join(".*" if p == "**" else "[^/]*" if p == "*" else re.escape(p) for p in parts))


def spend(tx: Connection, account_id: uuid.UUID, fault_id: uuid.UUID) -> bool:
    """Take one from a counted rule; False when another request took its last."""
    return repository.spend(tx, account_id, fault_id)
