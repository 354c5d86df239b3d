"""Injected faults (`/_patron/accounts/{id}/faults`, docs/sandbox.md): the rule an operator
sends, and the rule as patron keeps it, with what is left of its count."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from patron.wire.models import Wire

MAX_PATH = 1000
"""A rule's path pattern (the column's length)."""
MAX_COUNT = 1_000_000
MAX_RETRY_AFTER = 86_400
"""A day, in seconds."""
MAX_DELAY_MS = 60_000
Method = Literal["GET", "POST", "PUT", "DELETE"]


class FaultRule(Wire):
    """What to do to the account's `/api` requests that match `method` (absent: any) and
    `path` (a pattern: `*` within a segment, `**` across segments): answer `status`, after
    `delayMs`; at most `count` times (absent: every time), each with `probability`."""

    path: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PATH)]
    method: Method | None = None
    status: Annotated[int, msgspec.Meta(ge=400, le=599)] | None = None
    count: Annotated[int, msgspec.Meta(ge=1, le=MAX_COUNT)] | None = None
    probability: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = None
    retry_after: Annotated[int, msgspec.Meta(ge=0, le=MAX_RETRY_AFTER)] | None = None
    delay_ms: Annotated[int, msgspec.Meta(ge=0, le=MAX_DELAY_MS)] | None = None


class Fault(Wire):
    """A rule as patron keeps it; `remaining` (absent: no count) is what is left of its count,
    0 once used up."""

    id: str
    path: str
    created_at: str
    method: Method | None = None
    status: int | None = None
    remaining: int | None = None
    probability: float | None = None
    retry_after: int | None = None
    delay_ms: int | None = None


class FaultList(Wire):
    items: list[Fault]
