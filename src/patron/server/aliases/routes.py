"""HTTP routes for customer aliases."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, delete, get, post, put
from litestar.params import Parameter

from patron.server.aliases import service
from patron.server.auth import Principal
from patron.server.db.engine import Database
from patron.server.idempotency import service as idempotency
from patron.server.web.deps import errors
from patron.wire import models as wire

TAGS = ["Customer Aliases"]


@get(
    "/customer-aliases",
    operation_id="getCustomerAliases",
    summary="List all customer aliases",
    tags=TAGS,
    responses=errors(),
    sync_to_thread=True,
)
def list_aliases(
    db: Database,
    who: Principal,
    value: str | None = Parameter(query="value", default=None, description="Exact alias value"),
    limit: int = Parameter(query="limit", default=20, ge=1, le=100, description="Page size, 1 to 100 (default 20)"),
    after: str | None = Parameter(query="after", default=None, description="Pagination cursor (pagination.after)"),
    before: str | None = Parameter(query="before", default=None, description="Pagination cursor (pagination.before)"),
) -> wire.ListCustomerAliasResponse:
    with db.read() as tx:
        return service.list_page(tx, who, db.key, value=value, limit=limit, after=after, before=before)


@post(
    "/customer-aliases",
    operation_id="postCustomerAliases",
    summary="Create a customer alias",
    tags=TAGS,
    status_code=201,
    responses=errors(409),
    sync_to_thread=True,
)
def create_alias(
    db: Database,
    who: Principal,
    request: Request[Any, Any, Any],
    data: wire.CreateCustomerAliasRequest,
    idempotency_key: str | None = Parameter(
        header="Idempotency-Key",
        default=None,
        description="Retry safely: the same key replays the first answer for 24 hours",
    ),
) -> Response[wire.CustomerAliasResponse]:
    request_hash = idempotency.fingerprint("POST", request.url.path, msgspec.json.encode(data))

    def work() -> tuple[int, str]:
        return 201, msgspec.json.encode(service.create(tx, who, data)).decode()

    with db.write() as tx:
        outcome = idempotency.run_once(tx, who, idempotency_key, request_hash, work)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return Response(
        msgspec.json.decode(outcome.body, type=wire.CustomerAliasResponse),
        status_code=outcome.status,
        headers=headers,
    )


@put(
    "/customer-aliases/{id:str}",
    operation_id="putCustomerAliasesById",
    summary="Update a customer alias",
    tags=TAGS,
    responses=errors(404),
    sync_to_thread=True,
)
def update_alias(
    db: Database, who: Principal, id: str, data: wire.UpdateCustomerAliasRequest
) -> wire.CustomerAliasResponse:
    with db.write() as tx:
        return service.update(tx, who, id, data)


@delete(
    "/customer-aliases/{id:str}",
    operation_id="deleteCustomerAliasesById",
    summary="Delete a customer alias",
    tags=TAGS,
    status_code=200,
    responses=errors(404),
    sync_to_thread=True,
)
def delete_alias(db: Database, who: Principal, id: str) -> wire.CustomerAliasResponse:
    with db.write() as tx:
        return service.delete(tx, who, id)


@get(
    "/customers/{id:str}/aliases",
    operation_id="getCustomersByIdAliases",
    summary="Get customer aliases",
    tags=TAGS,
    responses=errors(404),
    sync_to_thread=True,
)
def customer_aliases(db: Database, who: Principal, id: str) -> wire.CustomerAliasList:
    with db.read() as tx:
        return service.of_customer(tx, who, id)


ROUTES = [list_aliases, create_alias, update_alias, delete_alias, customer_aliases]
