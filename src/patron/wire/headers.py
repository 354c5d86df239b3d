"""HTTP headers both ends read alike: the server's webhook sender reads a receiver's
`Retry-After`, the client the API's."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds from `now` (the wall clock by default): delay-seconds (a
    whole number) or an HTTP date (one already past: 0); None when absent or neither."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())
