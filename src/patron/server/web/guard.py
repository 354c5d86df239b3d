"""The middleware right after authentication: what no route should ever see is refused
here, once for every route, before any route reads its input (docs/limits.md). After the
edge, so a caller without credentials learns nothing but 401.

- control characters (C0, DEL, C1) or invalid UTF-8 in the path or the query -> 400 naming
  the path value or query parameter (a NUL in a filter once matched every customer);
- a request that carries a body, or names a content type, that is not JSON -> 415: only
  `application/json` and `application/*+json`, UTF-8, are read. A browser can send
  `text/plain`, a form or a typeless blob cross-origin without asking first;
- a body that ends before the client said it would (the client went away) -> 400 and one
  log line, instead of Litestar's "disconnected prematurely" 500 and its traceback;
- a body still incomplete `BODY_TIMEOUT` seconds after the route began reading it -> 408
  and one log line (granian times out half-sent headers, never a half-sent body).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote_to_bytes

import anyio
from litestar.enums import ScopeType
from litestar.exceptions import ClientException, HTTPException
from litestar.types import ASGIApp, HTTPScope, Receive, ReceiveMessage, Scope, Send

from patron.server.errors import InvalidInput

log = logging.getLogger("patron.guard")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CONTROL_MESSAGE = "must not contain control characters"
TRUNCATED = "the request body ended before its Content-Length: the client closed the connection"
BODY_TIMEOUT = 30.0
"""Seconds a request has to deliver its whole body (1 MiB at 35 KiB/s)."""


def guard(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            check_target(scope)
            if scope["method"] in _WITH_BODY:
                check_content_type(scope)
                receive = _watched(receive, scope)
        await app(scope, receive, send)

    return middleware


def check_target(scope: Scope) -> None:
    """Path values and query parameters: valid UTF-8, no control characters."""
    try:
        raw: bytes = scope.get("raw_path") or b""
        path = unquote_to_bytes(raw.partition(b"?")[0]).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(_path_field(scope, None), "is not valid UTF-8") from None
    for text in (path, scope["path"]):
        if _CONTROL.search(text):
            raise InvalidInput(_path_field(scope, _CONTROL), _CONTROL_MESSAGE)
    query: bytes = scope.get("query_string") or b""
    if query:
        _check_query(query)


def _path_field(scope: Scope, pattern: re.Pattern[str] | None) -> str:
    """The name of the path value at fault: the only one, or the first holding `pattern`."""
    params: Mapping[str, object] = scope.get("path_params") or {}
    for name, value in params.items():
        if pattern is None or pattern.search(str(value)):
            return name
    return "path"


def _check_query(query: bytes) -> None:
    try:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise InvalidInput("query", "is not valid UTF-8") from None
    for name, value in pairs:
        if _CONTROL.search(name):
            raise InvalidInput("query", _CONTROL_MESSAGE)
        if _CONTROL.search(value):
            raise InvalidInput(name, _CONTROL_MESSAGE)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


def is_json(content_type: bytes) -> bool:
    """`application/json` or `application/<anything>+json`, with no charset or UTF-8."""
    media, *params = (part.strip().lower() for part in content_type.split(b";"))
    kind, _, subtype = media.partition(b"/")
    if kind != b"application" or not (subtype == b"json" or subtype.endswith(b"+json")):
        return False
    for param in params:
        name, _, value = param.partition(b"=")
        if name.strip() == b"charset" and value.strip().strip(b'"') not in {b"utf-8", b"utf8"}:
            return False
    return True


def check_content_type(scope: Scope) -> None:
    """A named content type must be JSON; a body needs one (a typeless blob is no JSON)."""
    content_type = _header(scope, b"content-type")
    if content_type is None:
        length = _header(scope, b"content-length")
        has_body = _header(scope, b"transfer-encoding") is not None or (length or b"0").strip() not in {b"", b"0"}
        if not has_body:
            return
        raise HTTPException(status_code=415, detail="a request body must be JSON: send Content-Type: application/json")
    if not is_json(content_type):
        shown = content_type.decode("latin-1")[:100]
        raise HTTPException(status_code=415, detail=f"{shown!r} is not JSON: send Content-Type: application/json")


def _watched(receive: Receive, scope: HTTPScope) -> Receive:
    """`receive` that turns a body cut short or too slow into a 400 or a 408 (nobody may read
    the answer, but the log gets one line, not a traceback)."""
    complete = False
    deadline: float | None = None

    async def watched() -> ReceiveMessage:
        nonlocal complete, deadline
        if complete:
            return await receive()
        deadline = deadline or anyio.current_time() + BODY_TIMEOUT
        try:
            with anyio.fail_after(deadline - anyio.current_time()):
                message = await receive()
        except TimeoutError:
            raise _refused(scope, 408, f"the request body did not arrive within {BODY_TIMEOUT:g} s") from None
        if message["type"] == "http.request":
            complete = not message.get("more_body", False)
        elif message["type"] == "http.disconnect":
            raise _refused(scope, 400, TRUNCATED)
        return message

    return watched


def _refused(scope: HTTPScope, status: int, reason: str) -> ClientException:
    log.warning("%s %s: %s", scope["method"], scope["path"], reason)
    return ClientException(detail=reason, status_code=status)
