"""The only place where time is read and ids are minted, so tests can pin both."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime


def utc_now() -> datetime:
    """Current UTC time, truncated to milliseconds (the precision patron stores and shows)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_id() -> uuid.UUID:
    """A time-ordered UUID (version 7, RFC 9562): 48-bit milliseconds, then random bits."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a `Z`, as every timestamp appears on the wire."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def maybe_iso(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)
