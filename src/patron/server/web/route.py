"""How every API route runs, the one rule for all of them.

A route parses its input, then hands one service call to `read`, `write` or `snapshot`,
which give the call its transaction and the caller (the edge owns the transaction; a
service never commits):

- `write` and `read`: a transaction (`db.write()` / `db.read()`) in a worker thread, so a
  slow statement never holds up the event loop;
- `read_inline`: a read transaction on the event loop, for reads an index bounds to a
  millisecond or two (a page of customers in sort order): threads taking turns on the GIL
  served half as many such pages per second;
- `snapshot`: `db.snapshot()` on the event loop, for the hottest reads (a few indexed
  statements on the driver: by-alias).

The database and the caller come from the request, not from dependency injection
(resolving two dependencies was an eighth of a by-alias request); the edge middleware
authenticated the caller before the route runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

from anyio.to_thread import run_sync
from litestar import Request
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import Connection

from patron.server.auth import Principal
from patron.server.db.engine import Database
from patron.server.db.snapshot import Snapshot
from patron.wire import models as wire

P = ParamSpec("P")
T = TypeVar("T")
Call = Callable[Concatenate[Connection, Principal, P], T]
Method = Literal["GET", "POST", "PUT", "DELETE"]
Http = Request[Any, Any, Any]
"""The request a route receives."""

_DESCRIPTIONS = {
    400: "Bad Request: malformed JSON, a wrong type, an unknown enum value or a broken rule",
    401: "Unauthorized: missing or invalid HTTP Basic credentials",
    404: "Not Found: no such object in this account",
    409: "Conflict: the value is already in use",
    503: "Service Unavailable: the database cannot be reached; retry",
}


def operation(
    method: Method,
    path: str,
    operation_id: str,
    summary: str,
    *,
    tags: Sequence[str],
    status: int = 200,
    errors: Sequence[int] = (),
    response: type[Any] | None = None,
) -> HTTPRouteHandler:
    """The route decorator of one of Sequence's operations: its method and path, its name in
    the OpenAPI document, the success status and the error statuses it can answer. A route
    that answers with raw bytes (an idempotent replay) names its body's shape in `response`."""
    responses = error_specs(*errors)
    if response is not None:
        # The description Litestar gives a success response of its own.
        described = HTTPStatus(status).description
        responses[status] = ResponseSpec(data_container=response, description=described, generate_examples=False)
    return HTTPRouteHandler(
        path,
        http_method=method,
        operation_id=operation_id,
        summary=summary,
        tags=list(tags),
        status_code=status,
        responses=responses,
    )


def error_specs(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error statuses a route can answer (plus 400, 401 and 503)."""
    wanted = sorted({400, 401, 503, *codes})
    return {
        code: ResponseSpec(data_container=wire.ErrorBody, description=_DESCRIPTIONS[code], generate_examples=False)
        for code in wanted
    }


def database(request: Http) -> Database:
    found = request.app.state.database
    assert isinstance(found, Database)
    return found


def caller(request: Http) -> Principal:
    user = request.scope.get("user")
    assert isinstance(user, Principal), "the edge middleware authenticates every API route"
    return user


async def write(request: Http, call: Call[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    db, who = database(request), caller(request)

    def work() -> T:
        with db.write() as tx:
            return call(tx, who, *args, **kwargs)

    return await run_sync(work)


async def read(request: Http, call: Call[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    return await run_sync(lambda: _read(request, call, *args, **kwargs))


async def read_inline(request: Http, call: Call[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    return _read(request, call, *args, **kwargs)


def _read(request: Http, call: Call[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    db, who = database(request), caller(request)
    with db.read() as tx:
        return call(tx, who, *args, **kwargs)


async def snapshot(
    request: Http,
    call: Callable[Concatenate[Snapshot, Principal, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    db, who = database(request), caller(request)
    with db.snapshot() as reads:
        return call(reads, who, *args, **kwargs)
