"""The ASGI application: `create_app(settings)` wires routes, the edge and the database."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, MediaType, Request, Response, Router, get
from litestar.config.response_cache import ResponseCacheConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme, Server, Tag

from patron import __version__
from patron.server import clock
from patron.server.aliases.routes import ROUTES as ALIAS_ROUTES
from patron.server.config import Settings
from patron.server.contacts.routes import ROUTES as CONTACT_ROUTES
from patron.server.customers import service as customer_service
from patron.server.customers.routes import ROUTES as CUSTOMER_ROUTES
from patron.server.db.engine import Database, open_database
from patron.server.notifications.routes import ROUTES as NOTIFICATION_ROUTES
from patron.server.organizations.routes import ROUTES as ORGANIZATION_ROUTES
from patron.server.sandbox.routes import ROUTES as SANDBOX_ROUTES
from patron.server.sandbox.routes import document as control_document
from patron.server.sandbox.routes import edge as sandbox_edge
from patron.server.web import docs, metrics, route, sandbox
from patron.server.web.edge import edge_middleware, stamp_response
from patron.server.web.errors import EXCEPTION_HANDLERS
from patron.server.web.guard import guard
from patron.server.web.observe import observed
from patron.server.web.ratelimit import Limiter
from patron.server.webhooks.routes import ROUTES as WEBHOOK_ROUTES
from patron.server.webhooks.service.dispatch import Dispatcher
from patron.wire import API_VERSION

MAX_BODY_BYTES = 1024 * 1024


@get("/livez", include_in_schema=False, sync_to_thread=False)
def livez() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


@get("/readyz", include_in_schema=False, sync_to_thread=True)
def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    """Ready when the database answers; 503 (and `Retry-After`) while it does not."""
    if route.database(request).ping():
        return Response({"status": "ok"})
    return Response({"status": "unavailable", "reason": "database"}, status_code=503, headers={"Retry-After": "1"})


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics_exposition() -> Response[bytes]:
    """Prometheus metrics, unauthenticated like the health checks (docs/production.md:
    keep `/metrics` off the public network)."""
    content, content_type = metrics.exposition()
    return Response(content, media_type=content_type)


@get("/api/openapi.json", include_in_schema=False, sync_to_thread=False, media_type=MediaType.JSON)
def openapi_document(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """patron's own OpenAPI document."""
    return request.app.openapi_schema.to_schema()


def _openapi_config() -> OpenAPIConfig:
    """Sequence's API document, `/api/openapi.json`, browsable at `/api/docs/`."""
    return OpenAPIConfig(
        title="patron: Sequence Customers API",
        version=__version__,
        description=(
            f"A self-hostable server for Sequence's Customers API, version {API_VERSION}. "
            "Authenticate with HTTP Basic (clientId:clientSecret)."
        ),
        path="/api/docs",
        render_plugins=[docs.SwaggerPage(path="/")],
        servers=[Server(url="/")],
        components=Components(security_schemes={"basicAuth": SecurityScheme(type="http", scheme="basic")}),
        tags=[Tag(name=n) for n in ("Customers", "Customer Aliases", "Contacts", "Organizations")],
        use_handler_docstrings=False,
    )


def create_app(settings: Settings, *, database: Database | None = None) -> Litestar:
    """Build the app. The caller owns migrations (run them before serving)."""
    database = database or open_database(settings)
    clock.seed_ids(settings.id_seed)
    # This worker's webhook sender: started and stopped with the app (docs/webhooks.md).
    dispatcher = Dispatcher(database, settings)
    control = sandbox.Control(settings.admin_token, database, sandbox_edge.Hooks()) if settings.admin_token else None
    # The operator's control plane exists only when an admin token is set (docs/sandbox.md);
    # it has its own OpenAPI document, `/_patron/openapi.json`: never in Sequence's.
    controls = SANDBOX_ROUTES if control is not None else []
    # The account's webhook tools are served with or without the control plane, and so is
    # the document of what `/_patron/` holds.
    described = control_document.openapi_document(WEBHOOK_ROUTES, operator=control is not None)
    patron_routes = Router(
        path="/_patron", route_handlers=[*controls, *WEBHOOK_ROUTES, described], include_in_schema=False
    )
    api = Router(
        path="/api",
        route_handlers=[*CUSTOMER_ROUTES, *ALIAS_ROUTES, *CONTACT_ROUTES, *ORGANIZATION_ROUTES, *NOTIFICATION_ROUTES],
        security=[{"basicAuth": []}],
    )
    app = Litestar(
        route_handlers=[api, patron_routes, livez, readyz, metrics_exposition, openapi_document],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[edge_middleware(database, Limiter(settings), control), guard],
        before_send=[stamp_response],
        openapi_config=_openapi_config(),
        request_max_body_size=MAX_BODY_BYTES,
        response_cache_config=ResponseCacheConfig(),
        debug=False,
        logging_config=None,
        on_startup=[dispatcher.start],
        on_shutdown=[dispatcher.stop, database.close],
    )
    # Outermost, around routing and the edge: unmatched and refused requests count too.
    app.asgi_handler = observed(app.asgi_handler)
    metrics.watch_pool(database.engine, "main")
    app.state.database = database
    app.state.settings = settings
    app.state.announce = customer_service.announce
    app.state.dispatcher = dispatcher
    return app
