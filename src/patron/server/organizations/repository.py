"""All SQL for organizations and their members."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, delete, func, select

from patron.server.db import locks, tables, upsert

o = tables.organization.c
m = tables.organization_member.c


class Organization(NamedTuple):
    id: uuid.UUID
    owner_id: uuid.UUID


class Link(NamedTuple):
    """A customer's place in an organization: it owns it (`customer_id == owner_id`) or
    is a member."""

    id: uuid.UUID
    owner_id: uuid.UUID
    customer_id: uuid.UUID


class Membership(NamedTuple):
    organization_id: uuid.UUID
    customer_id: uuid.UUID


def get(tx: Connection, account_id: uuid.UUID, organization_id: uuid.UUID) -> Organization | None:
    query = select(o.id, o.owner_id).where(o.account_id == account_id, o.id == organization_id)
    row = tx.execute(query).first()
    return Organization._make(row) if row is not None else None


def owned_by(tx: Connection, account_id: uuid.UUID, owner_id: uuid.UUID) -> uuid.UUID | None:
    query = select(o.id).where(o.account_id == account_id, o.owner_id == owner_id)
    return tx.execute(query).scalar()


def lock_hierarchy(tx: Connection, account_id: uuid.UUID) -> None:
    """Take the account's hierarchy lock to the end of the transaction: writes that add
    members (and so decide whether a cycle would form) run one after the other, so two
    organizations cannot each take the other's owner at once. SQLite: nothing to do (one
    writer at a time). Taken before any organization's row lock, never after."""
    locks.exclusive(tx, locks.HIERARCHY, account_id)


def lock(tx: Connection, account_id: uuid.UUID, organization_id: uuid.UUID) -> Organization | None:
    """The organization, its row locked to the end of the transaction (FOR NO KEY UPDATE;
    SQLite ignores it): membership changes of one organization run one after the other."""
    query = (
        select(o.id, o.owner_id)
        .where(o.account_id == account_id, o.id == organization_id)
        .with_for_update(key_share=True)
    )
    row = tx.execute(query).first()
    return Organization._make(row) if row is not None else None


def insert_organization(
    tx: Connection, *, account_id: uuid.UUID, organization_id: uuid.UUID, owner_id: uuid.UUID, now: datetime
) -> bool:
    """Insert an organization unless its owner already owns one (the unique key decides,
    waiting for a racing insert to commit or roll back); True when this one was stored."""
    statement = (
        upsert.insert(tx, tables.organization)
        .values(account_id=account_id, id=organization_id, owner_id=owner_id, created_at=now)
        .on_conflict_do_nothing(index_elements=["account_id", "owner_id"])
        .returning(o.id)
    )
    return tx.execute(statement).first() is not None


def count_members(tx: Connection, account_id: uuid.UUID, organization_id: uuid.UUID) -> int:
    query = select(func.count()).where(m.account_id == account_id, m.organization_id == organization_id)
    return int(tx.execute(query).scalar_one())


def member_ids(tx: Connection, account_id: uuid.UUID, organization_id: uuid.UUID) -> list[uuid.UUID]:
    query = (
        select(m.customer_id)
        .where(m.account_id == account_id, m.organization_id == organization_id)
        .order_by(m.position)
    )
    return list(tx.execute(query).scalars())


def add_members(
    tx: Connection, account_id: uuid.UUID, organization_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]
) -> int:
    """Append members after the last one; members already in are left where they are.
    Returns how many were added. The caller holds the organization's lock (`lock`), so
    positions stay distinct."""
    if not customer_ids:
        return 0
    start_query = select(func.coalesce(func.max(m.position), -1)).where(
        m.account_id == account_id, m.organization_id == organization_id
    )
    start = int(tx.execute(start_query).scalar_one()) + 1
    rows = [
        {"account_id": account_id, "organization_id": organization_id, "customer_id": ident, "position": start + offset}
        for offset, ident in enumerate(customer_ids)
    ]
    statement = (
        upsert.insert(tx, tables.organization_member).values(rows).on_conflict_do_nothing().returning(m.customer_id)
    )
    return len(tx.execute(statement).all())


def remove_members(
    tx: Connection, account_id: uuid.UUID, organization_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]
) -> None:
    if customer_ids:
        tx.execute(
            delete(tables.organization_member).where(
                m.account_id == account_id,
                m.organization_id == organization_id,
                m.customer_id.in_(customer_ids),
            )
        )


def parents_of(tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Owners of the organizations these customers are members of."""
    query = (
        select(o.owner_id)
        .join(tables.organization_member, (m.account_id == o.account_id) & (m.organization_id == o.id))
        .where(o.account_id == account_id, m.customer_id.in_(customer_ids))
    )
    return set(tx.execute(query).scalars())


# Built once: every page of customers asks it.
_TOUCHING = (
    select(o.id, o.owner_id, o.owner_id.label("customer_id"))
    .where(o.account_id == bindparam("account_id"), o.owner_id.in_(bindparam("customer_ids", expanding=True)))
    .union_all(
        select(o.id, o.owner_id, m.customer_id)
        .join(tables.organization_member, (m.account_id == o.account_id) & (m.organization_id == o.id))
        .where(o.account_id == bindparam("account_id"), m.customer_id.in_(bindparam("customer_ids", expanding=True)))
    )
)


def touching(tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]) -> list[Link]:
    """Every organization a customer owns or belongs to."""
    rows = tx.execute(_TOUCHING, {"account_id": account_id, "customer_ids": list(customer_ids)})
    return [Link._make(row) for row in rows]


def members_of(tx: Connection, account_id: uuid.UUID, organization_ids: Sequence[uuid.UUID]) -> list[Membership]:
    query = (
        select(m.organization_id, m.customer_id)
        .where(m.account_id == account_id, m.organization_id.in_(organization_ids))
        .order_by(m.organization_id, m.position)
    )
    return [Membership._make(row) for row in tx.execute(query)]
