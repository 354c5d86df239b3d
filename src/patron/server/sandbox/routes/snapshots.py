"""The control plane: snapshots (docs/sandbox.md): save, list, restore and delete an
account's state."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from patron.server.sandbox.service import snapshots as service
from patron.server.web import route
from patron.server.web.route import Http
from patron.wire.sandbox import snapshots as wire

_ONE = "/accounts/{account_id:str}/snapshots/{name:str}"


@route.control(
    "POST",
    "/accounts/{account_id:str}/snapshots",
    "createSnapshot",
    "Save the account's state under a name",
    status=201,
    errors=(404, 409),
    response=wire.Snapshot,
)
async def create_snapshot(request: Http, account_id: str, data: wire.CreateSnapshotRequest) -> wire.Snapshot:
    return await route.operate(request, service.create, account_id, data)


@route.control(
    "GET", "/accounts/{account_id:str}/snapshots", "listSnapshots", "List the account's snapshots", errors=(404,)
)
async def list_snapshots(request: Http, account_id: str) -> wire.SnapshotList:
    return await route.operate(request, service.list_all, account_id)


@route.control(
    "POST",
    _ONE + "/restore",
    "restoreSnapshot",
    "Put the account back as the snapshot holds it",
    status=204,
    errors=(404,),
)
async def restore_snapshot(request: Http, account_id: str, name: str) -> None:
    await route.operate(request, service.restore, account_id, name)


@route.control("DELETE", _ONE, "deleteSnapshot", "Delete a snapshot", status=204, errors=(404,))
async def delete_snapshot(request: Http, account_id: str, name: str) -> None:
    await route.operate(request, service.delete, account_id, name)


ROUTES: list[HTTPRouteHandler] = [create_snapshot, list_snapshots, restore_snapshot, delete_snapshot]
