"""The only place where the time of day is read and ids are minted (object and request ids),
so tests can pin both. Credential ids and secrets, and the server key, come from `secrets`
on purpose: they must be unguessable and are never pinned (`accounts/service.py`, `config.py`).

Two controls, both for the sandbox (docs/sandbox.md):
- `pinned(moment)`: within it, `utc_now` answers `moment` and ids carry its milliseconds.
  The edge pins a request to its account's test clock, so parallel tests never see each
  other's time (a context variable: it follows the request into its worker thread).
- `seed_ids(n)`: the random part of ids comes from a generator seeded with `n`, so the same
  calls mint the same ids run after run.
"""

from __future__ import annotations

import os
import random
import secrets
import string
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_pinned: ContextVar[datetime | None] = ContextVar("patron_clock_pinned", default=None)


def utc_now() -> datetime:
    """Current UTC time (or the pinned one), truncated to milliseconds (the precision patron
    stores and shows)."""
    pinned = _pinned.get()
    if pinned is not None:
        return pinned
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@contextmanager
def pinned(moment: datetime | None) -> Iterator[None]:
    """Within this block, time stands at `moment` (None: the wall clock)."""
    if moment is not None:
        moment = moment.astimezone(UTC)
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    token = _pinned.set(moment)
    try:
        yield
    finally:
        _pinned.reset(token)


def pinned_moment() -> datetime | None:
    """The moment time stands at here (None: the wall clock runs)."""
    return _pinned.get()


def _now_ms() -> int:
    pinned = _pinned.get()
    if pinned is not None:
        return int(pinned.timestamp() * 1000)
    return time.time_ns() // 1_000_000


class _Minter:
    """Time-ordered keys: 48 bits of milliseconds, then 74 bits, random for a millisecond's
    first key. Later keys of that millisecond add a random step to the last one (RFC 9562's
    monotonic random method), also when several accounts' clocks interleave; the last key
    of the most recent 4,096 milliseconds seen is kept."""

    _KEPT = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: OrderedDict[int, int] = OrderedDict()
        self._random: Callable[[int], bytes] = os.urandom

    def seed(self, seed: int | None) -> None:
        with self._lock:
            self._random = os.urandom if seed is None else random.Random(seed).randbytes  # noqa: S311 (ids must repeat, not be secret)
            self._last.clear()

    def keys(self, count: int) -> list[int]:
        ms = _now_ms() & ((1 << 48) - 1)
        with self._lock:
            last = self._last.get(ms)
            keys: list[int] = []
            if last is None:
                # A new millisecond starts in the lower half of its 74 random bits and each
                # later key adds 1 to 2**32: room for billions before its bits could change.
                last = (ms << 74) | int.from_bytes(self._random(10), "big") >> 7
                keys.append(last)
            steps = self._random(4 * (count - len(keys)))
            for at in range(0, len(steps), 4):
                last += 1 + int.from_bytes(steps[at : at + 4], "big")
                keys.append(last)
            self._last[ms] = last
            self._last.move_to_end(ms)
            if len(self._last) > self._KEPT:
                self._last.popitem(last=False)
        return keys


_minter = _Minter()


def seed_ids(seed: int | None) -> None:
    """Mint ids from a generator seeded with `seed` from now on (None: the system's
    randomness, the default)."""
    _minter.seed(seed)


def _as_uuid7(key: int) -> int:
    low = (1 << 62) - 1
    return ((key >> 74) << 80) | (0x7 << 76) | (((key >> 62) & 0xFFF) << 64) | (0b10 << 62) | (key & low)


def new_id() -> uuid.UUID:
    """A time-ordered UUID (version 7, RFC 9562): 48-bit milliseconds, then random bits."""
    return uuid.UUID(int=_as_uuid7(_minter.keys(1)[0]))


def new_wall_id() -> uuid.UUID:
    """A time-ordered UUID from the wall clock and the system's randomness, never pinned nor
    seeded: for records of what happened (the request journal), not for an account's objects."""
    value = (time.time_ns() // 1_000_000) << 74 | int.from_bytes(os.urandom(10), "big") >> 6
    return uuid.UUID(int=_as_uuid7(value))


_SECRET_ALPHABET = string.ascii_letters + string.digits
_SECRET_LENGTH = 32


def new_webhook_secret() -> str:
    """A webhook policy's signing secret: `whsec_` and 32 letters or digits drawn with
    `secrets` (about 190 bits; never pinned nor seeded). Every character is also base64, so
    the secret works for Sequence's signature and the Standard Webhooks headers alike."""
    return "whsec_" + "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(_SECRET_LENGTH))


def new_request_id() -> str:
    """A response's `Request-Id`: 32 hex digits of a random UUID (version 4)."""
    return uuid.uuid4().hex


def new_hex_ids(count: int) -> list[str]:
    """`count` ids as `new_id` makes them, as 32 hex digits (the form bulk loads hand to the
    database), minted together and increasing, also across calls within a millisecond, so
    rows stored in that order list in that order."""
    return [f"{_as_uuid7(key):032x}" for key in _minter.keys(count)]


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
