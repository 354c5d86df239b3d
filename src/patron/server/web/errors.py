"""The one table from errors to HTTP statuses and Sequence's error body.

Every error patron answers with has the body `{"error": {"type": ..., "message": ...}}`;
validation failures add `errors: [{field, message}]`. A 500 says nothing about why. A route
marked with `database_errors` (where Sequence declares its `DatabaseErrors` 400 body) also
repeats those field errors in a top-level `errors` array on every 400 it answers.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec

from patron.server import errors
from patron.wire import API_VERSION
from patron.wire import models as wire
from patron.wire.notifications import DatabaseErrors

log = logging.getLogger("patron.errors")

# Domain error -> (status, Sequence error type). A test checks every error class is here.
TABLE: dict[type[errors.PatronError], tuple[int, str]] = {
    errors.InvalidInput: (400, "ValidationError"),
    errors.IdempotencyMismatch: (400, "IdempotencyError"),
    errors.Unauthenticated: (401, "Unauthorized"),
    errors.NotFound: (404, "NotFound"),
    errors.Conflict: (409, "Conflict"),
    errors.Unavailable: (503, "ServiceUnavailable"),
}

# Sequence's error type for each status patron answers without a domain error (HTTP
# errors, the sandbox's injected faults); another status takes its reason phrase.
_HTTP_TYPES = {
    400: "ValidationError",
    401: "Unauthorized",
    404: "NotFound",
    405: "MethodNotAllowed",
    408: "RequestTimeout",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "RateLimited",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


def error_type(status: int) -> str:
    """The error body's `type` for `status` (`BadGateway` for 502)."""
    return _HTTP_TYPES.get(status) or reason(status).title().replace(" ", "").replace("-", "") or "Error"


def reason(status: int) -> str:
    """HTTP's reason phrase for `status`, or "" for a status it names none for (499, 599)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


_ENCODER = msgspec.json.Encoder()


def body(error_type: str, message: str, fields: list[wire.FieldError] | None = None) -> bytes:
    return _ENCODER.encode(wire.ErrorBody(error=wire.ErrorDetail(type=error_type, message=message, errors=fields)))


DATABASE_ERRORS = "database_errors"
"""The route `opt` flag `database_errors` sets."""


def database_errors(handler: HTTPRouteHandler) -> HTTPRouteHandler:
    """Mark a route whose 400 body Sequence declares as `DatabaseErrors` (a required
    top-level `errors` array): its 400s, whatever raised them, carry patron's error body
    plus that array of the field errors (empty when there are none), and its OpenAPI entry
    says so. Decorates what `route.operation` made."""
    handler.opt[DATABASE_ERRORS] = True
    documented = (handler.responses or {}).get(400)
    spec = ResponseSpec(
        data_container=DatabaseErrors,
        description=documented.description if documented is not None else reason(400),
        generate_examples=False,
    )
    handler.responses = {**(handler.responses or {}), 400: spec}
    return handler


def _wants_database_errors(scope: Mapping[str, Any]) -> bool:
    handler = scope.get("route_handler")
    return isinstance(handler, HTTPRouteHandler) and bool(handler.opt.get(DATABASE_ERRORS))


def bad_request_body(
    scope: Mapping[str, Any], error_type: str, message: str, fields: list[wire.FieldError] | None = None
) -> bytes:
    """A 400's body in the shape of the route `scope` is routed to (see `database_errors`);
    the edge's 400s take it too, as the route is known before the edge runs."""
    if not _wants_database_errors(scope):
        return body(error_type, message, fields)
    detail = wire.ErrorDetail(type=error_type, message=message, errors=fields)
    return _ENCODER.encode(DatabaseErrors(error=detail, errors=fields or []))


def _bad_request(
    request: Request[Any, Any, Any] | None, error_type: str, message: str, fields: list[wire.FieldError] | None = None
) -> Response[bytes]:
    """A 400 in the route's shape; `request` None: a domain error answered outside a
    request (the sandbox's edge)."""
    return _respond(400, bad_request_body(request.scope if request is not None else {}, error_type, message, fields))


def headers_for(status: int) -> dict[str, str]:
    headers = {"Sequence-Version": API_VERSION, "Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="patron"'
    if status == 503:
        headers["Retry-After"] = "1"
    return headers


def _respond(status: int, content: bytes, extra: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        content=content,
        status_code=status,
        media_type=MediaType.JSON,
        headers={**headers_for(status), **(extra or {})},
    )


def on_patron_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    assert isinstance(exc, errors.PatronError)
    status, error_type = next(v for k, v in TABLE.items() if isinstance(exc, k))
    fields = None
    if isinstance(exc, errors.InvalidInput):
        fields = [wire.FieldError(field=exc.field, message=exc.detail)]
    if status == 400:
        return _bad_request(request, error_type, exc.message, fields)
    return _respond(status, body(error_type, exc.message, fields))


_JSON_PATH = re.compile(r"\s*-\s*at\s*(`key` in )?`\$\.?([^`]*)`")
_MISSING = re.compile(r"Object missing required field `([^`]+)`")
_TOO_LONG = re.compile(r"Expected `(str|array|object)` of length <= (\d+)")
_UNITS = {"str": "characters", "array": "items", "object": "keys"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _field_errors(exc: ValidationException) -> list[wire.FieldError]:
    """Litestar/msgspec validation details -> [{field, message}] with wire field names."""
    result = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        key = str(item.get("key", "") or "")
        if key == "data":  # Litestar's name for the whole body
            key = ""
        found = _JSON_PATH.search(message)
        if found:
            key = found.group(2)
            message = _JSON_PATH.sub("", message)
        missing = _MISSING.search(message)
        if missing:
            key = f"{key}.{missing.group(1)}" if key else missing.group(1)
            message = "is required"
        if key == "" and message == "'data'":  # Litestar's word for a missing (empty) body
            message = "is required: send a JSON object"
        key, message = _plain(key, message, dictionary_key="`key` in" in str(exc.__cause__))
        result.append(wire.FieldError(field=_camel(key) if "_" in key else (key or "body"), message=message))
    return result


def _plain(key: str, message: str, *, dictionary_key: bool) -> tuple[str, str]:
    """msgspec's "Expected `str` of length <= 255" as patron says it, "must be at most 255
    characters" ("a key/value must be ..." for a dictionary, whose key msgspec does not name)."""
    found = _TOO_LONG.fullmatch(message)
    if not found:
        return key, message
    kind, limit = found.groups()
    subject = "a key " if dictionary_key else "a value " if key.endswith("[...]") else ""
    verb = "be" if kind == "str" else "hold"
    return key.removesuffix("[...]"), f"{subject}must {verb} at most {limit} {_UNITS[kind]}"


def on_http_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if isinstance(exc, ValidationException) or status == 400:
        fields = _field_errors(exc) if isinstance(exc, ValidationException) else []
        if fields:
            message = "; ".join(f"{f.field}: {f.message}" for f in fields)
        else:
            message = "the request is malformed" if "validation failed" in exc.detail.lower() else exc.detail
        return _bad_request(request, "ValidationError", message, fields or None)
    if status >= 500:
        return on_unexpected(request, exc)
    extra = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
    return _respond(status, body(error_type(status), exc.detail), extra)


_UNDECODABLE = {
    UnicodeDecodeError: "is not valid UTF-8",
    RecursionError: "nests too deeply",
}


def on_undecodable(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Invalid UTF-8 and deep nesting escape Litestar's JSON decoding as plain Python errors;
    raised there they are the client's mistake (400), anywhere else patron's (500)."""
    frames = traceback.walk_tb(exc.__traceback__)
    if not any(frame.f_globals.get("__name__") == _DECODING_MODULE for frame, _ in frames):
        return on_unexpected(request, exc)
    message = next(text for kind, text in _UNDECODABLE.items() if isinstance(exc, kind))
    return _bad_request(
        request, "ValidationError", f"body: {message}", [wire.FieldError(field="body", message=message)]
    )


_DECODING_MODULE = "litestar.serialization.msgspec_hooks"


def on_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.error("unexpected error", exc_info=exc)
    return _respond(500, body(error_type(500), "something went wrong on our side"))


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    errors.PatronError: on_patron_error,
    HTTPException: on_http_error,
    UnicodeDecodeError: on_undecodable,
    RecursionError: on_undecodable,
    Exception: on_unexpected,
}
