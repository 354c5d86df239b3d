"""`patron events list|resend` and `patron listen` (docs/webhooks.md): an account's webhook
log on a patron server, over HTTP with the account's credentials. `listen` follows the log
and forwards each new event's exact body to a local URL, signed with a secret of its own
that stays the same across restarts (as `stripe listen` does)."""

from __future__ import annotations

import hmac
import json
import signal
import string
import sys
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import httpx
import typer

from patron import __version__
from patron.cli.common import fail, out
from patron.client import ApiError, WebhookLog
from patron.wire import signature
from patron.wire import webhooks as wire
from patron.wire.enums import NotificationType

events_app = typer.Typer(help="An account's webhook events on a patron server.", no_args_is_help=True)

BaseUrlOption = Annotated[
    str, typer.Option("--base-url", envvar="SEQUENCE_BASE_URL", help="The patron server's API URL.")
]
ClientIdOption = Annotated[
    str | None, typer.Option("--client-id", envvar="SEQUENCE_CLIENT_ID", help="The account's client id.")
]
ClientSecretOption = Annotated[
    str | None, typer.Option("--client-secret", envvar="SEQUENCE_CLIENT_SECRET", help="The account's client secret.")
]
DEFAULT_BASE_URL = "http://127.0.0.1:8000/api"
WAIT = 20.0
"""Seconds each of `listen`'s requests lets the server hold it while nothing happens."""
PAGE = 100
SEEN = 10_000
"""Event ids `listen` remembers, so that none is forwarded twice."""
RETRY_AFTER = 1.0
"""Seconds `listen` waits before asking again when the server does not answer."""
FORWARD_TIMEOUT = 10.0
_ALPHANUMERIC = string.ascii_letters + string.digits


@events_app.command("list")
def events_list(
    types: Annotated[list[str] | None, typer.Option("--type", help="Only this type (repeat for several).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many, newest first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the events as JSON, one a line.")] = False,
    base_url: BaseUrlOption = DEFAULT_BASE_URL,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
) -> None:
    """List the account's newest webhook events."""
    with _log(base_url, client_id, client_secret) as log:
        page = log.list_events(type=[_type(value) for value in types or []] or None, limit=limit)
    if as_json:
        for event in page.items:
            sys.stdout.write(json.dumps(_as_json(event)) + "\n")
        return
    # Plain columns, never cut: an id is there to be copied (`patron events resend ID`).
    _say(f"{'created (UTC)':<24}  {'type':<17}  {'event id':<36}  resource id")
    for event in page.items:
        _say(f"{event.created_at:<24}  {event.notification_type.value:<17}  {event.id:<36}  {event.resource_id}")


@events_app.command("resend")
def events_resend(
    event_id: str,
    policy: Annotated[str | None, typer.Option("--policy", help="Only to this policy (its id).")] = None,
    recipient: Annotated[str | None, typer.Option("--recipient", help="Only to this recipient URL.")] = None,
    base_url: BaseUrlOption = DEFAULT_BASE_URL,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
) -> None:
    """Deliver an event again (same webhook-id, same body) to every live webhook policy
    taking its type, or the policy or recipient named."""
    with _log(base_url, client_id, client_secret) as log:
        made = log.redeliver(event_id, policy_id=policy, recipient=recipient).items
    if not made:
        _say(f"no live webhook policy takes event {event_id}: nothing to resend")
    for delivery in made:
        _say(f"queued delivery {delivery.id} to {delivery.recipient}")


def listen(
    forward_to: Annotated[str, typer.Option("--forward-to", help="The local URL to POST each event to.")],
    events: Annotated[
        str | None, typer.Option("--events", help="Only these types, comma-separated (CUSTOMER_CREATED,...).")
    ] = None,
    base_url: BaseUrlOption = DEFAULT_BASE_URL,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
) -> None:
    """Forward the account's new webhook events to a local URL, signed, until Ctrl-C.

    Each event recorded from now on is POSTed to URL with its exact body and the headers
    patron's deliveries carry (Sequence-Signature, webhook-id, ...), signed with the secret
    printed at start: the same on every run for the same credentials."""
    types = [_type(value.strip()) for value in events.split(",") if value.strip()] if events else []
    # SIGTERM ends it as Ctrl-C does: a summary line, exit code 0.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with _log(base_url, client_id, client_secret) as log, httpx.Client(timeout=FORWARD_TIMEOUT) as http:
        secret = listen_secret(*_credentials(client_id, client_secret))
        follower = Follower(log, types)
        forwarded = 0
        try:
            _say(f"Ready! Forwarding to {forward_to}; your webhook signing secret is {secret} (Ctrl-C to quit)")
            for event in follower.new_events():
                forward(http, forward_to, secret, event)
                forwarded += 1
        except KeyboardInterrupt:
            _say(f"stopped after forwarding {forwarded} event{'' if forwarded == 1 else 's'}")


def listen_secret(client_id: str, client_secret: str) -> str:
    """`listen`'s signing secret: `whsec_` and 32 letters and digits drawn from an HMAC of the
    credentials, so it stays the same across restarts and differs between accounts."""
    number = int.from_bytes(hmac.new(client_secret.encode(), b"patron listen:" + client_id.encode(), "sha256").digest())
    letters = []
    for _ in range(32):
        number, index = divmod(number, len(_ALPHANUMERIC))
        letters.append(_ALPHANUMERIC[index])
    return signature.SECRET_PREFIX + "".join(letters)


class Follower:
    """The events recorded after it started, each once, oldest first: it follows the log's
    tail cursor (the server holds the request until one comes), and looks at the newest page
    too, for an event whose write committed after a later one's had been read."""

    def __init__(self, log: WebhookLog, types: Sequence[str]) -> None:
        self._log = log
        self._types = list(types) or None
        self._seen: OrderedDict[str, None] = OrderedDict()
        newest = log.list_events(type=self._types, limit=PAGE)
        self._remember(newest.items)
        self._tail = newest.pagination.before

    def new_events(self) -> Iterator[wire.Event]:
        while True:
            try:
                found = self._round()
            except httpx.TransportError as exc:
                _say(f"the server does not answer ({exc}); asking again in {RETRY_AFTER:g} s")
                time.sleep(RETRY_AFTER)
                continue
            yield from found

    def _round(self) -> list[wire.Event]:
        try:
            tail = self._log.list_events(type=self._types, limit=PAGE, before=self._tail, wait=WAIT)
        except ApiError as exc:
            if exc.status != 400:
                raise
            # A cursor the server no longer reads (restarted with another server key): the
            # newest page says where the tail is now.
            tail = self._log.list_events(type=self._types, limit=PAGE)
        newest = self._log.list_events(type=self._types, limit=PAGE)
        self._tail = tail.pagination.before or newest.pagination.before
        fresh = {event.id: event for event in [*tail.items, *newest.items] if event.id not in self._seen}
        ordered = sorted(fresh.values(), key=lambda event: (event.created_at, event.id))
        self._remember(ordered)
        return ordered

    def _remember(self, events: Sequence[wire.Event]) -> None:
        for event in events:
            self._seen[event.id] = None
        while len(self._seen) > SEEN:
            self._seen.popitem(last=False)


def forward(http: httpx.Client, url: str, secret: str, event: wire.Event) -> None:
    """POST the event's exact body to `url` as patron delivers it, and say what came back."""
    body = event.raw_body.encode()
    t_ms = time.time_ns() // 1_000_000
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"patron/{__version__} (listen)",
        signature.HEADER: signature.header(secret, t_ms, body),
        "webhook-id": event.id,
        "webhook-timestamp": str(t_ms // 1000),
    }
    standard = signature.standard(secret, event.id, t_ms // 1000, body)
    if standard is not None:
        headers["webhook-signature"] = standard
    try:
        answer = http.post(url, content=body, headers=headers)
        outcome = f"[{answer.status_code}]"
    except httpx.HTTPError as exc:
        outcome = f"[failed: {exc or type(exc).__name__}]"
    _say(f"{_stamp()}  {event.notification_type.value} {event.id} -> {url} {outcome}")


@contextmanager
def _log(base_url: str, client_id: str | None, client_secret: str | None) -> Iterator[WebhookLog]:
    """The account's log; a refusal or an unreachable server is one line and exit code 1."""
    with WebhookLog(base_url, *_credentials(client_id, client_secret)) as log:
        try:
            yield log
        except ApiError as exc:
            raise fail(f"{base_url}: {exc.status} {exc.type}: {exc.message}") from None
        except httpx.TransportError as exc:
            raise fail(f"cannot reach {base_url}: {exc}") from None


def _credentials(client_id: str | None, client_secret: str | None) -> tuple[str, str]:
    if not client_id or not client_secret:
        raise fail("the account's credentials: --client-id and --client-secret (or $SEQUENCE_CLIENT_ID and ...SECRET)")
    return client_id, client_secret


def _type(value: str) -> str:
    try:
        return NotificationType(value).value
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a notification type (e.g. CUSTOMER_CREATED)") from None


def _as_json(event: wire.Event) -> dict[str, object]:
    """The event as the server lists it (the body decoded from its exact bytes)."""
    return {
        "id": event.id,
        "createdAt": event.created_at,
        "notificationType": event.notification_type.value,
        "resourceType": event.resource_type,
        "resourceId": event.resource_id,
        "body": json.loads(event.raw_body),
        "rawBody": event.raw_body,
    }


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _say(text: str) -> None:
    # Plain text, flushed: a script reading the secret from a pipe sees it at once.
    out.print(text, markup=False, highlight=False, soft_wrap=True)
    out.file.flush()
