"""The only place where the time of day is read and ids are minted (object and request ids),
so tests can pin both. Credential ids and secrets, and the server key, come from `secrets`
on purpose: they must be unguessable and are never pinned (`accounts/service.py`, `config.py`)."""

from __future__ import annotations

import os
import threading
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


def new_request_id() -> str:
    """A response's `Request-Id`: 32 hex digits of a random UUID (version 4)."""
    return uuid.uuid4().hex


# The last id `new_hex_ids` made, as (milliseconds << 74) | its 74 random bits.
_last_bulk_id = 0
_bulk_lock = threading.Lock()


def new_hex_ids(count: int) -> list[str]:
    """`count` ids as `new_id` makes them, as 32 hex digits (the form bulk loads hand to the
    database), minted together and increasing, also across calls (RFC 9562's monotonic
    method: within a millisecond, later ids continue from the last), so rows stored in
    that order list in that order."""
    global _last_bulk_id
    ms = (time.time_ns() // 1_000_000) & ((1 << 48) - 1)
    entropy = os.urandom(10 * count)
    # 74 random bits each: 12 go below the version, 62 below the variant.
    keys = sorted((ms << 74) | int.from_bytes(entropy[at : at + 10], "big") >> 6 for at in range(0, 10 * count, 10))
    with _bulk_lock:
        if keys and keys[0] <= _last_bulk_id:
            shift = _last_bulk_id + 1 - keys[0]
            keys = [key + shift for key in keys]
        if keys:
            _last_bulk_id = keys[-1]
    low = (1 << 62) - 1
    return [
        f"{((key >> 74) << 80) | (0x7 << 76) | (((key >> 62) & 0xFFF) << 64) | (0b10 << 62) | (key & low):032x}"
        for key in keys
    ]


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a `Z`, as every timestamp appears on the wire."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    elif moment.utcoffset():
        moment = moment.astimezone(UTC)
    # isoformat: "YYYY-MM-DDTHH:MM:SS.mmm+00:00", three times faster than strftime.
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def maybe_iso(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)
