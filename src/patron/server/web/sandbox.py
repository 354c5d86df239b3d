"""The sandbox's hooks at the edge (docs/sandbox.md), on only when an admin token is set:
who the operator is (a bearer token, compared in constant time), and what runs around
every `/api` request of an account: its injected faults and `Prefer` answers, and its
request journal."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from litestar.types import ASGIApp, Receive, Scope, Send

from patron.server.db.engine import Database

BAD_TOKEN = "missing or invalid admin token: send Authorization: Bearer <PATRON_ADMIN_TOKEN>"  # noqa: S105 (a message, not a secret)


@dataclass(frozen=True)
class Operator:
    """The caller of the operator's control plane (`/_patron/accounts...`)."""


OPERATOR = Operator()


@dataclass(frozen=True)
class Control:
    """The control plane: the admin token and the database its hooks use."""

    token: str
    database: Database

    def is_operator(self, authorization: bytes | None) -> bool:
        scheme, _, presented = (authorization or b"").partition(b" ")
        expected = self.token.encode()
        # Compared in constant time whatever was sent (an empty value included).
        return hmac.compare_digest(presented.strip(), expected) and scheme.lower() == b"bearer"

    async def around(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Run an authenticated account's request (`scope["user"]`) with the sandbox's
        behaviour around it."""
        await app(scope, receive, send)
