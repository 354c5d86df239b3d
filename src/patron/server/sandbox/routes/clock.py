"""The control plane: an account's test clock (docs/sandbox.md)."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from patron.server.sandbox.service import clock as service
from patron.server.web import route
from patron.server.web.route import Http
from patron.wire.sandbox import clock as wire

_PATH = "/accounts/{account_id:str}/clock"


@route.control("GET", _PATH, "getSandboxClock", "Show an account's test clock", errors=(404,), response=wire.Clock)
async def show_clock(request: Http, account_id: str) -> wire.Clock:
    return await route.operate(request, service.show, account_id)


@route.control("PUT", _PATH, "putSandboxClock", "Freeze an account's clock", errors=(404,), response=wire.Clock)
async def freeze_clock(request: Http, account_id: str, data: wire.FreezeClock) -> wire.Clock:
    return await route.operate(request, service.freeze, account_id, data)


@route.control(
    "POST",
    f"{_PATH}/advance",
    "postSandboxClockAdvance",
    "Advance an account's clock",
    errors=(404,),
    response=wire.Clock,
)
async def advance_clock(request: Http, account_id: str, data: wire.AdvanceClock) -> wire.Clock:
    return await route.operate(request, service.advance, account_id, data)


@route.control("DELETE", _PATH, "deleteSandboxClock", "Back to the wall clock", status=204, errors=(404,))
async def unfreeze_clock(request: Http, account_id: str) -> None:
    await route.operate(request, service.unfreeze, account_id)


ROUTES: list[HTTPRouteHandler] = [show_clock, freeze_clock, advance_clock, unfreeze_clock]
