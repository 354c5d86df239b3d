"""An account's test clock (docs/sandbox.md): freeze it at a moment, advance it by an ISO
8601 duration, unfreeze it. The edge pins each of the account's requests to it, so every
timestamp and the time part of every id patron mints for the account follow it."""

from __future__ import annotations

import calendar
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from patron.server import clock, validation
from patron.server.errors import InvalidInput, NotFound
from patron.server.sandbox.repository import clock as repository
from patron.wire.sandbox import clock as wire

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The earliest moment a clock may show: an id's first 48 bits are milliseconds since it."""

_DURATION = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d{1,3})?)S)?)?"
)
_FORMS = "an ISO 8601 duration such as P7D, P1W, PT1H30M, PT0.5S or P1M"


@dataclass(frozen=True)
class Duration:
    """An ISO 8601 duration: calendar months (years are 12), then an exact span."""

    months: int
    span: timedelta


def show(tx: Connection, account_id: str) -> wire.Clock:
    found = repository.read(tx, _account(account_id))
    if found is None:
        raise NotFound("account", account_id)
    return _clock(found.frozen_at)


def freeze(tx: Connection, account_id: str, request: wire.FreezeClock) -> wire.Clock:
    moment = parse_moment(request.frozen_time, "frozenTime")
    if not repository.set_frozen(tx, _account(account_id), moment):
        raise NotFound("account", account_id)
    return _clock(moment)


def advance(tx: Connection, account_id: str, request: wire.AdvanceClock) -> wire.Clock:
    """Move the clock forward; a clock on the wall clock is frozen at now + `by`. The
    account's row is locked first, so racing advances add up."""
    by = parse_duration(request.by, "by")
    ident = _account(account_id)
    found = repository.lock(tx, ident)
    if found is None:
        raise NotFound("account", account_id)
    moment = shift(found.frozen_at or clock.utc_now(), by, "by")
    repository.set_frozen(tx, ident, moment)
    return _clock(moment)


def unfreeze(tx: Connection, account_id: str) -> None:
    if not repository.set_frozen(tx, _account(account_id), None):
        raise NotFound("account", account_id)


def _account(account_id: str) -> uuid.UUID:
    return validation.parse_id(account_id, "account")


def _clock(frozen_at: datetime | None) -> wire.Clock:
    now = frozen_at if frozen_at is not None else clock.utc_now()
    return wire.Clock(frozen_time=clock.maybe_iso(frozen_at), now=clock.iso(now))


def parse_moment(value: str, field: str) -> datetime:
    """An ISO 8601 timestamp (a `Z` or an offset; none means UTC), in UTC, to the
    millisecond; not before 1970."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(field, f"{value!r} is not an ISO 8601 timestamp such as 2030-01-01T00:00:00.000Z") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment < EPOCH:
        raise InvalidInput(field, "must not be before 1970-01-01T00:00:00.000Z")
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def parse_duration(value: str, field: str) -> Duration:
    """PnYnMnWnDTnHnMnS, any part left out but one (seconds may have up to 3 decimals)."""
    if value.startswith("-"):
        raise InvalidInput(field, "must not be negative: a clock only moves forward (PUT the clock to go back)")
    found = _DURATION.fullmatch(value)
    if found is None or value in {"P", "PT"} or not any(found.groups()):
        raise InvalidInput(field, f"{value!r} is not {_FORMS}")
    part = {name: int(number) for name, number in found.groupdict(default="0").items() if name != "seconds"}
    seconds = found["seconds"] or "0"
    whole, _, fraction = seconds.replace(",", ".").partition(".")
    try:
        span = timedelta(
            weeks=part["weeks"],
            days=part["days"],
            hours=part["hours"],
            minutes=part["minutes"],
            seconds=int(whole),
            milliseconds=int(fraction.ljust(3, "0")),
        )
    except OverflowError:
        raise InvalidInput(field, "is too long") from None
    return Duration(months=part["years"] * 12 + part["months"], span=span)


def shift(moment: datetime, by: Duration, field: str) -> datetime:
    """`moment` moved by `by`: months on the calendar first (the 31st plus P1M is the last
    day of the next month), then the exact span."""
    try:
        month = moment.month - 1 + by.months
        year = moment.year + month // 12
        month = month % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1]) if 1 <= year <= 9999 else 0
        return moment.replace(year=year, month=month, day=day) + by.span
    except (OverflowError, ValueError):
        raise InvalidInput(field, "moves the clock past 9999-12-31") from None
