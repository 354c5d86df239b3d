"""The webhook sender on the wire: what a receiver gets (request line, Host, length, body),
connections kept alive and replaced when the receiver closes them, and what an attempt
keeps of the answer. Each test runs a small asyncio receiver on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from patron.server.webhooks.service.sender import EXCERPT_BYTES, Answer, Sender

HEADERS = {"Content-Type": "application/json", "webhook-id": "evt_1"}
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@dataclass
class Seen:
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)


Reply = Callable[[int], bytes | None]
"""The bytes a receiver answers its n-th request with (None: close without answering)."""


async def _request(reader: asyncio.StreamReader) -> bytes | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    return head + await reader.readexactly(length)


async def _sends(reply: Reply, urls: list[str], *, close_after_answer: bool = False) -> tuple[Seen, list[Answer]]:
    """Send one delivery to each of `urls` (`{}` stands for the receiver's address), one at
    a time; what the receiver saw and what each attempt got."""
    seen = Seen()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections += 1
        while (request := await _request(reader)) is not None:
            seen.requests.append(request)
            answer = reply(len(seen.requests))
            if answer is None:
                break
            writer.write(answer)
            await writer.drain()
            if close_after_answer:
                break
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    address = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    sender = Sender(timeout=2.0, allow_private=True)
    answers = []
    async with server:
        for url in urls:
            answers.append(await sender.send(url.format(address), b'{"n":1}', HEADERS))
            await asyncio.sleep(0.05)
        await sender.aclose()
    return seen, answers


class TestTheRequest:
    def test_a_post_with_host_length_headers_and_the_exact_body(self) -> None:
        seen, [answer] = asyncio.run(_sends(lambda n: OK, ["http://{}/hooks/in?x=1"]))
        head, body = seen.requests[0].split(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        assert lines[0] == "POST /hooks/in?x=1 HTTP/1.1"
        fields = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines[1:])}
        assert fields["host"].startswith("127.0.0.1:")
        assert (fields["content-length"], fields["webhook-id"]) == ("7", "evt_1")
        assert body == b'{"n":1}'
        assert (answer.status_code, answer.excerpt, answer.error) == (200, "ok", None)

    def test_a_url_without_a_path_posts_to_the_root(self) -> None:
        seen, _ = asyncio.run(_sends(lambda n: OK, ["http://{}"]))
        assert seen.requests[0].startswith(b"POST / HTTP/1.1\r\n")


class TestConnections:
    def test_one_connection_carries_one_delivery_after_another(self) -> None:
        seen, answers = asyncio.run(_sends(lambda n: OK, ["http://{}/a"] * 3))
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert (seen.connections, len(seen.requests)) == (1, 3)

    def test_a_connection_the_receiver_closed_is_replaced(self) -> None:
        seen, answers = asyncio.run(_sends(lambda n: OK, ["http://{}/a"] * 3, close_after_answer=True))
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert seen.connections == 3

    def test_connection_close_is_honoured(self) -> None:
        closing = b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
        seen, answers = asyncio.run(_sends(lambda n: closing, ["http://{}/a"] * 2))
        assert [a.status_code for a in answers] == [204, 204]
        assert seen.connections == 2

    def test_a_receiver_that_closes_without_answering_is_a_failed_attempt(self) -> None:
        _, [answer] = asyncio.run(_sends(lambda n: None, ["http://{}/a"]))
        assert answer.status_code is None
        assert answer.error == "the receiver closed the connection without answering"


class TestTheAnswer:
    def test_only_the_first_4_kib_are_kept_and_the_next_delivery_still_goes(self) -> None:
        big = b"x" * (EXCERPT_BYTES * 3)
        long = b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n%s" % (len(big), big)
        seen, answers = asyncio.run(_sends(lambda n: long if n == 1 else OK, ["http://{}/a"] * 2))
        assert answers[0].status_code == 500
        assert answers[0].excerpt == "x" * EXCERPT_BYTES
        assert (answers[1].status_code, answers[1].excerpt) == (200, "ok")
        assert seen.connections == 2

    def test_a_chunked_answer_with_repeated_headers(self) -> None:
        chunked = (
            b"HTTP/1.1 429 Too Many Requests\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n"
            b"Vary: a\r\nVary: b\r\n\r\n3\r\nslo\r\n5\r\nw dow\r\n1\r\nn\r\n0\r\n\r\n"
        )
        seen, [answer, after] = asyncio.run(_sends(lambda n: chunked if n == 1 else OK, ["http://{}/a"] * 2))
        assert (answer.status_code, answer.excerpt, answer.retry_after) == (429, "slow down", 7.0)
        assert (answer.headers or {})["vary"] == "a, b"
        assert after.status_code == 200
        assert seen.connections == 1

    def test_an_informational_answer_is_skipped(self) -> None:
        early = b"HTTP/1.1 100 Continue\r\n\r\n" + OK
        _, [answer] = asyncio.run(_sends(lambda n: early, ["http://{}/a"]))
        assert (answer.status_code, answer.excerpt) == (200, "ok")

    def test_an_answer_that_is_not_http_is_a_failed_attempt(self) -> None:
        _, [answer] = asyncio.run(_sends(lambda n: b"SSH-2.0-OpenSSH_9.2\r\n\r\n", ["http://{}/a"]))
        assert answer.status_code is None
        assert (answer.error or "").startswith("RemoteProtocolError")

    def test_a_url_patron_will_not_send_to(self) -> None:
        _, [answer] = asyncio.run(_sends(lambda n: OK, ["ftp://{}/a"]))
        assert (answer.error or "").startswith("not an absolute http(s) URL")
