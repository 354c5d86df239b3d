"""`POST /_patron/webhooks/flush`: send the account's due deliveries now and answer once
they are done, so tests never sleep (docs/webhooks.md)."""

from __future__ import annotations

from litestar.params import Parameter

from patron.server.web import route
from patron.server.web.route import Http
from patron.server.webhooks.service.dispatch import Dispatcher
from patron.wire import webhooks as wire


@route.operation(
    "POST",
    "/webhooks/flush",
    "postPatronWebhooksFlush",
    "Send the account's due deliveries now and answer once they are done",
    tags=["Webhooks"],
    response=wire.Flushed,
    keyed=False,  # sending what is due twice sends nothing twice: no key, no replay
)
async def flush(request: Http, every_pending: bool = Parameter(query="all", default=False)) -> wire.Flushed:
    """`?all=true`: every pending delivery counts as due, backoff ignored (a receiver that
    failed twice gets its third attempt in the same flush)."""
    dispatcher = request.app.state.dispatcher
    assert isinstance(dispatcher, Dispatcher)
    done = await dispatcher.flush(route.caller(request).account_id, every_pending=every_pending)
    return wire.Flushed(
        attempts=done.attempts,
        succeeded=done.succeeded,
        failed=done.failed,
        retrying=done.retrying,
        cancelled=done.cancelled,
        pending=done.pending,
    )
