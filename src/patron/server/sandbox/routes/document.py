"""patron's own OpenAPI document, `/_patron/openapi.json` (docs/sandbox.md, docs/webhooks.md):
the operations under `/_patron/` are patron's, not Sequence's, so they stay out of
`/api/openapi.json`. Two roles meet there: the operator's control plane (only when an admin
token is set) and an account's own tools (its webhook log, always), which `app.py` hands in.
The document is built once from a second app that holds only those routes and is never
served (Litestar documents the routes an app holds; a handler may be registered in several
apps, each registration a copy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Litestar, MediaType, Router, get
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, Reference, SecurityScheme, Server, Tag

from patron import __version__
from patron.server.sandbox.routes import ROUTES

PREFIX = "/_patron"

_DESCRIPTION = (
    "patron's own operations, not part of Sequence's API. The account's webhook log "
    "(docs/webhooks.md) takes the account's HTTP Basic credentials (clientId:clientSecret), "
    "like the API. The sandbox control plane (docs/sandbox.md: accounts, reset, snapshots and "
    "the other test controls) is on only when an admin token is set (PATRON_ADMIN_TOKEN); its "
    "operations take it as `Authorization: Bearer <token>`."
)
_OPERATOR = Tag(name="Sandbox", description="The operator's controls of accounts, for tests")
_ACCOUNT = Tag(name="Webhooks", description="The account's webhook events, deliveries and their attempts")


def document(account_routes: Sequence[HTTPRouteHandler], *, operator: bool) -> dict[str, Any]:
    """The document of the account's routes, and of the operator's when `operator`."""
    schemes: dict[str, SecurityScheme | Reference] = {"basicAuth": SecurityScheme(type="http", scheme="basic")}
    if operator:
        schemes["adminToken"] = SecurityScheme(type="http", scheme="bearer", description="PATRON_ADMIN_TOKEN")
    config = OpenAPIConfig(
        title="patron: its own operations under /_patron",
        version=__version__,
        description=_DESCRIPTION,
        servers=[Server(url="/")],
        components=Components(security_schemes=schemes),
        tags=[_OPERATOR, _ACCOUNT] if operator else [_ACCOUNT],
        use_handler_docstrings=False,
        render_plugins=[],
    )
    routers = [Router(path=PREFIX, route_handlers=list(account_routes), security=[{"basicAuth": []}])]
    if operator:
        routers.append(Router(path=PREFIX, route_handlers=ROUTES))
    unserved = Litestar(route_handlers=routers, openapi_config=config, logging_config=None)
    return unserved.openapi_schema.to_schema()


def openapi_document(account_routes: Sequence[HTTPRouteHandler], *, operator: bool) -> HTTPRouteHandler:
    """The route serving the document, public like `/api/openapi.json` (built on first use:
    most servers never ask for it)."""
    built: list[dict[str, Any]] = []

    @get("/openapi.json", include_in_schema=False, sync_to_thread=False, media_type=MediaType.JSON)
    def openapi() -> dict[str, Any]:
        if not built:
            built.append(document(account_routes, operator=operator))
        return built[0]

    return openapi
