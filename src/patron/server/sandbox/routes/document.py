"""The control plane's own OpenAPI document, `/_patron/openapi.json` (docs/sandbox.md):
the operator's operations are patron's, not Sequence's, so they stay out of
`/api/openapi.json`. It is built once from a second app that holds only those routes and is
never served (Litestar documents the routes an app holds; a handler may be registered in
several apps, each registration a copy)."""

from __future__ import annotations

from functools import cache
from typing import Any

from litestar import Litestar, MediaType, Router, get
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme, Server, Tag

from patron import __version__
from patron.server.sandbox.routes import ROUTES

PREFIX = "/_patron"

_DESCRIPTION = (
    "patron's sandbox control plane (docs/sandbox.md): accounts, reset, snapshots and the other "
    "test controls. On only when an admin token is set (PATRON_ADMIN_TOKEN); every operation "
    "takes it as `Authorization: Bearer <token>`. Not part of Sequence's API."
)


@cache
def document() -> dict[str, Any]:
    """The document (built on first use: most servers never ask for it)."""
    config = OpenAPIConfig(
        title="patron: sandbox control plane",
        version=__version__,
        description=_DESCRIPTION,
        servers=[Server(url="/")],
        components=Components(
            security_schemes={
                "adminToken": SecurityScheme(type="http", scheme="bearer", description="PATRON_ADMIN_TOKEN")
            }
        ),
        tags=[Tag(name="Sandbox", description="The operator's controls of accounts, for tests")],
        use_handler_docstrings=False,
        render_plugins=[],
    )
    unserved = Litestar(
        route_handlers=[Router(path=PREFIX, route_handlers=ROUTES)], openapi_config=config, logging_config=None
    )
    return unserved.openapi_schema.to_schema()


@get("/openapi.json", include_in_schema=False, sync_to_thread=False, media_type=MediaType.JSON)
def openapi_document() -> dict[str, Any]:
    """The control plane's OpenAPI document, public like `/api/openapi.json`."""
    return document()
