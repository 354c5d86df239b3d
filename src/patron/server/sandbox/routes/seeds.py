"""The control plane: seeds, a fixture of customers stored into an account (docs/sandbox.md)."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from patron.server.sandbox.service import seeds as service
from patron.server.web import route
from patron.server.web.route import Http
from patron.wire.sandbox import seeds as wire


@route.control(
    "POST",
    "/accounts/{account_id:str}/seed",
    "postSandboxSeed",
    "Seed an account with customers",
    status=201,
    errors=(404, 409),
    response=wire.SeedResult,
)
async def seed(request: Http, account_id: str, data: wire.SeedFixture) -> wire.SeedResult:
    return await route.operate(request, service.load, account_id, data)


ROUTES: list[HTTPRouteHandler] = [seed]
