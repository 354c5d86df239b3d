"""ASGI middleware in front of every route: the `Sequence-Version` header (checked on the
way in, echoed on every response) and HTTP Basic authentication."""

from __future__ import annotations

import base64
import binascii
from typing import Any, cast

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from patron.server import clock
from patron.server.accounts import service as accounts
from patron.server.db.engine import Database
from patron.server.errors import PatronError, Unauthenticated, Unavailable
from patron.server.web import errors
from patron.wire import API_VERSION

_PUBLIC = ("/livez", "/readyz", "/api/openapi.json", "/api/docs")
_VERSION_HEADER = b"sequence-version"
_UNKNOWN_VERSION = "No matching API version found. Please make sure the specified API version is valid."


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


async def _send_error(send: Send, status: int, content: bytes) -> None:
    headers: list[tuple[bytes, bytes]] = [
        (k.lower().encode(), v.encode()) for k, v in errors.headers_for(status).items()
    ]
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
    `Sequence-Version` and a `Request-Id`. Async on purpose: Litestar runs a sync hook in a
    worker thread, two thread hops per response."""
    del scope
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        headers["Sequence-Version"] = API_VERSION
        headers["Request-Id"] = clock.new_request_id()


def edge_middleware(database: Database) -> Any:
    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            path: str = scope["path"]
            if path.startswith(_PUBLIC):
                await app(scope, receive, send)
                return
            version = _header(scope, _VERSION_HEADER)
            if version is not None and version.strip() != API_VERSION.encode():
                await _send_error(send, 400, errors.body("UnrecognisedApiVersion", _UNKNOWN_VERSION))
                return
            try:
                client_id, secret = parse_basic(_header(scope, b"authorization"))
                with database.snapshot() as reads:
                    scope["user"] = accounts.authenticate(reads, database.key, client_id, secret)
            except (Unauthenticated, Unavailable) as exc:
                status = 401 if isinstance(exc, Unauthenticated) else 503
                await _send_error(send, status, _error_body(exc))
                return
            await app(scope, receive, send)

        return middleware

    return factory


def _error_body(exc: PatronError) -> bytes:
    _, error_type = errors.TABLE[type(exc)]
    return errors.body(error_type, exc.message)
