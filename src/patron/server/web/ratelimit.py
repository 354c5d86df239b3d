"""Rate limits per credential, decided at the edge (see `edge.py`): a credential's request
rate (`PATRON_RATE_LIMIT`, Sequence's 100 a minute by default) and failed authentications
per client id (`PATRON_AUTH_FAILURE_LIMIT`, against guessing secrets).

Moving windows (limits' `MovingWindowRateLimiter`): no 60 seconds ever hold more than the
limit, also across a window's edge. The counts live where `PATRON_RATE_LIMIT_STORAGE`
says, so every worker (and, with Redis, every machine) draws on one allowance."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from patron.server.config import Settings, parse_limits
from patron.server.errors import Unavailable
from patron.server.web import limitstore, metrics

assert limitstore.SQLiteStorage.STORAGE_SCHEME  # registers `sqlite://` with limits

_UNAVAILABLE = "the rate limit storage cannot be reached; try again shortly"


@dataclass(frozen=True)
class Verdict:
    """One limit's state after a request: what the `RateLimit-*` headers say."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        """`RateLimit-*` (IETF draft: the limit, what is left, seconds until a slot frees),
        and on a refusal `Retry-After`, the same wait."""
        pairs = [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset_seconds).encode()),
        ]
        if not self.allowed:
            pairs.append((b"retry-after", str(max(1, self.reset_seconds)).encode()))
        return pairs


class Limiter:
    """The two limits of `settings`, counted in one storage."""

    def __init__(self, settings: Settings) -> None:
        self._requests = parse_limits(settings.rate_limit)
        self._failures = parse_limits(settings.auth_failure_limit)
        self._strategy = (
            MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage, wrap_exceptions=True))
            if self._requests or self._failures
            else None
        )

    def admit(self, client_id: str) -> Verdict | None:
        """Count one request of an authenticated credential: the verdict of its tightest
        limit (None when there is no limit)."""
        return self._hit(self._requests, "requests", client_id)

    def locked_out(self, client_id: str) -> Verdict | None:
        """A refusal when `client_id` has used up its failed authentications (checked
        before its secret is, so guessing stops there)."""
        verdict = self._stats(self._failures, "auth_failures", client_id)
        if verdict is None or verdict.remaining > 0:
            return None
        metrics.RATE_LIMITED.labels("auth_failures").inc()
        return Verdict(False, verdict.limit, 0, verdict.reset_seconds)

    def failed(self, client_id: str) -> None:
        """Count a failed authentication for `client_id`."""
        self._hit(self._failures, "auth_failures", client_id, count_refusal=False)

    def _hit(
        self, items: list[RateLimitItem], name: str, client_id: str, *, count_refusal: bool = True
    ) -> Verdict | None:
        if self._strategy is None or not items:
            return None
        try:
            for item in items:
                if not self._strategy.hit(item, name, client_id):
                    if count_refusal:
                        metrics.RATE_LIMITED.labels(name).inc()
                    return self._verdict(item, name, client_id, allowed=False)
            return min((self._verdict(item, name, client_id) for item in items), key=lambda v: v.remaining)
        except StorageError:
            raise Unavailable(_UNAVAILABLE) from None

    def _stats(self, items: list[RateLimitItem], name: str, client_id: str) -> Verdict | None:
        if self._strategy is None or not items:
            return None
        try:
            return min((self._verdict(item, name, client_id) for item in items), key=lambda v: v.remaining)
        except StorageError:
            raise Unavailable(_UNAVAILABLE) from None

    def _verdict(self, item: RateLimitItem, name: str, client_id: str, *, allowed: bool = True) -> Verdict:
        assert self._strategy is not None
        reset_at, remaining = self._strategy.get_window_stats(item, name, client_id)
        wait = max(0, math.ceil(reset_at - time.time()))
        return Verdict(allowed, item.amount, max(0, remaining), wait)
