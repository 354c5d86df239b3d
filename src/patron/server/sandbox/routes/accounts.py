"""The control plane: accounts (docs/sandbox.md): create, list, delete and reset."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler
from litestar.params import Parameter

from patron.server.sandbox.service import accounts as service
from patron.server.web import route
from patron.server.web.route import Http
from patron.wire.sandbox import accounts as wire


@route.control(
    "POST",
    "/accounts",
    "createAccount",
    "Create an account (optionally with chosen credentials)",
    status=201,
    errors=(409,),
    response=wire.NewAccount,
)
async def create_account(request: Http, data: wire.CreateAccountRequest) -> wire.NewAccount:
    return await route.operate(request, service.create, route.database(request).key, data)


@route.control("GET", "/accounts", "listAccounts", "List accounts in creation order")
async def list_accounts(
    request: Http,
    limit: int = Parameter(
        query="limit", default=100, ge=1, le=wire.MAX_PAGE, description=f"Page size, 1 to {wire.MAX_PAGE} (default 100)"
    ),
    after: str | None = Parameter(
        query="after", default=None, description="An account id: the page starts after it (keyset paging)"
    ),
) -> wire.AccountList:
    return await route.operate(request, service.list_page, limit=limit, after=after)


@route.control(
    "DELETE",
    "/accounts/{account_id:str}",
    "deleteAccount",
    "Delete an account and everything in it",
    status=204,
    errors=(404,),
)
async def delete_account(request: Http, account_id: str) -> None:
    await route.operate(request, service.delete, account_id)


@route.control(
    "POST",
    "/accounts/{account_id:str}/reset",
    "resetAccount",
    "Empty an account (its credentials and snapshots stay)",
    status=204,
    errors=(404,),
)
async def reset_account(request: Http, account_id: str) -> None:
    await route.operate(request, service.reset, account_id)


ROUTES: list[HTTPRouteHandler] = [create_account, list_accounts, delete_account, reset_account]
