"""The one HTTP client that sends webhook deliveries (docs/webhooks.md): the headers of an
attempt, what came back (status, headers, the first 4 KiB), and in production the refusal
of receivers at private addresses, checked after DNS resolution at send time."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from patron import __version__
from patron.wire import signature
from patron.wire.headers import retry_after

USER_AGENT = f"patron/{__version__} (webhooks)"
EXCERPT_BYTES = 4096
"""How much of a receiver's answer an attempt keeps."""
CONNECT_TIMEOUT = 5.0
"""The longest an attempt waits to connect (less when the whole attempt has less)."""
CONNECTIONS = 64
"""Open connections at most: as many as deliveries a worker sends at once."""

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
    """One shared connection pool (httpcore, the transport under httpx, without httpx's
    request and response models: a third less CPU per attempt) for every delivery of this
    worker: no redirects followed (a 3xx is the receiver's answer), `timeout` seconds for
    the whole attempt."""

    def __init__(self, *, timeout: float, allow_private: bool) -> None:
        self._timeout = timeout
        self._allow_private = allow_private
        connect = min(CONNECT_TIMEOUT, timeout)
        self._timeouts = {"connect": connect, "read": timeout, "write": timeout, "pool": timeout}
        self._pool = httpcore.AsyncConnectionPool(
            max_connections=CONNECTIONS, max_keepalive_connections=16, keepalive_expiry=5.0
        )

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def send(self, url: str, body: bytes, sent: dict[str, str]) -> Answer:
        """POST `body` to `url` once; never raises for what the receiver or the network did."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                target, extra, extensions = await self._target(httpx.URL(url))
                headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in {**sent, **extra}.items()]
                extensions = {**extensions, "timeout": self._timeouts}
                async with self._pool.stream("POST", target, headers=headers, content=body, extensions=extensions) as r:
                    return await _answer(r, started)
        except (TimeoutError, httpcore.TimeoutException):
            return Answer(_since(started), error=f"no answer within {self._timeout:g} s")
        except Refused as exc:
            return Answer(_since(started), error=str(exc))
        except TRANSPORT_ERRORS as exc:
            return Answer(_since(started), error=_describe(exc))

    async def _target(self, url: httpx.URL) -> tuple[httpcore.URL, dict[str, str], dict[str, Any]]:
        """Where to connect: `url` itself, or (private addresses refused) the address its
        host resolved to, so a second lookup cannot answer differently; the Host header and
        the TLS server name stay the URL's."""
        if url.scheme not in {"http", "https"} or not url.host:
            raise Refused(f"not an absolute http(s) URL: {url}")
        if self._allow_private:
            return _core_url(url, url.raw_host), {}, {}
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = await _resolve(url.host, port)
        for address in addresses:
            kind = private_kind(address)
            if kind is not None:
                raise Refused(
                    f"refused: {url.host} resolves to {address}, a {kind} address (PATRON_WEBHOOK_ALLOW_PRIVATE=false)"
                )
        extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
        host = str(addresses[0]).encode("ascii")
        return _core_url(url, host), {"Host": url.netloc.decode("ascii")}, extensions


TRANSPORT_ERRORS = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ProxyError,
)
"""What the transport raises when a receiver or the network fails (timeouts apart)."""


def _core_url(url: httpx.URL, host: bytes) -> httpcore.URL:
    return httpcore.URL(scheme=url.raw_scheme, host=host, port=url.port, target=url.raw_path)


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


async def _answer(response: httpcore.Response, started: float) -> Answer:
    """The status, the headers (names in lower case, repeated ones joined with `, `) and
    the first 4 KiB."""
    kept = bytearray()
    async for chunk in response.aiter_stream():
        kept += chunk[: EXCERPT_BYTES - len(kept)]
        if len(kept) >= EXCERPT_BYTES:
            break
    received: dict[str, str] = {}
    for raw_name, raw_value in response.headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        received[name] = f"{received[name]}, {value}" if name in received else value
    error = None
    if response.status in REDIRECTS and "location" in received:
        error = f"redirects are not followed (Location: {received['location']})"
    asked = retry_after(received.get("retry-after"))
    return Answer(_since(started), response.status, received, kept.decode(errors="replace"), error, asked)


def _describe(exc: Exception) -> str:
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpcore.ConnectError):
        return f"could not connect: {detail}"
    return f"{type(exc).__name__}: {detail}"


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
