"""HTTP routes of an account's delivery log under `/_patron/` (docs/webhooks.md): list, and
get one with every attempt."""

from __future__ import annotations

from litestar.params import Parameter

from patron.server.web import route
from patron.server.web.route import Http
from patron.server.webhooks.service import log as service
from patron.wire import webhooks as wire

TAGS = ["Webhooks"]


@route.operation("GET", "/deliveries", "getPatronDeliveries", "List the account's deliveries, newest first", tags=TAGS)
async def list_deliveries(
    request: Http,
    event_id: str | None = Parameter(query="eventId", default=None, description="Only this event's deliveries"),
    policy_id: str | None = Parameter(query="policyId", default=None, description="Only this policy's deliveries"),
    recipient: str | None = Parameter(query="recipient", default=None, description="Only to this recipient (exact)"),
    status: str | None = Parameter(
        query="status", default=None, description=f"Only in this status: {', '.join(wire.DELIVERY_STATUSES)}"
    ),
    limit: int = Parameter(
        query="limit", default=service.DEFAULT_LIMIT, ge=1, le=service.MAX_LIMIT, description="Page size, 1 to 100"
    ),
    after: str | None = Parameter(query="after", default=None, description="Cursor (pagination.after)"),
    before: str | None = Parameter(query="before", default=None, description="Cursor (pagination.before)"),
) -> wire.DeliveryPage:
    filters = {"event_id": event_id, "policy_id": policy_id, "recipient": recipient, "status": status}
    key = route.database(request).key
    return await route.read(request, service.list_deliveries, key, **filters, limit=limit, after=after, before=before)


@route.operation(
    "GET",
    "/deliveries/{id:str}",
    "getPatronDeliveriesById",
    "Get a delivery with every attempt",
    tags=TAGS,
    errors=(404,),
)
async def get_delivery(request: Http, id: str) -> wire.DeliveryWithAttempts:
    return await route.read(request, service.get_delivery, id)


ROUTES = [list_deliveries, get_delivery]
