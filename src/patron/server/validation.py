"""Small input checks shared by the resource services; each names the offending field."""

from __future__ import annotations

import re
import uuid

from patron.server.errors import InvalidInput, NotFound
from patron.wire.models import MAX_TEXT

_SPACE = re.compile(r"\s")


def parse_id(value: str, resource: str) -> uuid.UUID:
    """An id from a URL path: anything that is not a UUID is simply not found."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(resource, value) from None


def reference(value: str, field: str) -> uuid.UUID:
    """An id named in a request body: a malformed one is a 400 that names the field."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput(field, f"{value!r} is not a valid id") from None


def text(value: str, field: str, *, max_length: int = MAX_TEXT, allow_empty: bool = False) -> str:
    """Trimmed text, refused when blank (unless allowed), too long or holding NUL characters."""
    stripped = value.strip()
    if not stripped and not allow_empty:
        raise InvalidInput(field, "must not be empty")
    if len(stripped) > max_length:
        raise InvalidInput(field, f"must be at most {max_length} characters")
    if "\x00" in stripped:
        raise InvalidInput(field, "must not contain NUL characters")
    return stripped


def optional_text(value: str | None, field: str, *, max_length: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    stripped = text(value, field, max_length=max_length, allow_empty=True)
    return stripped or None


def email(value: str, field: str) -> str:
    address = text(value, field)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or _SPACE.search(address):
        raise InvalidInput(field, f"{value!r} is not an email address")
    return address


def fold(value: str) -> str:
    """The case-insensitive form used for matching and sorting (Unicode case folding)."""
    return value.casefold()
