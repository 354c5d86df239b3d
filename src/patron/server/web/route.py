"""How every API route runs, the one rule for all of them.

A route parses its input, then hands one service call to `read`, `write` or `snapshot`,
which give the call its transaction and the caller (the edge owns the transaction; a
service never commits):

- `write` and `read`: a transaction (`db.write()` / `db.read()`) in a worker thread, so a
  slow statement never holds up the event loop. `write` is also where every POST and PUT
  honours `Idempotency-Key` (`idempotency.run_once`, in the write's own transaction): it
  answers with the bytes that mechanism encoded, so a first answer and its replays are the
  same bytes, and `operation` documents the header on every POST and PUT. And where a
  write's webhook events are recorded, in its transaction (`changes`, `Announce`),
  and the dispatcher woken once it commits;
- `read_inline`: a read transaction on the event loop, for reads an index bounds to a
  millisecond or two (a page of customers in sort order): threads taking turns on the GIL
  served half as many such pages per second;
- `snapshot`: `db.snapshot()` on the event loop, for the hottest reads (a few indexed
  statements on the driver: by-alias);
- `operate`: a write transaction in a worker thread for the operator's control plane
  (`control` declares its routes): no account is calling, so the call gets none.

The database and the caller come from the request, not from dependency injection
(resolving two dependencies was an eighth of a by-alias request); the edge middleware
authenticated the caller before the route runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

import msgspec
from anyio.to_thread import run_sync
from litestar import MediaType, Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Operation, Parameter, Schema
from litestar.openapi.spec.enums import OpenAPIType
from sqlalchemy import Connection

from patron.server import changes
from patron.server.accounts import service as accounts
from patron.server.auth import Principal
from patron.server.db.engine import Database
from patron.server.db.snapshot import Snapshot
from patron.server.idempotency import service as idempotency
from patron.wire import models as wire

P = ParamSpec("P")
T = TypeVar("T")
Call = Callable[Concatenate[Connection, Principal, P], T]
Announce = Callable[[Connection, Principal, changes.Noted, Any], Any]
"""Records a write's webhook events (`customers.service.announce`, which `app.py` sets as
`app.state.announce`: the web layer imports no resource) with their deliveries, under the
lease the dispatcher offers (`Dispatcher.offer`, or None); what there is to send once the
write commits (an `outbox.Queued`, for `Dispatcher.wake`), false when nothing."""
Method = Literal["GET", "POST", "PUT", "DELETE"]
Http = Request[Any, Any, Any]
"""The request a route receives."""

_DESCRIPTIONS = {
    400: "Bad Request: malformed JSON, a wrong type, an unknown enum value or a broken rule",
    401: "Unauthorized: missing or invalid HTTP Basic credentials",
    404: "Not Found: no such object in this account",
    408: "Request Timeout: the body did not arrive in time",
    409: "Conflict: the value is already in use, or a request with this Idempotency-Key is in progress",
    415: "Unsupported Media Type: a body that is not JSON",
    429: "Too Many Requests: past the credential's rate limit; retry after `Retry-After` seconds",
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
    keyed: bool = True,
) -> HTTPRouteHandler:
    """The route decorator of one of Sequence's operations: its method and path, its name in
    the OpenAPI document, the success status and the error statuses it can answer. A write
    answers with the bytes `write` encoded, so it names its body's shape in `response`;
    a POST or PUT also takes `Idempotency-Key` (and may answer 409 while its key is in use)
    unless `keyed` is False (an action that changes nothing when repeated, not a `write`);
    a request that may carry a body may answer 408 and 415 for it (`web/guard.py`)."""
    assert response is not None or method == "GET", f"{operation_id}: a write names its body's shape in `response`"
    retryable = keyed and method in RETRYABLE
    bodied = (408, 415) if method != "GET" else ()
    responses = error_specs(*errors, *bodied, *((409,) if retryable else ()))
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
        operation_class=_Retryable if retryable else Operation,
    )


RETRYABLE = frozenset({"POST", "PUT"})
"""The methods that honour `Idempotency-Key` (Stripe's: a DELETE or a GET takes none)."""

_KEY_PARAMETER = Parameter(
    name=idempotency.HEADER,
    param_in="header",
    required=False,
    schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=idempotency.MAX_KEY),
    description=(
        "Makes the request safe to retry: the same key with the same request replays the first "
        "answer (with `Idempotent-Replayed: true`) for 24 hours; with another request it is a 400"
    ),
)


@dataclass
class _Retryable(Operation):
    """The OpenAPI operation of a POST or PUT: it documents the `Idempotency-Key` header."""

    def __post_init__(self) -> None:
        self.parameters = [*(self.parameters or []), _KEY_PARAMETER]


def control(
    method: Method,
    path: str,
    operation_id: str,
    summary: str,
    *,
    status: int = 200,
    errors: Sequence[int] = (),
    response: type[Any] | None = None,
) -> HTTPRouteHandler:
    """The route decorator of one of the operator's control-plane operations
    (docs/sandbox.md): tagged "Sandbox", answering 401 for a missing or wrong admin token
    and 400 for bad input; no rate limit, no `Idempotency-Key`."""
    responses = {
        code: ResponseSpec(
            data_container=wire.ErrorBody,
            description=_CONTROL_DESCRIPTIONS.get(code, _DESCRIPTIONS[code]),
            generate_examples=False,
        )
        for code in sorted({400, 401, *errors, *((415,) if method != "GET" else ())})
    }
    if response is not None:
        described = HTTPStatus(status).description
        responses[status] = ResponseSpec(data_container=response, description=described, generate_examples=False)
    return HTTPRouteHandler(
        path,
        http_method=method,
        operation_id=operation_id,
        summary=summary,
        tags=["Sandbox"],
        status_code=status,
        responses=responses,
        security=[{"adminToken": []}],
    )


_CONTROL_DESCRIPTIONS = {
    401: "Unauthorized: missing or wrong admin token (Authorization: Bearer <PATRON_ADMIN_TOKEN>)",
    404: "Not Found: no such account, or no such object in it",
    409: "Conflict: the name or client id is already in use",
}


async def operate(request: Http, call: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run an operator's `call` in a write transaction in a worker thread."""
    db = database(request)

    def work() -> T:
        with db.write() as tx:
            return call(tx, *args, **kwargs)

    return await run_sync(work)


def error_specs(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error statuses a route can answer (plus 400, 401, 429 and 503,
    which every API route can)."""
    wanted = sorted({400, 401, 429, 503, *codes})
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


async def write(request: Http, call: Call[P, msgspec.Struct], *args: P.args, **kwargs: P.kwargs) -> Response[bytes]:
    """Run `call` in a write transaction and answer the route's status with its result as
    JSON; a POST or PUT with an `Idempotency-Key` runs at most once per key (a retry gets
    the first answer's status and bytes back, marked `Idempotent-Replayed: true`)."""
    db, who = database(request), caller(request)
    status = request.route_handler.status_code
    keyed = await _keyed(request)
    announce: Announce = request.app.state.announce
    dispatcher = getattr(request.app.state, "dispatcher", None)
    lease = None if dispatcher is None else dispatcher.offer()

    def work() -> tuple[idempotency.Outcome, Any]:
        with changes.noting() as noted, db.write() as tx:
            accounts.begin_write(tx, who.account_id)
            outcome = idempotency.run_once(tx, who, keyed, status, lambda tx, who: call(tx, who, *args, **kwargs))
            # Before the commit, in the write's transaction: its webhook events (a replay did nothing).
            queued = announce(tx, who, noted, lease)
        return outcome, queued

    outcome, queued = await run_sync(work)
    if queued:
        wake(request, queued)
    headers = _REPLAYED if outcome.replayed else None
    return Response(outcome.body, status_code=outcome.status, media_type=MediaType.JSON, headers=headers)


_REPLAYED = {"Idempotent-Replayed": "true"}


def wake(request: Http, queued: Any = None) -> None:
    """Hand this worker's webhook dispatcher what a committed write queued (None: tell it
    that deliveries wait, to anyone)."""
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake(queued)


async def _keyed(request: Http) -> idempotency.Keyed | None:
    """The request's `Idempotency-Key` bound to its method, path and body (the body
    Litestar already read), or None without one (no hashing, no statement)."""
    key = request.headers.get(idempotency.HEADER)
    if key is None or request.method not in RETRYABLE:
        return None
    return idempotency.keyed(key, request.method, request.url.path, await request.body())


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


async def consistent_snapshot(
    request: Http,
    call: Callable[Concatenate[Snapshot, Principal, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """`snapshot` for several statements that must agree (a page and its total): on
    PostgreSQL they share one read-only transaction."""
    db, who = database(request), caller(request)
    with db.snapshot(consistent=True) as reads:
        return call(reads, who, *args, **kwargs)
