"""The client's errors: one class per kind of refusal, all under `ApiError`, each carrying
what the answer said (Sequence's error type, message, field errors, `Request-Id`)."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from patron.wire import headers
from patron.wire import models as wire


class ApiError(Exception):
    """A non-2xx answer. `status` is the HTTP status, `type` and `message` Sequence's error
    type and message (`NotFound`, ...), `field_errors` what was wrong with which field,
    `request_id` the answer's `Request-Id` header (quote it when reporting a problem) and
    `retry_after` the seconds its `Retry-After` header asked for (None without one)."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        field_errors: list[wire.FieldError] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {error_type}: {message}")
        self.status = status
        self.type = error_type
        self.message = message
        self.field_errors = field_errors or []
        self.request_id = request_id
        self.retry_after = retry_after


class BadRequest(ApiError):
    """400 or 422: the request broke a rule; `field_errors` says which fields, and how."""


class Unauthorized(ApiError):
    """401 or 403: missing, wrong or revoked credentials."""


class NotFound(ApiError):
    """404: no such object in this account."""


class Conflict(ApiError):
    """409: a value already in use (an alias), or a request with this Idempotency-Key still
    running."""


class RateLimited(ApiError):
    """429: past the credential's rate limit; try again after `retry_after` seconds."""


class ServerError(ApiError):
    """5xx: the server failed (503: it cannot reach its database; `retry_after` says when
    to try again)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    422: BadRequest,
    401: Unauthorized,
    403: Unauthorized,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}


def error_class(status: int) -> type[ApiError]:
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)


def from_response(response: httpx.Response) -> ApiError:
    """The error a non-2xx `response` stands for, read from Sequence's error body
    `{"error": {"type", "message", "errors"}}` (and a top-level `errors` array, as the
    notification policy operations answer), or from the status when the body is no such."""
    status = response.status_code
    error_type, message, fields = _read_body(response)
    return error_class(status)(
        status,
        error_type or _status_type(response),
        message if message is not None else response.text,
        field_errors=fields,
        request_id=response.headers.get("Request-Id"),
        retry_after=retry_after(response),
    )


def _read_body(response: httpx.Response) -> tuple[str | None, str | None, list[wire.FieldError]]:
    try:
        body = msgspec.json.decode(response.content)
        detail = _convert(body.get("error"), wire.ErrorDetail)
        top_level = _convert(body.get("errors"), list[wire.FieldError])
    except (msgspec.DecodeError, AttributeError):
        return None, None, []
    if detail is None:
        return None, None, top_level or []
    return detail.type, detail.message, detail.errors or top_level or []


def _convert(value: Any, kind: Any) -> Any:
    """`value` as `kind`, or None when it is missing or not of that shape."""
    try:
        return None if value is None else msgspec.convert(value, kind)
    except msgspec.ValidationError:
        return None


def _status_type(response: httpx.Response) -> str:
    """An error type for a body that names none: the reason phrase (`BadGateway`)."""
    return response.reason_phrase.title().replace(" ", "").replace("-", "") or "Error"


def retry_after(response: httpx.Response) -> float | None:
    """The answer's `Retry-After` in seconds from now (None without a readable one)."""
    return headers.retry_after(response.headers.get("Retry-After"))
