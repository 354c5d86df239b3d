"""What every `patron` command shares: the `--database` and `--account` options, opening
the database, and one way to report a failure the user can act on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console

from patron.server import errors
from patron.server.accounts import repository as accounts
from patron.server.auth import Principal
from patron.server.config import Settings
from patron.server.db import migrate
from patron.server.db.engine import Database, open_database

out = Console()
err = Console(stderr=True)

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database", help="Database URL (default: $PATRON_DATABASE_URL, else sqlite:///patron.db)."),
]
AccountOption = Annotated[str, typer.Option("--account", help="Account id.")]


def settings_for(database: str | None) -> Settings:
    """The settings of the environment, with `--database` (when given) as the database URL."""
    return Settings.from_env(database_url=database)


def open_db(settings: Settings, *, upgrade: bool = True) -> Database:
    """The database `settings` name, migrated to the newest schema unless `upgrade` is false."""
    db = open_database(settings)
    if upgrade:
        migrate.upgrade(db.engine)
    return db


def open_account(database: str | None, account: str) -> tuple[Database, Principal]:
    """The database, and the account `account` names acting as itself; fails if there is none."""
    db = open_db(settings_for(database))
    try:
        account_id = uuid.UUID(account)
    except ValueError:
        raise fail(f"{account!r} is not an account id") from None
    with db.read() as tx:
        if accounts.get_account(tx, account_id) is None:
            raise fail(f"account {account} not found")
    return db, Principal(account_id=account_id, client_id="cli")


def fail(message: str) -> typer.Exit:
    """Print `error: message` on stderr; raise what this returns to exit with code 1."""
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


@contextmanager
def reported() -> Iterator[None]:
    """A refusal of patron's own (a `PatronError`: not found, a broken rule) in the block is
    one line on stderr and exit code 1."""
    try:
        yield
    except errors.PatronError as exc:
        raise fail(exc.message) from None
