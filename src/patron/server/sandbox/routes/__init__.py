"""The operator's control plane under `/_patron/accounts` (docs/sandbox.md), one module per
control; `app.py` mounts these only when an admin token is set."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from patron.server.sandbox.routes import accounts, clock, faults, journal, seeds, snapshots

ROUTES: list[HTTPRouteHandler] = [
    *accounts.ROUTES,
    *snapshots.ROUTES,
    *seeds.ROUTES,
    *clock.ROUTES,
    *faults.ROUTES,
    *journal.ROUTES,
]
