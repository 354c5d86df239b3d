"""Receiving a sandbox's webhooks in a test (docs/webhooks.md): a local HTTP receiver on
127.0.0.1 in a thread that checks every delivery's signature and collects the good ones, and
what the `patron_webhooks` fixture hands a test: the receiver behind a WEBHOOK policy of the
test's account, and `wait_for`, which has the sandbox send what is due first."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

import msgspec

from patron.client import SignatureError, WebhookEnvelope, WebhookLog, verify_signature
from patron.testing.account import PatronAccount
from patron.wire import notifications
from patron.wire.enums import NotificationChannel
from patron.wire.webhooks import Flushed

WAIT_TIMEOUT = 10.0
"""Seconds `wait_for` waits by default (a delivery on loopback takes milliseconds)."""
_FLUSH_EVERY = 0.25
"""Seconds between two flushes while `wait_for` waits (a retry may come due meanwhile)."""
_MAX_BODY = 16 * 1024 * 1024


class ReceivedWebhook(NamedTuple):
    """A delivery the receiver took: its event id (`webhook-id`, the same on every retry and
    redelivery), the body decoded, its headers (names in lower case) and its exact bytes."""

    event_id: str
    envelope: WebhookEnvelope
    headers: dict[str, str]
    raw_body: bytes


class RejectedWebhook(NamedTuple):
    """A request the receiver refused (answered 400): why, its headers and its bytes."""

    reason: str
    headers: dict[str, str]
    raw_body: bytes


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 (a free port, its own threads) that takes POSTs to any
    path: one signed with `secret` is collected and answered 204 (or what `fail_next` set),
    any other answered 400 and kept in `rejected`. `close()` stops it.

    The signature's `t` is checked against the wall clock only with `tolerance_s`: a sandbox
    account's test clock signs with its own time (a frozen clock, a year ahead)."""

    def __init__(self, secret: str = "", *, tolerance_s: float | None = None) -> None:
        self.secret = secret
        self.tolerance_s = tolerance_s
        self._changed = threading.Condition()
        self._deliveries: list[ReceivedWebhook] = []
        self._rejected: list[RejectedWebhook] = []
        self._failures: list[int] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="patron-webhooks", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    @property
    def deliveries(self) -> list[ReceivedWebhook]:
        with self._changed:
            return list(self._deliveries)

    @property
    def rejected(self) -> list[RejectedWebhook]:
        with self._changed:
            return list(self._rejected)

    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        """Answer the next `count` well-signed deliveries with `status` (not collected)."""
        with self._changed:
            self._failures.extend([status] * count)

    def wait(self, ready: Callable[[list[ReceivedWebhook]], bool], timeout: float) -> bool:
        """Wait until `ready(deliveries)` holds (True) or `timeout` seconds pass (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: ready(self._deliveries) or bool(self._rejected), timeout)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def take(self, headers: dict[str, str], body: bytes) -> int:
        """The answer to a POST: checked, then collected (or refused, or failed on purpose)."""
        try:
            verify_signature(body, headers.get("sequence-signature"), self.secret, tolerance_s=self.tolerance_s)
            envelope = msgspec.json.decode(body, type=WebhookEnvelope)
        except (SignatureError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            return self._refuse(str(exc), headers, body)
        with self._changed:
            if self._failures:
                return self._failures.pop(0)
            self._deliveries.append(ReceivedWebhook(headers.get("webhook-id", ""), envelope, headers, body))
            self._changed.notify_all()
        return HTTPStatus.NO_CONTENT

    def _refuse(self, reason: str, headers: dict[str, str], body: bytes) -> int:
        with self._changed:
            self._rejected.append(RejectedWebhook(reason, headers, body))
            self._changed.notify_all()
        return HTTPStatus.BAD_REQUEST


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a sender's connection pool expects

        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), _MAX_BODY)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            self.send_response(receiver.take(headers, body))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a test's output is not the place for an access log

    return Handler


class PatronWebhooks:
    """What `patron_webhooks` hands a test: a receiver behind a WEBHOOK policy (every type)
    of the test's account. `deliveries` are the verified ones, oldest first; `wait_for`
    waits for them; `fail_next` makes the receiver answer errors."""

    def __init__(self, account: PatronAccount, receiver: WebhookReceiver, *, name: str = "patron_webhooks") -> None:
        self.account = account
        self.receiver = receiver
        self.log = WebhookLog(account.base_url, account.client_id, account.client_secret)
        request = notifications.CreateNotificationPolicyRequest(
            name=name, recipients=[receiver.url], channel=NotificationChannel.WEBHOOK
        )
        with account.client() as client:
            policy = client.create_notification_policy(request)
        assert policy.webhook_secret is not None, "a WEBHOOK policy's answer holds its secret"
        self.policy_id: str = policy.id
        self.secret: str = policy.webhook_secret
        receiver.secret = self.secret

    @property
    def url(self) -> str:
        return self.receiver.url

    @property
    def deliveries(self) -> list[ReceivedWebhook]:
        return self.receiver.deliveries

    @property
    def rejected(self) -> list[RejectedWebhook]:
        return self.receiver.rejected

    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        """Answer the next `count` deliveries with `status`: the sandbox retries them."""
        self.receiver.fail_next(count, status=status)

    def wait_for(
        self, type: str | None = None, count: int = 1, timeout: float = WAIT_TIMEOUT, *, ignore_backoff: bool = False
    ) -> list[ReceivedWebhook]:
        """The verified deliveries of `type` (any type: None), once there are at least `count`
        of them; the sandbox is asked to send what is due first (`POST /_patron/webhooks/
        flush`), and again while it waits, so a test never sleeps. `ignore_backoff`: retries
        not yet due are sent at once too. Fails (AssertionError) after `timeout` seconds, or
        at once if a delivery's signature did not verify."""
        deadline = time.monotonic() + timeout
        while True:
            self.flush(ignore_backoff=ignore_backoff)
            step = min(_FLUSH_EVERY, max(deadline - time.monotonic(), 0))
            self.receiver.wait(lambda got: len(_of(got, type)) >= count, step)
            if self.rejected:
                raise AssertionError(f"a delivery did not verify: {self.rejected[0].reason}")
            found = _of(self.deliveries, type)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(self._timed_out(type, count, timeout, found))

    def flush(self, *, ignore_backoff: bool = False) -> Flushed:
        """Have the sandbox attempt every due delivery of the account now (`ignore_backoff`:
        every pending one) and wait for the results; its summary."""
        return self.log.flush(every_pending=ignore_backoff)

    def _timed_out(self, type: str | None, count: int, timeout: float, found: list[ReceivedWebhook]) -> str:
        plural = "delivery" if count == 1 else "deliveries"
        wanted = f"{count} {type} {plural}" if type else f"{count} {plural} of any type"
        kinds = [d.envelope.notification_type for d in self.deliveries]
        pending = self.log.list_deliveries(policy_id=self.policy_id, status="pending", limit=5).items
        waiting = ", ".join(f"{d.event_id} ({d.attempt_count} attempts, last {d.last_status})" for d in pending)
        return (
            f"waited {timeout:g} s for {wanted}, got {len(found)} (all received: {kinds or 'none'}); "
            f"pending: {waiting or 'none'}"
        )

    def close(self) -> None:
        self.log.close()


def _of(deliveries: list[ReceivedWebhook], type: str | None) -> list[ReceivedWebhook]:
    return [d for d in deliveries if type is None or d.envelope.notification_type == type]
