"""Opt-in retries and how answers become errors, against a scripted transport: what is
retried (429, 503, connection errors; a POST only with its Idempotency-Key), how long it
waits, and what is raised when it gives up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

import patron.client as errors
from patron.client import ApiError, AsyncClient, BadRequest, Client, RateLimited, ServerError
from patron.client._exec import MAX_BACKOFF, Retry
from tests.client.conftest import EMPTY_PAGE, Script, customer

OK = httpx.Response(200, json=EMPTY_PAGE)
CREATED = httpx.Response(
    201,
    json={
        "id": "c1",
        "createdAt": "2030-01-01T00:00:00.000Z",
        "organizations": [],
        "legalName": "Acme",
        "address": {"line1": "1 Quay", "town": "Dublin", "postcode": "D01", "country": "IE"},
        "integrationIds": [],
        "taxStatus": "TAXED",
        "contacts": [],
        "status": "ACTIVE",
        "customProperties": {},
    },
)


def busy(retry_after: str | None = None, status: int = 503) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(status, json={"error": {"type": "Busy", "message": "later"}}, headers=headers)


def retrying(server: Script, retries: int = 3) -> tuple[Client, list[float]]:
    waits: list[float] = []
    return server.client(retries=retries, sleep=waits.append), waits


class TestWhatIsRetried:
    def test_a_429_waits_for_its_retry_after(self) -> None:
        server = Script(busy("2", status=429), OK)
        client, waits = retrying(server)
        assert client.list_customers().items == []
        assert waits == [2.0]
        assert len(server.requests) == 2

    def test_a_retry_after_date_is_read_as_seconds_from_now(self) -> None:
        when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
        client, waits = retrying(Script(busy(when, status=429), OK))
        client.list_customers()
        assert 25 <= waits[0] <= 30

    def test_a_503_without_retry_after_backs_off_exponentially_with_jitter(self) -> None:
        client, waits = retrying(Script(busy(), busy(), busy(), OK))
        client.list_customers()
        assert len(waits) == 3
        for attempt, wait in enumerate(waits):
            ceiling = 0.5 * 2**attempt
            assert ceiling / 2 <= wait <= ceiling

    def test_backoff_is_capped(self) -> None:
        assert Retry(retries=50).backoff_for(40) <= MAX_BACKOFF

    @pytest.mark.parametrize(
        "error", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("cut")]
    )
    def test_a_connection_error_is_retried(self, error: Exception) -> None:
        server = Script(error, OK)
        client, waits = retrying(server)
        assert client.list_customers().items == []
        assert len(waits) == 1

    @pytest.mark.parametrize("status", [400, 404, 409, 500, 502])
    def test_other_answers_are_final(self, status: int) -> None:
        server = Script(busy(status=status), OK)
        client, waits = retrying(server)
        with pytest.raises(ApiError) as caught:
            client.list_customers()
        assert caught.value.status == status
        assert (len(server.requests), waits) == (1, [])

    def test_a_retry_after_too_long_is_not_waited_for(self) -> None:
        server = Script(busy("3600", status=429), OK)
        client, waits = retrying(server)
        with pytest.raises(RateLimited) as caught:
            client.list_customers()
        assert (caught.value.retry_after, waits) == (3600.0, [])

    def test_a_put_is_retried_without_a_key(self) -> None:
        server = Script(busy(), CREATED)
        client, _ = retrying(server)
        client.update_customer("c1", customer())
        assert [r.method for r in server.requests] == ["PUT", "PUT"]
        assert "Idempotency-Key" not in server.requests[0].headers

    def test_a_delete_is_retried_without_a_key(self) -> None:
        alias = {"id": "a1", "sequenceAccountId": "s1", "customerId": "c1", "value": "v", "createdAt": "2030-01-01"}
        server = Script(httpx.ConnectError("reset"), httpx.Response(200, json=alias))
        client, _ = retrying(server)
        assert client.delete_alias("a1").id == "a1"
        assert [r.method for r in server.requests] == ["DELETE", "DELETE"]
        assert "Idempotency-Key" not in server.requests[0].headers


class TestPosts:
    def test_without_retries_a_post_is_sent_once_and_carries_no_key(self) -> None:
        server = Script(busy(), CREATED)
        with pytest.raises(ServerError):
            server.client().create_customer(customer())
        [request] = server.requests
        assert "Idempotency-Key" not in request.headers

    def test_with_retries_every_attempt_carries_the_same_key(self) -> None:
        server = Script(busy(), httpx.ConnectError("reset"), CREATED)
        client, _ = retrying(server)
        assert client.create_customer(customer()).id == "c1"
        keys = [request.headers["Idempotency-Key"] for request in server.requests]
        assert len(keys) == 3
        assert len(set(keys)) == 1
        assert [r.content for r in server.requests] == [server.requests[0].content] * 3

    def test_each_call_has_a_key_of_its_own(self) -> None:
        server = Script(CREATED)
        client, _ = retrying(server)
        client.create_customer(customer())
        client.create_customer(customer())
        assert len({request.headers["Idempotency-Key"] for request in server.requests}) == 2

    def test_a_post_with_the_caller_s_own_key_is_retried_with_it(self) -> None:
        server = Script(busy(), CREATED)
        http = server.http(headers={"Idempotency-Key": "mine"})
        Client("http://x.example/api", "id", "secret", http=http, retries=1, sleep=lambda _: None).archive_customer(
            "c1"
        )
        assert [r.headers.get_list("Idempotency-Key") for r in server.requests] == [["mine"], ["mine"]]


class TestGivingUp:
    def test_after_n_retries_the_typed_error_is_raised(self) -> None:
        server = Script(busy("1"))
        client, waits = retrying(server, retries=2)
        with pytest.raises(ServerError) as caught:
            client.get_customer("c1")
        assert (caught.value.status, caught.value.retry_after) == (503, 1.0)
        assert (len(server.requests), waits) == (3, [1.0, 1.0])

    def test_after_n_rate_limits_it_is_rate_limited(self) -> None:
        client, waits = retrying(Script(busy("1", status=429)), retries=1)
        with pytest.raises(RateLimited):
            client.list_aliases()
        assert waits == [1.0]

    def test_a_connection_error_that_persists_is_raised_as_httpx_s(self) -> None:
        server = Script(httpx.ConnectError("refused"))
        client, _ = retrying(server, retries=2)
        with pytest.raises(httpx.ConnectError):
            client.list_customers()
        assert len(server.requests) == 3

    def test_negative_retries_are_refused(self) -> None:
        with pytest.raises(ValueError, match="retries"):
            Script().client(retries=-1)


class TestErrorsFromAnswers:
    @pytest.mark.parametrize(
        ("status", "kind"),
        [
            (400, errors.BadRequest),
            (422, errors.BadRequest),
            (401, errors.Unauthorized),
            (403, errors.Unauthorized),
            (404, errors.NotFound),
            (409, errors.Conflict),
            (429, errors.RateLimited),
            (500, errors.ServerError),
            (502, errors.ServerError),
            (418, errors.ApiError),
        ],
    )
    def test_each_status_has_its_class(self, status: int, kind: type[ApiError]) -> None:
        with pytest.raises(ApiError) as caught:
            Script(busy(status=status)).client().list_customers()
        assert type(caught.value) is kind
        assert (caught.value.type, caught.value.message) == ("Busy", "later")

    def test_it_carries_field_errors_and_the_request_id(self) -> None:
        body = {
            "error": {"type": "ValidationError", "message": "bad", "errors": [{"field": "name", "message": "required"}]}
        }
        answer = httpx.Response(400, json=body, headers={"Request-Id": "abc123"})
        with pytest.raises(BadRequest) as caught:
            Script(answer).client().list_customers()
        assert [(f.field, f.message) for f in caught.value.field_errors] == [("name", "required")]
        assert caught.value.request_id == "abc123"
        assert str(caught.value) == "400 ValidationError: bad"

    def test_top_level_errors_alone_are_read(self) -> None:
        answer = httpx.Response(400, json={"errors": [{"field": "recipients", "message": "empty"}]})
        with pytest.raises(BadRequest) as caught:
            Script(answer).client().list_notification_policies()
        assert [f.field for f in caught.value.field_errors] == ["recipients"]
        assert caught.value.type == "BadRequest"

    def test_a_body_that_is_not_sequence_s_keeps_its_text(self) -> None:
        with pytest.raises(ServerError) as caught:
            Script(httpx.Response(502, text="<html>bad gateway</html>")).client().list_customers()
        assert (caught.value.type, caught.value.message) == ("BadGateway", "<html>bad gateway</html>")
        assert caught.value.field_errors == []


class TestAsyncRetries:
    def test_the_same_rules_hold_for_the_async_client(self) -> None:
        server = Script(busy("2", status=429), httpx.ConnectError("reset"), CREATED)
        waits: list[float] = []

        async def sleep(seconds: float) -> None:
            waits.append(seconds)

        async def main() -> str:
            http = httpx.AsyncClient(transport=httpx.MockTransport(server))
            async with AsyncClient("http://x.example/api", "id", "s", http=http, retries=2, sleep=sleep) as client:
                created = await client.create_customer(customer())
            await http.aclose()
            return created.id

        assert asyncio.run(main()) == "c1"
        assert waits[0] == 2.0
        assert len(waits) == 2
        assert len({request.headers["Idempotency-Key"] for request in server.requests}) == 1

    def test_it_gives_up_with_the_typed_error(self) -> None:
        server = Script(busy())

        async def main() -> None:
            http = httpx.AsyncClient(transport=httpx.MockTransport(server))
            client = AsyncClient("http://x.example/api", "id", "s", http=http, retries=1, sleep=_no_sleep)
            await client.list_customers()

        with pytest.raises(ServerError):
            asyncio.run(main())
        assert len(server.requests) == 2


async def _no_sleep(_: float) -> None:
    return None
