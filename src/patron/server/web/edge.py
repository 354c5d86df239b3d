"""ASGI middleware in front of every route: the `Sequence-Version` header (checked on the
way in, echoed on every response), HTTP Basic authentication and the rate limits
(`ratelimit.py`): failed authentications per client id, then requests per credential.

Under `/_patron/` (the sandbox's control plane, docs/sandbox.md) two roles meet, kept apart
here: the operator (`/_patron/accounts...`, a bearer admin token) and an account (every
other `/_patron/` path, its own Basic credentials, like `/api`). Without an admin token
the control plane is off: the operator's paths are left to routing (a 404), `/api`
requests run with no sandbox behaviour and ignore any test clock; an account's own
`/_patron/` paths (its webhook log, docs/webhooks.md) still take its credentials and count
against its rate limit, but the sandbox neither journals them nor injects faults into
them: they are the test's tools, not the code under test."""

from __future__ import annotations

import base64
import binascii
from typing import Any, cast

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from patron.server import clock
from patron.server.accounts import service as accounts
from patron.server.auth import Principal
from patron.server.db.engine import Database
from patron.server.errors import PatronError, Unauthenticated, Unavailable
from patron.server.web import errors, observe, sandbox
from patron.server.web.ratelimit import Limiter, Verdict
from patron.wire import API_VERSION

_PUBLIC = ("/livez", "/readyz", "/metrics", "/api/openapi.json", "/api/docs", "/_patron/openapi.json")
_OPERATOR = "/_patron/accounts"
_TOOLS = "/_patron/"
_VERSION_HEADER = b"sequence-version"
_UNKNOWN_VERSION = "No matching API version found. Please make sure the specified API version is valid."
_TOO_MANY_REQUESTS = "Too many requests for this credential; retry after the seconds in the Retry-After header."
_TOO_MANY_FAILURES = (
    "Too many failed authentications for this client id; retry after the seconds in the Retry-After header."
)
Headers = list[tuple[bytes, bytes]]


class _Refused(Exception):
    """A request the edge answers itself: status, body and extra headers."""

    def __init__(self, status: int, content: bytes, headers: Headers | None = None) -> None:
        super().__init__(status)
        self.status, self.content, self.headers = status, content, headers or []


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


async def _send_error(send: Send, status: int, content: bytes, extra: Headers | None = None) -> None:
    extra = extra or []
    named = {name for name, _ in extra}
    headers: Headers = [(k.lower().encode(), v.encode()) for k, v in errors.headers_for(status).items()]
    headers = [(k, v) for k, v in headers if k not in named] + extra
    headers += [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
    await send(cast(Message, {"type": "http.response.start", "status": status, "headers": headers}))
    await send(cast(Message, {"type": "http.response.body", "body": content}))


def parse_basic(value: bytes | None) -> tuple[str, str]:
    """`Basic base64(id:secret)` -> (id, secret); anything else is unauthenticated."""
    if value is None:
        raise Unauthenticated(accounts.BAD_CREDENTIALS)
    scheme, _, token = value.partition(b" ")
    if scheme.lower() != b"basic" or not token.strip():
        raise Unauthenticated(accounts.BAD_CREDENTIALS)
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Unauthenticated(accounts.BAD_CREDENTIALS) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id or not secret:
        raise Unauthenticated(accounts.BAD_CREDENTIALS)
    return client_id, secret


async def stamp_response(message: Message, scope: Scope) -> None:
    """`before_send` hook: every response, errors and unknown routes included, carries
    `Sequence-Version`, a `Request-Id` and `Cache-Control: no-store` (an answer holds one
    account's data: no shared cache keeps it; a response that chose its own policy keeps it).
    Async on purpose: Litestar runs a sync hook in a worker thread, two thread hops per response."""
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        headers["Sequence-Version"] = API_VERSION
        headers["Request-Id"] = observe.request_id(scope)
        if "cache-control" not in headers:
            headers["Cache-Control"] = "no-store"


def edge_middleware(database: Database, limiter: Limiter, control: sandbox.Control | None = None) -> Any:
    """The edge; `control` is the sandbox's control plane when an admin token is set."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            path: str = scope["path"]
            if path.startswith(_PUBLIC) or (control is None and _is_operator(path)):
                await app(scope, receive, send)
                return
            if control is not None and _is_operator(path):
                await _as_operator(app, control, scope, receive, send)
                return
            version = _header(scope, _VERSION_HEADER)
            try:
                if version is not None and version.strip() != API_VERSION.encode():
                    raise _Refused(400, errors.bad_request_body(scope, "UnrecognisedApiVersion", _UNKNOWN_VERSION))
                verdict = _admit(scope, database, limiter)
            except _Refused as refused:
                await _send_error(send, refused.status, refused.content, refused.headers)
                return
            send = send if verdict is None else _with_headers(send, verdict.headers())
            if control is None:
                await app(scope, receive, send)
                return
            principal: Principal = scope["user"]
            with clock.pinned(principal.frozen_at):
                if path.startswith(_TOOLS):  # patron's own tools: never journaled nor faulted
                    await app(scope, receive, send)
                else:
                    await control.around(app, scope, receive, send)

        return middleware

    return factory


def _is_operator(path: str) -> bool:
    return path == _OPERATOR or path.startswith(_OPERATOR + "/")


async def _as_operator(app: ASGIApp, control: sandbox.Control, scope: Scope, receive: Receive, send: Send) -> None:
    """The operator's requests: the admin token or a 401 (no rate limit, no account)."""
    if not control.is_operator(_header(scope, b"authorization")):
        content = errors.body("Unauthorized", sandbox.BAD_TOKEN)
        await _send_error(send, 401, content, [(b"www-authenticate", b'Bearer realm="patron"')])
        return
    scope["user"] = sandbox.OPERATOR
    await app(scope, receive, send)


def _admit(scope: Scope, database: Database, limiter: Limiter) -> Verdict | None:
    """Authenticate the caller into `scope["user"]` and count the request against its
    credential's limit; `_Refused` when it goes no further. A client id out of failed
    authentications is refused before its secret is checked, even with the right secret:
    otherwise a guess that succeeds would show."""
    try:
        client_id, secret = parse_basic(_header(scope, b"authorization"))
        locked = limiter.locked_out(client_id)
        if locked is not None:
            raise _Refused(429, errors.body("RateLimited", _TOO_MANY_FAILURES), locked.headers())
        try:
            with database.snapshot() as reads:
                principal = accounts.authenticate(reads, database.key, client_id, secret)
        except Unauthenticated:
            limiter.failed(client_id)
            raise
        verdict = limiter.admit(client_id)
    except (Unauthenticated, Unavailable) as exc:
        raise _Refused(401 if isinstance(exc, Unauthenticated) else 503, _error_body(exc)) from None
    if verdict is not None and not verdict.allowed:
        raise _Refused(429, errors.body("RateLimited", _TOO_MANY_REQUESTS), verdict.headers())
    scope["user"] = principal
    return verdict


def _with_headers(send: Send, extra: Headers) -> Send:
    """`send`, adding `extra` to the response's headers."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = cast(Message, {**message, "headers": [*message.get("headers", []), *extra]})
        await send(message)

    return wrapped


def _error_body(exc: PatronError) -> bytes:
    _, error_type = errors.TABLE[type(exc)]
    return errors.body(error_type, exc.message)
