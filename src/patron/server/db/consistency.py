"""Invariants the tables must hold that no constraint states: the per-account customer
counters equal a real count, and the PRIMARY contact rule. `patron db check` runs `check`;
`repair_counts` recomputes the counters (`patron db check --repair`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, and_, case, func, literal, select

from patron.server.db import tables, upsert

c = tables.customer.c
n = tables.customer_count.c
ct = tables.contact.c


@dataclass(frozen=True)
class Problem:
    """One broken invariant: `kind` is "counts" or "primary"."""

    kind: str
    account_id: uuid.UUID
    detail: str


# Real counts of an account's customers: live (not archived) and total.
_LIVE = func.count(case((c.archived_at.is_(None), 1))).label("live")
_TOTAL = func.count().label("total")


def counter_problems(tx: Connection) -> list[Problem]:
    """Accounts whose counter row differs from COUNT(*) of their customers (a missing
    counter row counts as 0, 0). One statement: one consistent view on either database."""
    real = select(c.account_id, _LIVE, _TOTAL).group_by(c.account_id).subquery()
    accounts = select(tables.account.c.id).subquery()
    query = (
        select(
            accounts.c.id,
            func.coalesce(n.live, 0).label("stored_live"),
            func.coalesce(n.total, 0).label("stored_total"),
            func.coalesce(real.c.live, 0).label("real_live"),
            func.coalesce(real.c.total, 0).label("real_total"),
        )
        .select_from(accounts)
        .outerjoin(tables.customer_count, n.account_id == accounts.c.id)
        .outerjoin(real, real.c.account_id == accounts.c.id)
    )
    found = []
    for row in tx.execute(query):
        if (row.stored_live, row.stored_total) != (row.real_live, row.real_total):
            detail = (
                f"counters say live={row.stored_live} total={row.stored_total}, "
                f"the customers table holds live={row.real_live} total={row.real_total}"
            )
            found.append(Problem("counts", row.id, detail))
    return found


_BILLED = ("PRIMARY", "STANDARD")


def primary_problems(tx: Connection) -> list[Problem]:
    """Customers with a live contact receiving billing communications but no live PRIMARY
    contact (the rule of `contacts/service.py`)."""
    billed = func.count(case((ct.billing_preference.in_(_BILLED), 1)))
    primary = func.count(case((ct.billing_preference == literal("PRIMARY"), 1)))
    query = (
        select(ct.account_id, ct.customer_id)
        .where(ct.archived_at.is_(None))
        .group_by(ct.account_id, ct.customer_id)
        .having(and_(billed > 0, primary == 0))
    )
    return [
        Problem("primary", row.account_id, f"customer {row.customer_id} has billed contacts but no PRIMARY one")
        for row in tx.execute(query)
    ]


def check(tx: Connection) -> list[Problem]:
    """Every broken invariant; empty when the database is consistent."""
    return [*counter_problems(tx), *primary_problems(tx)]


def repair_counts(tx: Connection) -> list[uuid.UUID]:
    """Recompute the counters of the accounts `counter_problems` finds; returns them.

    Safe while the server writes: each account's counter row is locked before its
    customers are counted, and every write that changes customers bumps that row in its own
    transaction, so a write in flight either committed before the count or bumps after."""
    repaired = []
    for problem in counter_problems(tx):
        _lock_counter(tx, problem.account_id)
        live, total = tx.execute(select(_LIVE, _TOTAL).where(c.account_id == problem.account_id)).one()
        _store_counts(tx, problem.account_id, int(live), int(total))
        repaired.append(problem.account_id)
    return repaired


def _lock_counter(tx: Connection, account_id: uuid.UUID) -> None:
    tx.execute(select(n.account_id).where(n.account_id == account_id).with_for_update())


def _store_counts(tx: Connection, account_id: uuid.UUID, live: int, total: int) -> None:
    statement = upsert.insert(tx, tables.customer_count).values(account_id=account_id, live=live, total=total)
    tx.execute(statement.on_conflict_do_update(index_elements=["account_id"], set_={"live": live, "total": total}))
