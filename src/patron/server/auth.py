"""Who is calling: the principal every request and command acts as."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """The caller: the account every object of the request belongs to, and the credential
    it authenticated with (`cli` for commands run on the server itself)."""

    account_id: uuid.UUID
    client_id: str
