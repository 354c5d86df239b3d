"""What every HTTP request leaves behind: its `Request-Id` (the caller's, when it sends a
sane one), one JSON line on stderr, and its samples in the metrics (`metrics.py`).

`observed` wraps Litestar's whole ASGI handler, outside routing and the edge, so requests
no route matches and requests the edge refuses (401, 429) are logged and counted too."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from typing import Any, cast

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from patron.server import clock
from patron.server.auth import Principal
from patron.server.web import metrics

_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")
_STATE_KEY = "patron_request_id"
_ENCODER = msgspec.json.Encoder()

log = logging.getLogger("patron.access")
"""One record per request; its message is the JSON line. It goes to stderr by itself
(`propagate` off), so the access log needs no logging setup and never doubles."""
log.propagate = False
log.setLevel(logging.INFO)
if not log.handlers:
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(_handler)


def request_id(scope: Scope) -> str:
    """This request's id (chosen by `observed`; a fresh one for a scope it never saw)."""
    state: dict[str, Any] = scope.setdefault("state", {})
    found = state.get(_STATE_KEY)
    if found is None:
        found = state[_STATE_KEY] = _chosen_id(scope)
    return str(found)


def _chosen_id(scope: Scope) -> str:
    """The caller's `Request-Id` when it is 1-128 of [A-Za-z0-9._-], else a new one."""
    for key, value in scope.get("headers", []):
        if key.lower() == b"request-id":
            return value.decode() if _REQUEST_ID.fullmatch(value) else clock.new_request_id()
    return clock.new_request_id()


def observed(handler: ASGIApp) -> ASGIApp:
    """`handler`, timing, counting and logging each HTTP request."""

    async def observe(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await handler(scope, receive, send)
            return
        started = time.perf_counter()
        request_id(scope)
        status = [500]

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        metrics.IN_PROGRESS.inc()
        try:
            await handler(scope, receive, watch)
        finally:
            metrics.IN_PROGRESS.dec()
            _record(scope, status[0], time.perf_counter() - started)

    return observe


def _record(scope: Scope, status: int, seconds: float) -> None:
    route = scope.get("path_template") or metrics.UNMATCHED
    method = cast(str, scope.get("method", "GET"))
    metrics.REQUESTS.labels(method, route, str(status)).inc()
    metrics.DURATION.labels(method, route).observe(seconds)
    user = scope.get("user")
    line = {
        "time": clock.iso(clock.utc_now()),
        "requestId": request_id(scope),
        "method": method,
        "route": route,
        "status": status,
        "durationMs": round(seconds * 1000, 3),
        "accountId": str(user.account_id) if isinstance(user, Principal) else None,
        "clientId": user.client_id if isinstance(user, Principal) else None,
        "pid": os.getpid(),
    }
    log.info(_ENCODER.encode(line).decode())
