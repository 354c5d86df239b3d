"""The docs page at `/api/docs/`: Swagger UI, its files served by patron itself from the
installed drf-spectacular-sidecar package, so the page works with no network at all
(docs/sandbox.md, "The docs page works offline")."""

from __future__ import annotations

import functools
import html
from importlib import metadata, resources
from typing import Any

from litestar import Request, Response, Router, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin

_PACKAGE = "drf_spectacular_sidecar"
_SWAGGER_UI = resources.files(_PACKAGE) / "static" / _PACKAGE / "swagger-ui-dist"
VERSION = metadata.version("drf-spectacular-sidecar")
"""In every asset URL, so an upgrade changes the URLs and a year of browser caching is safe."""
# Litestar adds "; charset=utf-8" to the text types.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
    # Named at the end of the bundle and the stylesheet; a browser asks only with its devtools open.
    "swagger-ui-bundle.js.map": "application/json",
    "swagger-ui.css.map": "application/json",
}
CACHE_CONTROL = "public, max-age=31536000, immutable"
DOCUMENT = "/api/openapi.json"


@functools.cache
def _content(name: str) -> bytes:
    # Read once per process (the bundle, 1.6 MB, in a few ms), then served from memory.
    return (_SWAGGER_UI / name).read_bytes()


@get(f"/assets/{VERSION}/{{name:str}}", include_in_schema=False, sync_to_thread=False)
def asset(name: str) -> Response[bytes]:
    """One of Swagger UI's files, straight from the installed package."""
    if name not in ASSETS:
        raise NotFoundException()
    return Response(_content(name), media_type=ASSETS[name], headers={"Cache-Control": CACHE_CONTROL})


class SwaggerPage(OpenAPIRenderPlugin):
    """Swagger UI on `DOCUMENT`, every file it needs from patron's own `assets` route."""

    def __init__(self, *, path: str = "/") -> None:
        super().__init__(path=path)
        self._assets = f"/api/docs/assets/{VERSION}"

    def receive_router(self, router: Router) -> None:
        """The assets live under the docs router, wherever the app mounts it."""
        router.register(asset)
        self._assets = f"{router.path.rstrip('/')}/assets/{VERSION}"

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return _page(html.escape(openapi_schema["info"]["title"]), self._assets).encode()


def _page(title: str, assets: str) -> str:
    # validatorUrl null: a layout that shows the validator badge would fetch it from
    # validator.swagger.io. This one shows none today; the null keeps it so.
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<style>body {{ margin: 0 }}</style>
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: "{DOCUMENT}",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true,
}});
</script>
</body>
</html>
"""
