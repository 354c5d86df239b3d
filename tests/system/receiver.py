"""A webhook receiver on loopback for tests: it records every request and answers from a
script (status, headers, body, a delay, or no answer until released)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Reply:
    """One answer: `delay_s` before it; `hang`: none until `Receiver.release` (or close)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay_s: float = 0.0
    hang: bool = False


@dataclass(frozen=True)
class Received:
    """A request as it arrived; header names in lower case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """`with Receiver(Reply(500), Reply(500)) as hook:` answers the first two requests 500,
    every later one `default`; `hook.url` is where to send."""

    def __init__(self, *replies: Reply, default: Reply | None = None) -> None:
        self._script = list(replies)
        self._default = default or Reply()
        self._received: list[Received] = []
        self._changed = threading.Condition()
        self._released = threading.Event()
        self._active = 0
        self.most_at_once = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def script(self, *replies: Reply, default: Reply | None = None) -> None:
        """Answer the next requests with `replies`, then `default` (kept when None)."""
        with self._changed:
            self._script = list(replies)
            self._default = default or self._default

    def release(self) -> None:
        """Let every hanging request (and later ones) answer."""
        self._released.set()

    @property
    def received(self) -> list[Received]:
        with self._changed:
            return list(self._received)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """The first `count` requests, once they have arrived (AssertionError after `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._received) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self._received)} of {count} requests arrived in {timeout:g} s"
                self._changed.wait(left)
            return list(self._received[:count])

    def _next(self, request: Received) -> Reply:
        with self._changed:
            self._received.append(request)
            self._active += 1
            self.most_at_once = max(self.most_at_once, self._active)
            self._changed.notify_all()
            return self._script.pop(0) if self._script else self._default

    def _done(self) -> None:
        with self._changed:
            self._active -= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                reply = receiver._next(Received("POST", self.path, headers, body))
                try:
                    if reply.hang:
                        receiver._released.wait(60)
                    elif reply.delay_s:
                        receiver._released.wait(reply.delay_s)
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the sender went away (timed out, or was killed)
                finally:
                    receiver._done()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
