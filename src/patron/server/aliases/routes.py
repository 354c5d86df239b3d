"""HTTP routes for customer aliases."""

from __future__ import annotations

from litestar import Response
from litestar.params import Parameter

from patron.server.aliases import service
from patron.server.web import route
from patron.server.web.route import Http
from patron.wire import models as wire

TAGS = ["Customer Aliases"]


@route.operation("GET", "/customer-aliases", "getCustomerAliases", "List all customer aliases", tags=TAGS)
async def list_aliases(
    request: Http,
    value: str | None = Parameter(query="value", default=None, description="Exact alias value"),
    limit: int = Parameter(query="limit", default=20, ge=1, le=100, description="Page size, 1 to 100 (default 20)"),
    after: str | None = Parameter(query="after", default=None, description="Pagination cursor (pagination.after)"),
    before: str | None = Parameter(query="before", default=None, description="Pagination cursor (pagination.before)"),
) -> wire.ListCustomerAliasResponse:
    key = route.database(request).key
    return await route.read(request, service.list_page, key, value=value, limit=limit, after=after, before=before)


@route.operation(
    "POST",
    "/customer-aliases",
    "postCustomerAliases",
    "Create a customer alias",
    tags=TAGS,
    status=201,
    errors=(409,),
    response=wire.CustomerAliasResponse,
)
async def create_alias(request: Http, data: wire.CreateCustomerAliasRequest) -> Response[bytes]:
    return await route.write(request, service.create, data)


@route.operation(
    "PUT",
    "/customer-aliases/{id:str}",
    "putCustomerAliasesById",
    "Update a customer alias",
    tags=TAGS,
    errors=(404,),
    response=wire.CustomerAliasResponse,
)
async def update_alias(request: Http, id: str, data: wire.UpdateCustomerAliasRequest) -> Response[bytes]:
    return await route.write(request, service.update, id, data)


@route.operation(
    "DELETE",
    "/customer-aliases/{id:str}",
    "deleteCustomerAliasesById",
    "Delete a customer alias",
    tags=TAGS,
    errors=(404,),
    response=wire.CustomerAliasResponse,
)
async def delete_alias(request: Http, id: str) -> Response[bytes]:
    return await route.write(request, service.delete, id)


@route.operation(
    "GET", "/customers/{id:str}/aliases", "getCustomersByIdAliases", "Get customer aliases", tags=TAGS, errors=(404,)
)
async def customer_aliases(request: Http, id: str) -> wire.CustomerAliasList:
    return await route.read(request, service.of_customer, id)


ROUTES = [list_aliases, create_alias, update_alias, delete_alias, customer_aliases]
