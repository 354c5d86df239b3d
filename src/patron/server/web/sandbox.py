"""The sandbox's hooks at the edge (docs/sandbox.md), on only when an admin token is set:
who the operator is (a bearer token, compared in constant time), and what runs around
every `/api` request of an account: its injected faults and `Prefer` answers, and its
request journal.

The HTTP side is here; the rules and the storage are the sandbox's (`Hooks`, given by
`app.py` from `sandbox/routes/edge.py`): web cannot import the sandbox, whose routes
import web."""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

import anyio
from anyio.to_thread import run_sync
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy import Connection

from patron.server import clock
from patron.server.auth import Principal
from patron.server.db.engine import Database
from patron.server.db.snapshot import Snapshot
from patron.server.errors import InvalidInput, PatronError
from patron.server.exchange import Exchange
from patron.server.web import errors, observe
from patron.wire.sandbox.faults import MAX_DELAY_MS

BAD_TOKEN = "missing or invalid admin token: send Authorization: Bearer <PATRON_ADMIN_TOKEN>"  # noqa: S105 (a message, not a secret)

log = logging.getLogger("patron.sandbox")


@dataclass(frozen=True)
class Operator:
    """The caller of the operator's control plane (`/_patron/accounts...`)."""


OPERATOR = Operator()


@dataclass(frozen=True)
class Fault:
    """A fault rule that would act on a request: wait `delay_ms`, then answer `status`
    (None: the route's own answer); `counted`: only while its count lasts (`Hooks.spend`)."""

    id: uuid.UUID
    status: int | None
    delay_ms: int | None
    retry_after: int | None
    counted: bool


class Hooks(Protocol):
    """The sandbox's side: its fault rules and its journal."""

    @property
    def max_body(self) -> int:
        """Bytes of each body the journal keeps."""

    def faults(self, reads: Snapshot, account_id: uuid.UUID, method: str, path: str) -> list[Fault]:
        """The rules that would act on this request, oldest first (their draws won)."""

    def spend(self, tx: Connection, account_id: uuid.UUID, fault_id: uuid.UUID) -> bool:
        """Take one from a counted rule; False when none was left."""

    def record(self, tx: Connection, exchange: Exchange) -> None:
        """Put `exchange` in its account's journal."""


@dataclass(frozen=True)
class Control:
    """The control plane: the admin token, the database its hooks use and the hooks."""

    token: str
    database: Database
    hooks: Hooks

    def is_operator(self, authorization: bytes | None) -> bool:
        scheme, _, presented = (authorization or b"").partition(b" ")
        expected = self.token.encode()
        # Compared in constant time whatever was sent (an empty value included).
        return hmac.compare_digest(presented.strip(), expected) and scheme.lower() == b"bearer"

    async def around(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Run an authenticated account's request (`scope["user"]`) with the sandbox's
        behaviour around it: a `Prefer` or an injected fault may delay it or answer it
        instead of its route, and it goes in the account's journal with its answer."""
        principal: Principal = scope["user"]
        with clock.pinned(None):  # the journal keeps the wall clock's time
            arrived = clock.utc_now()

        async def record() -> None:
            await self._record(scope, principal.account_id, tape, arrived)

        tape = _Tape(receive, send, self.hooks.max_body, before_last=record)
        failure: Exception | None = None
        try:
            await self._serve(app, scope, principal.account_id, tape)
        except Exception as exc:  # the error handlers outside answer it: journaled as they will
            failure = exc
            tape.failed(exc)
        if not tape.recorded:
            await record()
        if failure is not None:
            raise failure

    async def _serve(self, app: ASGIApp, scope: Scope, account_id: uuid.UUID, tape: _Tape) -> None:
        answer = preferred(scope) or await self._fault(account_id, scope)
        if answer is None:
            await app(scope, tape.receive, tape.send)
            return
        if answer.delay_ms:
            await asyncio.sleep(answer.delay_ms / 1000)
        send = _adding(tape.send, answer.applied)
        if answer.status is None:
            await app(scope, tape.receive, send)
            return
        await tape.drain()  # the route never runs: the body is read for the journal only
        await _send_answer(send, scope, answer.status, answer)

    async def _fault(self, account_id: uuid.UUID, scope: Scope) -> Answer | None:
        """The rule that acts on this request, if any: one indexed read on the event loop
        (an account with no rules pays only that), and a counted rule's count spent in a
        worker thread; when another request took its last, the next rule is tried."""
        method, path = str(scope.get("method", "GET")), scope["path"]
        with self.database.snapshot() as reads:
            found = self.hooks.faults(reads, account_id, method, path)
        for fault in found:
            if not fault.counted or await run_sync(self._spend, account_id, fault.id):
                return Answer.of(fault)
        return None

    def _spend(self, account_id: uuid.UUID, fault_id: uuid.UUID) -> bool:
        with self.database.write() as tx:
            return self.hooks.spend(tx, account_id, fault_id)

    async def _record(self, scope: Scope, account_id: uuid.UUID, tape: _Tape, arrived: datetime) -> None:
        """Journal the request in a worker thread, once its answer is known and before its
        last bytes go out: a client holding its answer finds it in the journal, whichever
        worker it asks (journaled after the answer, 2 to 4% of reads right after it
        missed it; the write costs about 0.5 ms on SQLite). A failure is logged; the
        caller never sees it."""
        exchange = Exchange(
            account_id=account_id,
            id=clock.new_wall_id(),
            at=arrived,
            request_id=observe.request_id(scope),
            method=str(scope.get("method", "GET")),
            path=str(scope["path"]),
            query=bytes(scope.get("query_string", b"")).decode("utf-8", errors="replace"),
            status=tape.status or 500,
            duration_ms=(tape.ended - tape.started) * 1000,
            request_body=bytes(tape.request.head),
            request_size=tape.request.size,
            response_body=bytes(tape.response.head),
            response_size=tape.response.size,
        )
        try:
            await run_sync(self._write, exchange)
        except Exception:
            log.warning("could not journal request %s", exchange.request_id, exc_info=True)

    def _write(self, exchange: Exchange) -> None:
        with self.database.write() as tx:
            self.hooks.record(tx, exchange)


# --- what the sandbox answers instead --------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the sandbox does to one request: wait `delay_ms`, then answer `status`
    (None: the route's own answer); `applied` is the `Preference-Applied` header's value."""

    status: int | None
    delay_ms: int | None
    retry_after: int | None
    source: str
    applied: str | None = None

    @classmethod
    def of(cls, fault: Fault) -> Answer:
        return cls(fault.status, fault.delay_ms, fault.retry_after, f"fault {fault.id}")


_PREFER = b"prefer"
_NUMBER = re.compile(r"[0-9]{1,9}")
_RETRIED = frozenset({429, 503})
"""The statuses that always carry `Retry-After` (1 second unless the rule says)."""


def preferred(scope: Scope) -> Answer | None:
    """The request's `Prefer: code=...` and `delay=...` (Prism's convention, RFC 7240's
    syntax): other preferences are ignored, and only the first of each counts; a value
    out of range is a 400 naming `Prefer`."""
    values = [bytes(value) for name, value in scope.get("headers", []) if name.lower() == _PREFER]
    if not values:
        return None
    found: dict[str, int] = {}
    for item in b",".join(values).decode("latin-1").split(","):
        name, _, value = item.partition(";")[0].partition("=")
        name = name.strip().lower()
        if name in _PREFERENCES and name not in found:
            found[name] = _preference(name, value.strip().strip('"'))
    if not found:
        return None
    applied = ", ".join(f"{name}={value}" for name, value in found.items())
    return Answer(found.get("code"), found.get("delay"), None, f"Prefer: {applied}", applied)


_PREFERENCES = {"code": (400, 599, "a status from 400 to 599"), "delay": (0, MAX_DELAY_MS, f"0 to {MAX_DELAY_MS} ms")}


def _preference(name: str, value: str) -> int:
    low, high, wanted = _PREFERENCES[name]
    if _NUMBER.fullmatch(value) is None or not low <= int(value) <= high:
        raise InvalidInput("Prefer", f"{name} must be {wanted}, not {value[:20]!r}")
    return int(value)


async def _send_answer(send: Send, scope: Scope, status: int, answer: Answer) -> None:
    message = f"{errors.reason(status) or f'Status {status}'}: answered by patron's sandbox ({answer.source})"
    if status == 400:  # in the route's 400 shape, as its schema declares it
        content = errors.bad_request_body(scope, errors.error_type(status), message)
    else:
        content = errors.body(errors.error_type(status), message)
    headers = {name.lower(): value for name, value in errors.headers_for(status).items()}
    if status in _RETRIED or answer.retry_after is not None:
        headers["retry-after"] = str(1 if answer.retry_after is None else answer.retry_after)
    headers |= {"content-type": "application/json", "content-length": str(len(content))}
    raw = [(name.encode(), value.encode()) for name, value in headers.items()]
    await send(cast(Message, {"type": "http.response.start", "status": status, "headers": raw}))
    await send(cast(Message, {"type": "http.response.body", "body": content}))


def _adding(send: Send, applied: str | None) -> Send:
    """`send`, with `Preference-Applied: applied` on the response (when there is one)."""
    if applied is None:
        return send
    header = (b"preference-applied", applied.encode())

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = cast(Message, {**message, "headers": [*message.get("headers", []), header]})
        await send(message)

    return wrapped


# --- what the journal sees --------------------------------------------------------------


class _Capture:
    """The first `kept` bytes of a body, and its length."""

    def __init__(self, kept: int) -> None:
        self.head = bytearray()
        self.size = 0
        self._kept = kept

    def add(self, chunk: bytes) -> None:
        room = self._kept - len(self.head)
        if room > 0:
            self.head += chunk[:room]
        self.size += len(chunk)


_DRAIN_SECONDS = 1.0
"""How long a faulted request's body may take to arrive for the journal."""


class _Tape:
    """`receive` and `send` of one request, recording its bodies (their first `kept`
    bytes), status and timing; `before_last` runs before the answer's last message."""

    def __init__(self, receive: Receive, send: Send, kept: int, *, before_last: Callable[[], Awaitable[None]]) -> None:
        self._receive, self._send = receive, send
        self._before_last = before_last
        self.recorded = False
        self.request, self.response = _Capture(kept), _Capture(kept)
        self._kept = kept
        self.status: int | None = None
        self.started = self.ended = time.perf_counter()
        self._done = False

    async def receive(self) -> Any:
        message = await self._receive()
        if message["type"] == "http.request":
            self.request.add(message.get("body", b""))
            self._done = not message.get("more_body", False)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        elif message["type"] == "http.response.body":
            self.response.add(message.get("body", b""))
            if not message.get("more_body", False):
                self.ended = time.perf_counter()
                self.recorded = True
                await self._before_last()
        await self._send(message)

    async def drain(self) -> None:
        """Read the request's body (up to what the journal keeps), briefly."""
        with anyio.move_on_after(_DRAIN_SECONDS):
            while not self._done and self.request.size < self._kept:
                message = await self.receive()
                if message["type"] != "http.request":
                    return

    def failed(self, exc: Exception) -> None:
        """The answer the error handlers will give `exc` (when none had begun)."""
        if self.status is not None:
            return
        self.ended = time.perf_counter()
        if isinstance(exc, PatronError):
            response = errors.on_patron_error(cast(Any, None), exc)
        elif isinstance(exc, HTTPException) and exc.status_code < 500:
            response = errors.on_http_error(cast(Any, None), exc)
        else:
            self.status = 500
            return
        self.status = response.status_code
        self.response.add(response.content)
