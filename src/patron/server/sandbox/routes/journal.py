"""The control plane: an account's request journal (docs/sandbox.md)."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler
from litestar.params import Parameter

from patron.server.sandbox.service import journal as service
from patron.server.web import route
from patron.server.web.route import Http
from patron.wire.sandbox import journal as wire


@route.control(
    "GET",
    "/accounts/{account_id:str}/requests",
    "getSandboxRequests",
    "List the account's recent requests",
    errors=(404,),
    response=wire.JournalPage,
)
async def list_requests(
    request: Http,
    account_id: str,
    limit: int = Parameter(
        query="limit",
        default=service.DEFAULT_LIMIT,
        ge=1,
        le=service.MAX_LIMIT,
        description=f"How many, newest first: 1 to {service.MAX_LIMIT} (default {service.DEFAULT_LIMIT})",
    ),
) -> wire.JournalPage:
    return await route.operate(request, service.recent, account_id, limit)


ROUTES: list[HTTPRouteHandler] = [list_requests]
