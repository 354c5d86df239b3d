"""One request and its answer as the edge saw them: what the sandbox's journal records.
Here, beside `auth.py`, because both the edge (`web/sandbox.py`) and the journal
(`sandbox/service/journal.py`) use it, and neither may import the other."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Exchange:
    """One request of an account as the edge saw it, for the journal: its bodies' first
    bytes (as many as the journal keeps) and their whole sizes."""

    account_id: uuid.UUID
    id: uuid.UUID
    at: datetime
    request_id: str
    method: str
    path: str
    query: str
    status: int
    duration_ms: float
    request_body: bytes
    request_size: int
    response_body: bytes
    response_size: int
