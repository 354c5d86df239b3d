"""Settings: one typed object, built once at the edge (CLI or ASGI factory) and passed in."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from limits import RateLimitItem, parse_many

DEFAULT_DATABASE_URL = "sqlite:///patron.db"
DEFAULT_KEY_FILE = "patron.key"


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: str) -> float:
    """`250ms`, `5s`, `5m`, `2h`, `3d` or a bare number of seconds -> seconds."""
    text = value.strip().lower()
    for unit in sorted(_UNITS, key=len, reverse=True):
        if text.endswith(unit) and text[: -len(unit)].strip():
            number = text[: -len(unit)].strip()
            break
    else:
        number, unit = text, "s"
    try:
        seconds = float(number) * _UNITS[unit]
    except ValueError:
        raise ValueError(f"not a duration: {value!r} (e.g. `5s`, `5m`, `2h`)") from None
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"not a duration: {value!r} (e.g. `5s`, `5m`, `2h`)")
    return seconds


def parse_schedule(value: str) -> tuple[float, ...]:
    """`0,5s,5m` -> the delay before each attempt, in seconds (the first is usually 0)."""
    steps = tuple(parse_duration(step) for step in value.split(",") if step.strip())
    if not steps:
        raise ValueError(f"not a retry schedule: {value!r} (e.g. `0,5s,5m,30m`)")
    return steps


DEFAULT_RETRY_SCHEDULE = "0,5s,5m,30m,2h,5h,10h,14h,20h,24h"


@dataclass(frozen=True)
class Settings:
    """Everything patron can be configured with (environment variables in brackets)."""

    database_url: str = DEFAULT_DATABASE_URL
    """Where the data lives [PATRON_DATABASE_URL]: `sqlite:///path.db` or `postgresql://...`."""
    secret_key: str = field(default="", repr=False)
    """Server key for credential hashes and cursor signatures [PATRON_SECRET_KEY]."""
    bootstrap: bool = True
    """Create a sandbox account on an empty database at `serve` [PATRON_BOOTSTRAP]."""
    pool_size: int = 10
    """Connections kept open per worker process (PostgreSQL) [PATRON_POOL_SIZE]."""
    pool_timeout: float = 5.0
    """Seconds a request waits for a connection before a 503 [PATRON_POOL_TIMEOUT]."""
    busy_timeout_ms: int = 10_000
    """How long a SQLite writer waits for the write lock [PATRON_BUSY_TIMEOUT_MS]."""
    connect_timeout: float = 3.0
    """Seconds to wait when opening a PostgreSQL connection [PATRON_CONNECT_TIMEOUT]."""
    statement_timeout_ms: int = 10_000
    """Longest a PostgreSQL statement may run, lock waits included, before the request gets
    a 503; 0 means no limit (migrations never have one) [PATRON_STATEMENT_TIMEOUT_MS]."""
    rate_limit: str = "100/minute"
    """Requests per credential, in the `limits` notation (`1500/minute`, several joined by
    `;`), Sequence's documented rate by default; `0` turns it off [PATRON_RATE_LIMIT]."""
    auth_failure_limit: str = "10/minute"
    """Failed authentications per client id before every attempt with it gets a 429 until
    the window frees up; `0` turns it off [PATRON_AUTH_FAILURE_LIMIT]."""
    rate_limit_storage: str = "memory://"
    """Where the limits count [PATRON_RATE_LIMIT_STORAGE]: `memory://` (one process),
    `sqlite:///path` (the processes of one machine; `serve --workers N` sets one up) or
    `redis://host:port` (several machines)."""
    admin_token: str = field(default="", repr=False)
    """Turns the sandbox's control plane under `/_patron/` on: its operator requests carry
    `Authorization: Bearer <token>`; empty, its paths are 404 (docs/sandbox.md)
    [PATRON_ADMIN_TOKEN]."""
    id_seed: int | None = None
    """Mint ids from a generator seeded with this number, so a script run twice against a
    fresh sandbox with a frozen clock makes the same ids; one worker only [PATRON_ID_SEED]."""
    webhooks: bool = True
    """Send webhook deliveries; off, events and deliveries are still recorded (and can be
    read and flushed under `/_patron/`), nothing is sent on its own [PATRON_WEBHOOKS]."""
    webhook_retry_schedule: tuple[float, ...] = field(default_factory=lambda: parse_schedule(DEFAULT_RETRY_SCHEDULE))
    """The delay before each attempt of a delivery, ±10% jitter: 10 attempts over about
    three days by default; `0,1s,2s` suits tests [PATRON_WEBHOOK_RETRY_SCHEDULE]."""
    webhook_timeout: float = 10.0
    """Seconds a receiver has to answer an attempt (5 s at most to connect)
    [PATRON_WEBHOOK_TIMEOUT]."""
    webhook_allow_private: bool = True
    """Deliver to loopback, link-local and private addresses (a local sandbox needs it);
    `false` for production, checked after DNS resolution [PATRON_WEBHOOK_ALLOW_PRIVATE]."""
    webhook_standard_headers: bool = True
    """Send the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
    `webhook-signature`) beside `Sequence-Signature` [PATRON_WEBHOOK_STANDARD_HEADERS]."""
    event_retention: float = 30 * 86400.0
    """How long events and their deliveries are kept, e.g. `30d` [PATRON_EVENT_RETENTION]."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from `PATRON_*` variables; explicit overrides win."""
        source = os.environ if env is None else env
        values: dict[str, object] = {}
        if "PATRON_DATABASE_URL" in source:
            values["database_url"] = source["PATRON_DATABASE_URL"]
        for name, var in (
            ("bootstrap", "PATRON_BOOTSTRAP"),
            ("webhooks", "PATRON_WEBHOOKS"),
            ("webhook_allow_private", "PATRON_WEBHOOK_ALLOW_PRIVATE"),
            ("webhook_standard_headers", "PATRON_WEBHOOK_STANDARD_HEADERS"),
        ):
            if var in source:
                values[name] = _bool(source[var])
        for name, var, parse in (
            ("webhook_retry_schedule", "PATRON_WEBHOOK_RETRY_SCHEDULE", parse_schedule),
            ("webhook_timeout", "PATRON_WEBHOOK_TIMEOUT", parse_duration),
            ("event_retention", "PATRON_EVENT_RETENTION", parse_duration),
        ):
            if var in source:
                values[name] = parse(source[var])
        for name, var, kind in (
            ("pool_size", "PATRON_POOL_SIZE", int),
            ("pool_timeout", "PATRON_POOL_TIMEOUT", float),
            ("busy_timeout_ms", "PATRON_BUSY_TIMEOUT_MS", int),
            ("connect_timeout", "PATRON_CONNECT_TIMEOUT", float),
            ("statement_timeout_ms", "PATRON_STATEMENT_TIMEOUT_MS", int),
            ("id_seed", "PATRON_ID_SEED", int),
        ):
            if var in source:
                values[name] = kind(source[var])
        for name, var in (
            ("rate_limit", "PATRON_RATE_LIMIT"),
            ("auth_failure_limit", "PATRON_AUTH_FAILURE_LIMIT"),
            ("rate_limit_storage", "PATRON_RATE_LIMIT_STORAGE"),
            ("admin_token", "PATRON_ADMIN_TOKEN"),
        ):
            if var in source:
                values[name] = source[var].strip()
        values.update({k: v for k, v in overrides.items() if v is not None})
        key = str(values.get("secret_key") or source.get("PATRON_SECRET_KEY", ""))
        if not key:
            key = load_or_create_key_file(Path(source.get("PATRON_SECRET_KEY_FILE", DEFAULT_KEY_FILE)))
        values["secret_key"] = key
        settings = cls(**values)  # type: ignore[arg-type]
        parse_limits(settings.rate_limit)
        parse_limits(settings.auth_failure_limit)
        return settings


def parse_limits(notation: str) -> list[RateLimitItem]:
    """`100/minute;1000/hour` -> its limits; `0` (or nothing) -> none. A `ValueError` names
    the notation, so a typo stops `serve` at once instead of leaving the API unprotected."""
    if notation.strip() in {"", "0"}:
        return []
    try:
        return parse_many(notation)
    except ValueError:
        raise ValueError(f"not a rate limit: {notation!r} (e.g. `100/minute`, or `0` for none)") from None


def load_or_create_key_file(path: Path) -> str:
    """Read the server key from `path`, creating it (mode 0600) with 32 random bytes if absent."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process created it first; theirs wins.
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
