"""The test clock's wire shapes (`/_patron/accounts/{id}/clock`, docs/sandbox.md)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from patron.wire.models import Wire

MAX_MOMENT = 64
"""Longest timestamp or duration accepted (ISO 8601 needs far fewer characters)."""

Moment = Annotated[str, msgspec.Meta(max_length=MAX_MOMENT)]


class FreezeClock(Wire):
    """`PUT .../clock`: stop the account's time at `frozenTime` (ISO 8601)."""

    frozen_time: Moment


class AdvanceClock(Wire):
    """`POST .../clock/advance`: move the account's time forward `by` an ISO 8601 duration."""

    by: Moment


class Clock(Wire):
    """An account's test clock: `frozenTime` null while it follows the wall clock; `now`
    is the time its requests see."""

    frozen_time: str | None
    now: str
