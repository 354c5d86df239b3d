"""The one HTTP client that sends webhook deliveries (docs/webhooks.md): the headers of an
attempt, what came back (status, headers, the first 4 KiB), and in production the refusal
of receivers at private addresses, checked after DNS resolution at send time.

HTTP/1.1 with h11 on asyncio's streams, connections kept alive per receiver: a POST and its
answer cost a quarter of the CPU they cost through httpcore's pool (measured with 2,000
POSTs on loopback), and sending is the largest part of what a webhook policy costs a write."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

import certifi
import h11

from patron import __version__
from patron.wire import signature
from patron.wire.headers import retry_after

USER_AGENT = f"patron/{__version__} (webhooks)"
EXCERPT_BYTES = 4096
"""How much of a receiver's answer an attempt keeps."""
CONNECT_TIMEOUT = 5.0
"""The longest an attempt waits to connect (less when the whole attempt has less)."""

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def headers(secret: str, event_id: str, t_ms: int, body: bytes, *, standard: bool) -> dict[str, str]:
    """The headers of one attempt (§6.2 of docs/webhooks.md): `Sequence-Signature` over
    `t.body`, and with `standard` the Standard Webhooks trio (`webhook-signature` only when
    the secret decodes as base64). Signatures only: never the secret itself."""
    sent = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signature.HEADER: signature.header(secret, t_ms, body),
    }
    if standard:
        sent["webhook-id"] = event_id
        sent["webhook-timestamp"] = str(t_ms // 1000)
        standard_signature = signature.standard(secret, event_id, t_ms // 1000, body)
        if standard_signature is not None:
            sent["webhook-signature"] = standard_signature
    return sent


@dataclass(frozen=True)
class Answer:
    """What an attempt got: a status with its headers and the start of the body, or the
    error that stopped it (no answer, refused, timed out); `retry_after` in seconds."""

    duration_ms: float
    status_code: int | None = None
    headers: dict[str, str] | None = None
    excerpt: str | None = None
    error: str | None = None
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Refused(Exception):
    """A receiver patron will not send to (a private address in production, a bad URL)."""


class Sender:
    """One set of kept-alive connections for every delivery of this worker: no redirects
    followed (a 3xx is the receiver's answer), `timeout` seconds for the whole attempt."""

    def __init__(self, *, timeout: float, allow_private: bool) -> None:
        self._timeout = timeout
        self._allow_private = allow_private
        self._connect_timeout = min(CONNECT_TIMEOUT, timeout)
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._tls = ssl.create_default_context(cafile=certifi.where())

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def send(self, url: str, body: bytes, sent: dict[str, str]) -> Answer:
        """POST `body` to `url` once; never raises for what the receiver or the network did."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                origin, target, authority = await self._target(url)
                fields = [("Host", authority), *sent.items(), ("Content-Length", str(len(body)))]
                request = h11.Request(method="POST", target=target, headers=fields)
                return _answer(await self._exchange(origin, request, body), started)
        except TimeoutError:
            return Answer(_since(started), error=f"no answer within {self._timeout:g} s")
        except Refused as exc:
            return Answer(_since(started), error=str(exc))
        except (OSError, h11.ProtocolError, Disconnected) as exc:
            return Answer(_since(started), error=_describe(exc))

    async def _exchange(self, origin: _Origin, request: h11.Request, body: bytes) -> _Response:
        """One request and its answer on a kept-alive connection, or a new one; a kept-alive
        connection the receiver closed (or reset) before answering is replaced once."""
        connection = self._take_idle(origin)
        if connection is not None:
            try:
                return await self._on(origin, connection, request, body)
            except (Disconnected, ConnectionError):
                pass
        connection = await _Connection.open(origin, self._connect_timeout, self._tls)
        return await self._on(origin, connection, request, body)

    async def _on(self, origin: _Origin, connection: _Connection, request: h11.Request, body: bytes) -> _Response:
        try:
            response = await connection.exchange(request, body)
        except BaseException:
            connection.close()
            raise
        if connection.reusable():
            self._keep(origin, connection)
        else:
            connection.close()
        return response

    def _take_idle(self, origin: _Origin) -> _Connection | None:
        connections = self._idle.get(origin, [])
        while connections:
            connection = connections.pop()
            if connection.alive():
                return connection
            connection.close()
        return None

    def _keep(self, origin: _Origin, connection: _Connection) -> None:
        connections = self._idle.setdefault(origin, [])
        if len(connections) < KEEP_ALIVE:
            connection.idle_since = time.monotonic()
            connections.append(connection)
        else:
            connection.close()

    async def _target(self, url: str) -> tuple[_Origin, str, str]:
        """Where to connect, the request target and the Host header: `url` itself, or
        (private addresses refused) the address its host resolved to, so a second lookup
        cannot answer differently; the Host header and the TLS server name stay the URL's."""
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            port = 0
        host = parts.hostname
        if parts.scheme not in {"http", "https"} or not host or not port:
            raise Refused(f"not an absolute http(s) URL: {url}")
        authority = parts.netloc.rpartition("@")[2].encode("idna").decode("ascii")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        name = host if parts.scheme == "https" else None
        if self._allow_private:
            return _Origin(parts.scheme, host, port, name), target, authority
        addresses = await _resolve(host, port)
        for address in addresses:
            kind = private_kind(address)
            if kind is not None:
                raise Refused(
                    f"refused: {host} resolves to {address}, a {kind} address (PATRON_WEBHOOK_ALLOW_PRIVATE=false)"
                )
        return _Origin(parts.scheme, str(addresses[0]), port, name), target, authority


KEEP_ALIVE = 16
"""Idle connections kept per receiver."""
KEEP_ALIVE_S = 4.0
"""How long an idle connection is kept: less than the 5 s most servers keep one open."""


class Disconnected(Exception):
    """The receiver closed the connection before it answered."""


class CouldNotConnect(OSError):
    """The connection to the receiver could not be made (refused, unreachable, TLS)."""


class _Origin(NamedTuple):
    scheme: str
    host: str
    """What to connect to: the URL's host, or the address it resolved to."""
    port: int
    server_name: str | None
    """The TLS server name (https only)."""


@dataclass(frozen=True)
class _Response:
    status: int
    headers: list[tuple[bytes, bytes]]
    excerpt: bytes


class _Connection:
    """One HTTP/1.1 connection: h11 keeps the protocol's state, asyncio's streams the bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._h11 = h11.Connection(h11.CLIENT)
        self.idle_since = time.monotonic()

    @classmethod
    async def open(cls, origin: _Origin, timeout: float, tls: ssl.SSLContext) -> _Connection:
        secure = origin.scheme == "https"
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    origin.host, origin.port, ssl=tls if secure else None, server_hostname=origin.server_name
                )
        except OSError as exc:
            raise CouldNotConnect(str(exc) or type(exc).__name__) from None
        return cls(reader, writer)

    async def exchange(self, request: h11.Request, body: bytes) -> _Response:
        """Send the request; read the answer's status, headers and up to 4 KiB of its body."""
        parts = (request, h11.Data(data=body), h11.EndOfMessage())
        self._writer.write(b"".join(self._h11.send(part) or b"" for part in parts))
        await self._writer.drain()
        head = await self._next(first=True)
        if not isinstance(head, h11.Response):
            raise h11.RemoteProtocolError(f"unexpected {type(head).__name__} before the answer")
        excerpt = bytearray()
        while len(excerpt) < EXCERPT_BYTES:
            event = await self._next()
            if isinstance(event, h11.EndOfMessage):
                break
            if isinstance(event, h11.Data):
                excerpt += event.data[: EXCERPT_BYTES - len(excerpt)]
        return _Response(head.status_code, list(head.headers), bytes(excerpt))

    async def _next(self, *, first: bool = False) -> h11.Event:
        """The next event of the answer, informational (1xx) answers skipped; `first`: no
        byte of the answer has come yet, so an end of the stream is a disconnect."""
        while True:
            event = self._h11.next_event()
            if event is h11.NEED_DATA:
                data = await self._reader.read(READ_BYTES)
                if not data and first:
                    raise Disconnected("the receiver closed the connection without answering")
                self._h11.receive_data(data)
                first = False
            elif isinstance(event, h11.ConnectionClosed):
                raise Disconnected("the receiver closed the connection before the answer ended")
            elif isinstance(event, h11.Event) and not isinstance(event, h11.InformationalResponse):
                return event

    def reusable(self) -> bool:
        """Both sides done with the exchange (no `Connection: close`, the answer read to
        its end): ready for the next one."""
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
            return True
        return False

    def alive(self) -> bool:
        """Still open and not idle too long: a receiver that closed it has sent EOF."""
        fresh = time.monotonic() - self.idle_since < KEEP_ALIVE_S
        return fresh and not self._reader.at_eof() and not self._writer.is_closing()

    def close(self) -> None:
        self._writer.close()


READ_BYTES = 65536


def private_kind(address: Address) -> str | None:
    """The kind of address a production sender refuses (loopback, link-local, private,
    unspecified, multicast), or None for a public one. IPv4 inside IPv6 counts as IPv4."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, found in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("unspecified", address.is_unspecified),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
    ):
        if found:
            return kind
    return None


async def _resolve(host: str, port: int) -> list[Address]:
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Refused(f"DNS lookup of {host} failed: {exc}") from None
    addresses: list[Address] = []
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Refused(f"DNS lookup of {host} found no address")
    return addresses


REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _answer(response: _Response, started: float) -> Answer:
    """The status, the headers (names in lower case, repeated ones joined with `, `) and
    the first 4 KiB."""
    received: dict[str, str] = {}
    for raw_name, raw_value in response.headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        received[name] = f"{received[name]}, {value}" if name in received else value
    error = None
    if response.status in REDIRECTS and "location" in received:
        error = f"redirects are not followed (Location: {received['location']})"
    asked = retry_after(received.get("retry-after"))
    excerpt = response.excerpt.decode(errors="replace")
    return Answer(_since(started), response.status, received, excerpt, error, asked)


def _describe(exc: Exception) -> str:
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, CouldNotConnect):
        return f"could not connect: {detail}"
    if isinstance(exc, Disconnected):
        return detail
    return f"{type(exc).__name__}: {detail}"


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
