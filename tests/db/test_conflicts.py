"""The transaction boundary's safety net: a unique key broken by a write that did not
foresee it is a `Conflict` (409), never a 500; other database errors pass unchanged."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from patron.server import clock
from patron.server.db import tables
from patron.server.db.engine import Database
from patron.server.errors import Conflict


def _account(ident: uuid.UUID) -> dict[str, object]:
    return {"id": ident, "name": "twice", "created_at": clock.utc_now()}


def test_a_broken_unique_key_is_a_conflict(database: Database) -> None:
    ident = clock.new_id()
    with database.write() as tx:
        tx.execute(insert(tables.account).values(**_account(ident)))
    with pytest.raises(Conflict), database.write() as tx:
        tx.execute(insert(tables.account).values(**_account(ident)))


def test_other_integrity_errors_are_not_conflicts(database: Database) -> None:
    missing_account = {"account_id": clock.new_id(), "live": 0, "total": 0}
    with pytest.raises(IntegrityError), database.write() as tx:
        tx.execute(insert(tables.customer_count).values(**missing_account))
