"""What the fixtures hand a test: a sandbox account (`patron_account`) with the control
plane's calls on it, and its test clock (`patron_clock`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from patron.client import Client
from patron.testing.control import Control, FixtureSource


@dataclass(frozen=True)
class PatronAccount:
    """A fresh account on the sandbox: its credentials, the Sequence API's `base_url`
    (`http://HOST:PORT/api`), and the operator's calls on it (docs/sandbox.md)."""

    account_id: str
    client_id: str
    client_secret: str
    base_url: str
    control: Control = field(repr=False)

    def client(self, *, timeout: float = 10.0, retries: int = 0) -> Client:
        """A new `patron.client.Client` for this account (close it, or use it in `with`);
        `retries`: as `Client` takes them (docs/client.md)."""
        return Client(self.base_url, self.client_id, self.client_secret, timeout=timeout, retries=retries)

    def reset(self) -> None:
        """Remove every customer, alias, contact, organization, property and idempotency key;
        the credentials stay."""
        self.control.reset(self.account_id)

    def snapshot(self, name: str) -> None:
        """Save the account's data as snapshot `name`."""
        self.control.snapshot(self.account_id, name)

    def restore(self, name: str) -> None:
        """Bring back exactly the data of snapshot `name`."""
        self.control.restore(self.account_id, name)

    def seed(self, fixture: FixtureSource) -> Any:
        """Load `{"customers": [...]}` (a mapping, or a JSON or YAML file's path); the answer
        says what was stored."""
        return self.control.seed(self.account_id, fixture)

    def inject_fault(
        self,
        *,
        path: str,
        status: int | None = None,
        method: str | None = None,
        count: int | None = None,
        probability: float | None = None,
        retry_after: int | None = None,
        delay_ms: int | None = None,
    ) -> Any:
        """Make `/api` requests matching `method` and `path` (`*` matches one segment) answer
        `status` (and `Retry-After`), or answer late by `delay_ms`; `count` times, else until
        `clear_faults()`. Returns the rule as stored (with its id)."""
        given = {
            "path": path,
            "status": status,
            "method": method,
            "count": count,
            "probability": probability,
            "retryAfter": retry_after,
            "delayMs": delay_ms,
        }
        return self.control.inject_fault(self.account_id, {k: v for k, v in given.items() if v is not None})

    def clear_faults(self) -> None:
        self.control.clear_faults(self.account_id)

    def requests(self, *, limit: int | None = None) -> list[Any]:
        """The account's last `/api` requests (the request journal)."""
        return self.control.requests(self.account_id, limit=limit)


@dataclass(frozen=True)
class PatronClock:
    """The account's test clock: every timestamp patron writes for it, and the time part of
    its new ids, follow it. Times are ISO 8601 strings as the API writes them."""

    account: PatronAccount

    def freeze(self, moment: str | datetime) -> str:
        """Stop the account's time at `moment` (a naive `datetime` is UTC); returns it."""
        return str(self.account.control.freeze(self.account.account_id, moment)["now"])

    def advance(self, by: str | timedelta) -> str:
        """Move the frozen time forward by an ISO 8601 duration (`P7D`) or a `timedelta`;
        returns the new time."""
        return str(self.account.control.advance(self.account.account_id, by)["now"])

    def reset(self) -> None:
        """Back to the wall clock."""
        self.account.control.unfreeze(self.account.account_id)

    def now(self) -> str:
        """The time the account's requests see now."""
        return str(self.account.control.clock(self.account.account_id)["now"])
