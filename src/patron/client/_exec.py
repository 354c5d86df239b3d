"""Running an `Op` over httpx: the settings a client resolves once (base URL, credentials),
opt-in retries, and the two executors, blocking and asyncio."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import httpx
import msgspec

from patron.client._errors import from_response, retry_after
from patron.client._op import Item, Op, Page, next_page
from patron.wire import API_VERSION

T = TypeVar("T")
H = TypeVar("H", httpx.Client, httpx.AsyncClient)
S = TypeVar("S")
"""What the executor's `sleep` returns: None (blocking) or an awaitable (asyncio)."""

Outcome = httpx.Response | httpx.TransportError

IDEMPOTENCY_KEY = "Idempotency-Key"
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRIED_STATUSES = frozenset({429, 503})
RETRIED_ERRORS = (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError)
"""Connection failures, timeouts and broken answers: what may go right on a second try."""
MAX_BACKOFF = 30.0
MAX_RETRY_AFTER = 60.0
"""A `Retry-After` longer than this many seconds is not waited for: the error is raised."""


@dataclass(frozen=True)
class Retry:
    """Opt-in retries: `retries` more attempts after the first, on a 429 or 503 answer or
    a connection error, of a request that is safe to send again (GET, PUT, DELETE, or a
    POST with an Idempotency-Key). The wait is `Retry-After` when the answer has one, else
    `backoff` seconds doubled each attempt, with jitter."""

    retries: int = 0
    backoff: float = 0.5

    def __post_init__(self) -> None:
        if self.retries < 0 or self.backoff < 0:
            raise ValueError("retries and backoff must be at least 0")

    def wait(self, request: httpx.Request, attempt: int, outcome: Outcome) -> float | None:
        """Seconds to wait before sending `request` again, after its attempt number
        `attempt` (0: the first) ended in `outcome`; None: `outcome` is final."""
        if attempt >= self.retries or not replayable(request):
            return None
        if isinstance(outcome, httpx.TransportError):
            return self.backoff_for(attempt) if isinstance(outcome, RETRIED_ERRORS) else None
        if outcome.status_code not in RETRIED_STATUSES:
            return None
        asked = retry_after(outcome)
        if asked is None:
            return self.backoff_for(attempt)
        return asked if asked <= MAX_RETRY_AFTER else None

    def backoff_for(self, attempt: int) -> float:
        """Between half and all of `backoff * 2**attempt` (at most `MAX_BACKOFF`), so that
        clients refused together do not all come back together."""
        ceiling = min(self.backoff * 2.0**attempt, MAX_BACKOFF)
        return ceiling / 2 + ceiling / 2 * random.random()  # noqa: S311 (jitter, not a secret)


def replayable(request: httpx.Request) -> bool:
    return request.method in IDEMPOTENT or IDEMPOTENCY_KEY in request.headers


def result(op: Op[T], response: httpx.Response) -> T:
    """The answer decoded as the operation's type, or its error raised."""
    if not response.is_success:
        raise from_response(response)
    return msgspec.json.decode(response.content, type=op.response)


def settled(outcome: Outcome) -> httpx.Response:
    if isinstance(outcome, httpx.TransportError):
        raise outcome
    return outcome


class Executor(Generic[H, S]):
    """What both executors share: the httpx client (the caller's, or one of their own),
    the base URL, the credentials and the retries; and how an `Op` becomes a request."""

    DEFAULT_TIMEOUT = 10.0

    def __init__(
        self,
        base_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        timeout: float | None = None,
        retries: int = 0,
        backoff: float = 0.5,
        sleep: Callable[[float], S] | None = None,
        http: H | None = None,
    ) -> None:
        """`base_url`: the API's URL (`http://HOST:PORT/api`); `client_id`, `client_secret`:
        an account's credentials, sent as HTTP Basic. Both may be left out when `http=` has
        them. `timeout`: seconds, for an httpx client made here. `retries`: attempts after
        the first on 429, 503 and connection errors (a POST with an `Idempotency-Key`
        sent for it), waiting `Retry-After` or `backoff` seconds doubled each time, with
        jitter; `sleep` waits (replace it in tests). `http`: an httpx client of your own,
        used as configured (docs/client.md)."""
        # Everything is checked before an httpx client of our own is made.
        self._base = self._resolve_base(base_url, http)
        self._auth = _auth(http, client_id, client_secret)
        self._retry = Retry(retries, backoff)
        self._sleep: Callable[[float], S] = sleep if sleep is not None else self._standard_sleep()
        self._owned = http is None
        self._http: H = http if http is not None else self._new_http(timeout or self.DEFAULT_TIMEOUT)

    @property
    def base_url(self) -> str:
        """The URL every operation's path is relative to."""
        return self._base

    def _new_http(self, timeout: float) -> H:
        raise NotImplementedError

    def _standard_sleep(self) -> Callable[[float], S]:
        raise NotImplementedError

    def _resolve_base(self, given: str | None, http: H | None) -> str:
        """The httpx client's base URL or `given`: one of them, or both the same."""
        own = "" if http is None else str(http.base_url)
        found = {self._locate(url) for url in (own, given) if url}
        if not found:
            raise ValueError(
                "base_url is required (the API's URL, e.g. http://127.0.0.1:8000/api) unless http= has one"
            )
        if len(found) > 1:
            raise ValueError(f"base_url={given!r} is not http='s base URL {own!r}: give one, or the same twice")
        return found.pop()

    @classmethod
    def _locate(cls, base_url: str) -> str:
        """The base URL of this client's paths, from the one it was given."""
        return base_url.rstrip("/")

    def _request(self, op: Op[Any]) -> httpx.Request:
        content = None if op.body is None else msgspec.json.encode(op.body)
        headers = self._headers(op.method, has_body=content is not None)
        return self._http.build_request(
            op.method, self._base + op.path, params=op.params, content=content, headers=headers
        )

    def _headers(self, method: str, *, has_body: bool) -> dict[str, str]:
        """Only what the httpx client does not set itself."""
        given = self._http.headers
        headers = {} if "Sequence-Version" in given else {"Sequence-Version": API_VERSION}
        if has_body:
            headers["Content-Type"] = "application/json"
        if method == "POST" and self._retry.retries and IDEMPOTENCY_KEY not in given:
            # One key for every attempt of this call: the server runs it at most once.
            headers[IDEMPOTENCY_KEY] = str(uuid.uuid4())
        return headers


def _auth(
    http: httpx.Client | httpx.AsyncClient | None, client_id: str | None, client_secret: str | None
) -> httpx.Auth | None:
    """HTTP Basic with the credentials, unless the httpx client authenticates itself (its
    `auth`, or an `Authorization` header: None)."""
    if http is not None and (http.auth is not None or "Authorization" in http.headers):
        if client_id is not None or client_secret is not None:
            raise ValueError("http= authenticates its requests itself: leave client_id and client_secret out")
        return http.auth
    if client_id is None or client_secret is None:
        raise ValueError("client_id and client_secret are required unless http= carries auth")
    return httpx.BasicAuth(client_id, client_secret)


class SyncExecutor(Executor[httpx.Client, None]):
    """Runs each operation as a blocking call."""

    def _new_http(self, timeout: float) -> httpx.Client:
        return httpx.Client(timeout=timeout)

    def _standard_sleep(self) -> Callable[[float], None]:
        return time.sleep

    def close(self) -> None:
        """Close the httpx client, if this client made it (one passed as `http=` stays open)."""
        if self._owned:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _run(self, op: Op[T]) -> T:
        return result(op, self._exchange(self._request(op)))

    def _exchange(self, request: httpx.Request) -> httpx.Response:
        for attempt in itertools.count():
            outcome = self._attempt(request)
            wait = self._retry.wait(request, attempt, outcome)
            if wait is None:
                return settled(outcome)
            self._sleep(wait)
        raise AssertionError("unreachable")

    def _attempt(self, request: httpx.Request) -> Outcome:
        try:
            return self._http.send(request, auth=self._auth)
        except httpx.TransportError as exc:
            return exc

    def _iterate(self, op: Op[Page[Item]] | None) -> Iterator[Item]:
        while op is not None:
            page = self._run(op)
            yield from page.items
            op = next_page(op, page)


class AsyncExecutor(Executor[httpx.AsyncClient, Awaitable[None]]):
    """Runs each operation as a coroutine."""

    def _new_http(self, timeout: float) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=timeout)

    def _standard_sleep(self) -> Callable[[float], Awaitable[None]]:
        return asyncio.sleep

    async def aclose(self) -> None:
        """Close the httpx client, if this client made it (one passed as `http=` stays open)."""
        if self._owned:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _run(self, op: Op[T]) -> T:
        return result(op, await self._exchange(self._request(op)))

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        for attempt in itertools.count():
            outcome = await self._attempt(request)
            wait = self._retry.wait(request, attempt, outcome)
            if wait is None:
                return settled(outcome)
            await self._sleep(wait)
        raise AssertionError("unreachable")

    async def _attempt(self, request: httpx.Request) -> Outcome:
        try:
            return await self._http.send(request, auth=self._auth)
        except httpx.TransportError as exc:
            return exc

    async def _iterate(self, op: Op[Page[Item]] | None) -> AsyncIterator[Item]:
        while op is not None:
            page = await self._run(op)
            for item in page.items:
                yield item
            op = next_page(op, page)
