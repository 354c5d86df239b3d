"""Who is calling: the principal every request and command acts as."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Principal:
    """The caller: the account every object of the request belongs to, and the credential
    it authenticated with (`cli` for commands run on the server itself), and the moment
    the account's test clock stands at (None: the wall clock; docs/sandbox.md)."""

    account_id: uuid.UUID
    client_id: str
    frozen_at: datetime | None = None
