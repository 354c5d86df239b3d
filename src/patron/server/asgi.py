"""Entry point for ASGI servers: `granian --interface asgi --factory patron.server.asgi:from_env`
(or `uvicorn --factory patron.server.asgi:from_env`). Settings come from `PATRON_*`."""

from __future__ import annotations

from litestar import Litestar

from patron.server.app import create_app
from patron.server.config import Settings


def from_env() -> Litestar:
    return create_app(Settings.from_env())
