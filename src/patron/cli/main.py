"""`patron`: run the server and administer accounts, credentials and the database."""

from __future__ import annotations

import json
import os
import shlex
import sys
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from patron.cli import sandbox, serving, webhooks
from patron.cli.common import AccountOption, DatabaseOption, err, fail, open_db, out, reported, settings_for
from patron.cli.serving import HEADER_TIMEOUT_MS as HEADER_TIMEOUT_MS  # `serve`'s, where tests look for it
from patron.cli.transfer import export_app, import_app
from patron.server import errors
from patron.server.accounts import service as accounts
from patron.server.db import consistency, maintenance, migrate
from patron.server.validation import parse_id

app = typer.Typer(help="patron: a self-hostable server for Sequence's Customers API.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema and consistency.", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts (each has its own customers).", no_args_is_help=True)
credentials_app = typer.Typer(help="API credentials (HTTP Basic clientId:clientSecret).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(accounts_app, name="accounts")
app.add_typer(credentials_app, name="credentials")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(webhooks.events_app, name="events")
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON only.")]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database: DatabaseOption = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Apply migrations and serve the API on http://HOST:PORT/api."""
    settings = settings_for(database)
    if settings.id_seed is not None and workers > 1:
        # Each worker would seed its own generator alike and mint the same ids as the others.
        raise fail("PATRON_ID_SEED makes ids repeat run after run in one process: serve it with --workers 1")
    db = open_db(settings)
    maintenance.refresh_statistics(db.engine)
    base = f"http://{host}:{port}/api"
    with db.write() as tx:
        new = (
            accounts.create_account(tx, db.key, "sandbox")
            if settings.bootstrap and not accounts.has_accounts(tx)
            else None
        )
    if new is not None:
        auth = shlex.quote(f"{new.client_id}:{new.client_secret}")
        out.print("[bold]Created a sandbox account[/bold] (shown once; keep the secret):")
        out.print(f"  account id     {new.account_id}")
        out.print(f"  client id      {new.client_id}")
        out.print(f"  client secret  {new.client_secret}")
        out.print(f"  try:  curl -u {auth} {base}/customers", soft_wrap=True)
    else:
        out.print("Credentials: `patron accounts create NAME` or `patron credentials create --account ID`.")
    db.close()
    out.print(f"patron serving {base} (docs: http://{host}:{port}/api/docs/)")
    serving.run(settings, host, port, workers=workers)


app.command()(sandbox.sandbox)
app.command()(webhooks.listen)


@db_app.command("upgrade")
def db_upgrade(database: DatabaseOption = None, revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    db = open_db(settings_for(database), upgrade=False)
    migrate.upgrade(db.engine, revision)
    out.print(f"database at revision {revision}")


@db_app.command("check")
def db_check(
    database: DatabaseOption = None,
    repair: Annotated[bool, typer.Option("--repair", help="Recompute customer counters found wrong first.")] = False,
) -> None:
    """Check what no constraint states: each account's customer counters equal a real
    count, and no customer has billed contacts without a PRIMARY one. Exit 1 when not."""
    db = open_db(settings_for(database))
    if repair:
        with db.write() as tx:
            repaired = consistency.repair_counts(tx)
        for account_id in repaired:
            out.print(f"recomputed the customer counters of account {account_id}")
    with db.read() as tx:
        problems = consistency.check(tx)
    for problem in problems:
        out.print(f"{problem.kind}: account {problem.account_id}: {problem.detail}", soft_wrap=True)
    if problems:
        hint = " (`patron db check --repair` recomputes counters)" if any(p.kind == "counts" for p in problems) else ""
        err.print(f"[red]error:[/red] {len(problems)} problem(s) found{hint}")
        raise typer.Exit(code=1)
    out.print("consistent: counters match the customers; every billed customer has a PRIMARY contact")


@accounts_app.command("create")
def accounts_create(name: str, database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Create an account and its first credential pair."""
    db = open_db(settings_for(database))
    with reported(), db.write() as tx:
        new = accounts.create_account(tx, db.key, name)
    _print_credential(new, as_json=as_json)


@credentials_app.command("create")
def credentials_create(account: AccountOption, database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Create another credential pair for an account."""
    db = open_db(settings_for(database))
    with reported(), db.write() as tx:
        new = accounts.create_credential(tx, db.key, parse_id(account, "account"))
    _print_credential(new, as_json=as_json)


@credentials_app.command("list")
def credentials_list(account: AccountOption, database: DatabaseOption = None) -> None:
    """List an account's credentials (secrets are never shown again)."""
    db = open_db(settings_for(database))
    with reported(), db.read() as tx:
        rows = accounts.list_credentials(tx, parse_id(account, "account"))
    table = Table("client id", "created (UTC)", "revoked (UTC)")
    table.columns[0].no_wrap = True
    for row in rows:
        revoked = f"{row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else ""
        table.add_row(row.client_id, f"{row.created_at:%Y-%m-%d %H:%M}", revoked)
    out.print(table)


@credentials_app.command("revoke")
def credentials_revoke(client_id: str, database: DatabaseOption = None) -> None:
    """Revoke a credential; requests using it get 401 at once."""
    db = open_db(settings_for(database))
    with reported(), db.write() as tx:
        accounts.revoke_credential(tx, client_id)
    out.print(f"revoked {client_id}")


def _print_credential(new: accounts.NewCredential, *, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(
            json.dumps({"accountId": str(new.account_id), "clientId": new.client_id, "clientSecret": new.client_secret})
            + "\n"
        )
        return
    out.print(f"account id     {new.account_id}")
    out.print(f"client id      {new.client_id}")
    out.print(f"client secret  {new.client_secret}   (shown once)")


def main() -> None:
    """The `patron` command. A failure the user can act on (the database cannot be reached
    or refuses, a file cannot be read) is one line on stderr and exit code 1, not a
    traceback; `PATRON_DEBUG=1` shows the traceback."""
    try:
        app()
    except (DBAPIError, errors.Unavailable, OSError) as exc:
        if os.environ.get("PATRON_DEBUG"):
            raise
        if isinstance(exc, DBAPIError):
            reason = f"the database refused or could not be reached: {str(exc.orig).strip().splitlines()[0]}"
        elif isinstance(exc, errors.Unavailable):
            reason = exc.message
        else:
            reason = str(exc)
        err.print(f"[red]error:[/red] {reason}", highlight=False, soft_wrap=True)
        err.print("(set PATRON_DEBUG=1 to see the traceback)", style="dim")
        sys.exit(1)
