"""HTTP routes of an account's event log under `/_patron/` (docs/webhooks.md): list (and
follow, with `wait`), get with its deliveries, redeliver."""

from __future__ import annotations

import asyncio
import time

from litestar import Response
from litestar.params import Parameter

from patron.server.web import route
from patron.server.web.route import Http
from patron.server.webhooks.service import log as service
from patron.wire import webhooks as wire

TAGS = ["Webhooks"]
MAX_WAIT = 30.0
POLL_EVERY = 0.1
"""Seconds between two looks at the log while a request waits (each an indexed read)."""


@route.operation("GET", "/events", "getPatronEvents", "List the account's webhook events, newest first", tags=TAGS)
async def list_events(
    request: Http,
    types: list[str] | None = Parameter(
        query="type", default=None, description="Only events of this notification type (repeat for several)"
    ),
    resource_id: str | None = Parameter(query="resourceId", default=None, description="Only events of this customer"),
    created_after: str | None = Parameter(
        query="createdAfter", default=None, description="Only events recorded after this ISO 8601 date-time"
    ),
    limit: int = Parameter(
        query="limit", default=service.DEFAULT_LIMIT, ge=1, le=service.MAX_LIMIT, description="Page size, 1 to 100"
    ),
    after: str | None = Parameter(query="after", default=None, description="Cursor to older events (pagination.after)"),
    before: str | None = Parameter(
        query="before", default=None, description="Cursor to newer events (pagination.before, on every page)"
    ),
    wait: float = Parameter(
        query="wait",
        default=0.0,
        ge=0,
        le=MAX_WAIT,
        description=f"Seconds (at most {MAX_WAIT:g}) to wait for a first event when the page would be empty",
    ),
) -> wire.EventPage:
    key = route.database(request).key
    deadline = time.monotonic() + wait
    while True:
        page = await route.read(
            request,
            service.list_events,
            key,
            types=types or (),
            resource_id=resource_id,
            created_after=created_after,
            limit=limit,
            after=after,
            before=before,
        )
        if page.items or time.monotonic() >= deadline:
            return page
        await asyncio.sleep(POLL_EVERY)


@route.operation(
    "GET", "/events/{id:str}", "getPatronEventsById", "Get an event with its deliveries", tags=TAGS, errors=(404,)
)
async def get_event(request: Http, id: str) -> wire.EventWithDeliveries:
    return await route.read(request, service.get_event, id)


@route.operation(
    "POST",
    "/events/{id:str}/redeliver",
    "postPatronEventsByIdRedeliver",
    "Deliver an event again (same webhook-id, same body)",
    tags=TAGS,
    status=201,
    errors=(404,),
    response=wire.Redelivered,
)
async def redeliver(request: Http, id: str, data: wire.RedeliverRequest | None = None) -> Response[bytes]:
    answer = await route.write(request, service.redeliver, id, data or wire.RedeliverRequest())
    route.wake(request)  # committed: the new deliveries are there for the dispatcher
    return answer


ROUTES = [list_events, get_event, redeliver]
