"""The control plane: an account's injected faults (docs/sandbox.md)."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from patron.server.sandbox.service import faults as service
from patron.server.web import route
from patron.server.web.route import Http
from patron.wire.sandbox import faults as wire

_RULES = "/accounts/{account_id:str}/faults"


@route.control("POST", _RULES, "postSandboxFaults", "Inject a fault", status=201, errors=(404,), response=wire.Fault)
async def create_fault(request: Http, account_id: str, data: wire.FaultRule) -> wire.Fault:
    return await route.operate(request, service.create, account_id, data)


@route.control("GET", _RULES, "getSandboxFaults", "List the faults", errors=(404,), response=wire.FaultList)
async def list_faults(request: Http, account_id: str) -> wire.FaultList:
    return await route.operate(request, service.list_faults, account_id)


@route.control(
    "DELETE", _RULES + "/{fault_id:str}", "deleteSandboxFaultsById", "Delete a fault", status=204, errors=(404,)
)
async def delete_fault(request: Http, account_id: str, fault_id: str) -> None:
    await route.operate(request, service.delete, account_id, fault_id)


@route.control("DELETE", _RULES, "deleteSandboxFaults", "Delete every fault", status=204, errors=(404,))
async def delete_faults(request: Http, account_id: str) -> None:
    await route.operate(request, service.delete_all, account_id)


ROUTES: list[HTTPRouteHandler] = [create_fault, list_faults, delete_fault, delete_faults]
