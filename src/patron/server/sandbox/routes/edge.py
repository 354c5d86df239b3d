"""The sandbox's side of the edge's hooks (`web/sandbox.Hooks`): the fault rules and the
journal, for `app.py` to hand to the control plane (web cannot import the sandbox)."""

from __future__ import annotations

import random
import uuid

from sqlalchemy import Connection

from patron.server.db.snapshot import Snapshot
from patron.server.exchange import Exchange
from patron.server.sandbox.service import faults, journal
from patron.server.web import sandbox


class Hooks:
    """What the edge asks of the sandbox on each `/api` request of an account."""

    max_body = journal.MAX_BODY

    def __init__(self) -> None:
        self._trimmer = journal.Trimmer()

    def faults(self, reads: Snapshot, account_id: uuid.UUID, method: str, path: str) -> list[sandbox.Fault]:
        return [
            sandbox.Fault(rule.id, rule.status, rule.delay_ms, rule.retry_after, counted=rule.remaining is not None)
            for rule in faults.candidates(reads, account_id, method, path, random.random)
        ]

    def spend(self, tx: Connection, account_id: uuid.UUID, fault_id: uuid.UUID) -> bool:
        return faults.spend(tx, account_id, fault_id)

    def record(self, tx: Connection, exchange: Exchange) -> None:
        journal.record(tx, exchange, trim=self._trimmer.due(exchange.account_id))
