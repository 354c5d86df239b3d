"""The operator's accounts on the wire (`/_patron/accounts`, docs/sandbox.md)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from patron.wire.models import MAX_ID, MAX_TEXT, MAX_VALUE, Wire

MAX_PAGE = 1000
"""The most accounts one `GET /_patron/accounts` answers (`limit`)."""


class CreateAccountRequest(Wire):
    name: Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
    client_id: Annotated[str, msgspec.Meta(max_length=MAX_ID)] | None = None
    client_secret: Annotated[str, msgspec.Meta(max_length=MAX_VALUE)] | None = None


class NewAccount(Wire):
    """A new account and its first credential pair (the secret is shown only here)."""

    account_id: str
    client_id: str
    client_secret: str


class Account(Wire):
    account_id: str
    name: str
    created_at: str
    client_ids: list[str]
    """The account's live (unrevoked) client ids, oldest first."""
    frozen_time: str | None
    """The account's test clock; null: the wall clock."""


class AccountList(Wire):
    items: list[Account]
