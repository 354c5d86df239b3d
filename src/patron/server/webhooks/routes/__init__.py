"""The account's webhook tools under `/_patron/` (docs/webhooks.md): the event log, the
delivery log, redelivery and flush. Authenticated with the account's own Basic credentials,
served whether or not the sandbox's control plane is on; never part of Sequence's API."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from patron.server.webhooks.routes import deliveries, events, flush

ROUTES: list[HTTPRouteHandler] = [*events.ROUTES, *deliveries.ROUTES, flush.flush]
