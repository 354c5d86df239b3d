"""HTTP routes for customers: parse, call one service function, return the wire model."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from litestar import Response
from litestar.params import Parameter

from patron.server.customers import listing, service
from patron.server.web import route
from patron.server.web.route import Http
from patron.wire import models as wire
from patron.wire.enums import BillingStatus, SortOrder

TAGS = ["Customers"]


@route.operation("GET", "/customers", "getCustomers", "List customers", tags=TAGS)
async def list_customers(
    request: Http,
    legal_name: str | None = Parameter(
        query="legalName", default=None, description="Case-insensitive substring of the legal name"
    ),
    email: str | None = Parameter(
        query="email", default=None, description="Case-insensitive email of any live contact"
    ),
    alias: str | None = Parameter(query="alias", default=None, description="A live alias value, or the customer's id"),
    label: str | None = Parameter(query="label", default=None, description="Exact label"),
    include_archived: bool = Parameter(
        query="includeArchived", default=False, description="Include archived customers"
    ),
    billing_status: BillingStatus | None = Parameter(
        query="billingStatus", default=None, description="patron keeps no billing schedules: every customer is INACTIVE"
    ),
    sort_by: str | None = Parameter(
        query="sortBy", default=None, description="createdAt (default), legalName or customProperties.<key>"
    ),
    sort_order: SortOrder | None = Parameter(query="sortOrder", default=None, description="Default DESC"),
    limit: int = Parameter(query="limit", default=20, ge=1, le=100, description="Page size, 1 to 100 (default 20)"),
    after: str | None = Parameter(query="after", default=None, description="Pagination cursor (pagination.after)"),
    before: str | None = Parameter(query="before", default=None, description="Pagination cursor (pagination.before)"),
) -> wire.ListCustomerResponse:
    query = listing.Query(
        legal_name, email, alias, label, include_archived, billing_status, sort_by, sort_order, limit, after, before
    )
    key = route.database(request).key
    if query.direct:
        page = await route.consistent_snapshot(request, service.list_page_direct, key, query)
        if page is not None:
            return page
    # A page read through an index: inline. A filter that may count many rows: a thread.
    run = route.read if query.may_scan else route.read_inline
    return await run(request, service.list_page, key, query)


@route.operation(
    "POST",
    "/customers",
    "postCustomers",
    "Create customer",
    tags=TAGS,
    status=201,
    errors=(409,),
    response=wire.Customer,
)
async def create_customer(request: Http, data: wire.CreateOrUpdateCustomerRequest) -> Response[bytes]:
    return await route.write(request, service.create, data)


@route.operation("GET", "/customers/{id:str}", "getCustomersById", "Get customer", tags=TAGS, errors=(404,))
async def get_customer(request: Http, id: str) -> wire.Customer:
    return await route.read(request, service.get, id)


@route.operation(
    "PUT",
    "/customers/{id:str}",
    "putCustomersById",
    "Update customer",
    tags=TAGS,
    errors=(404, 409),
    response=wire.Customer,
)
async def update_customer(request: Http, id: str, data: wire.CreateOrUpdateCustomerRequest) -> Response[bytes]:
    return await route.write(request, service.update, id, data)


@route.operation(
    "POST",
    "/customers/{id:str}/archive",
    "postCustomersByIdArchive",
    "Archive customer",
    tags=TAGS,
    errors=(404,),
    response=wire.Customer,
)
async def archive_customer(request: Http, id: str) -> Response[bytes]:
    return await route.write(request, service.archive, id)


@route.operation(
    "GET",
    "/customers/by-alias/{alias:path}",
    "getCustomersByAliasByAlias",
    "Get customer by alias",
    tags=["Customer Aliases"],
    errors=(404,),
)
async def get_customer_by_alias(request: Http, alias: Path) -> wire.Customer20240509:
    # Alias values may hold `/` (sent as %2F): read the exact value from the raw path.
    raw = request.scope.get("raw_path") or b""
    _, marker, tail = raw.partition(b"/customers/by-alias/")
    value = unquote(tail.decode("utf-8", "replace")) if marker else str(alias).removeprefix("/")
    return await route.snapshot(request, service.by_alias, value)


@route.operation(
    "GET", "/customer-custom-property-keys", "getCustomerCustomPropertyKeys", "List custom property keys", tags=TAGS
)
async def list_custom_property_keys(request: Http) -> wire.CustomPropertyKeys:
    return await route.read(request, service.property_keys)


ROUTES = [
    list_customers,
    create_customer,
    get_customer,
    update_customer,
    archive_customer,
    get_customer_by_alias,
    list_custom_property_keys,
]
