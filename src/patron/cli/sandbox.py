"""`patron sandbox`: a server for tests in one command (docs/sandbox/in-your-tests.md): a
temporary database, the control plane on with a fresh admin token, rate limits off, one
account ready; its URLs and credentials printed once it answers."""

from __future__ import annotations

import http.client
import os
import secrets
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from patron.cli import serving
from patron.cli.common import err, fail, open_db, out, reported
from patron.server.accounts import service as accounts
from patron.server.config import Settings
from patron.server.errors import InvalidInput, PatronError, Unauthenticated

READY_TIMEOUT = 60.0
"""Seconds the server gets to answer its first request before the sandbox gives up."""
_BEGAN = time.monotonic()
_CHOSEN = {"clientId": "PATRON_SANDBOX_CLIENT_ID", "clientSecret": "PATRON_SANDBOX_CLIENT_SECRET"}


@dataclass(frozen=True)
class _Announcement:
    """What the sandbox prints once it answers, and the fixture it loads first."""

    root: str
    token: str
    account: accounts.NewCredential
    fixture: dict[str, Any] | None
    print_env: bool
    temporary: bool


def sandbox(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on; 0 picks a free one.")] = 0,
    seed: Annotated[
        Path | None, typer.Option(help="Fixture to load into the account (JSON, or YAML: .yaml/.yml).")
    ] = None,
    id_seed: Annotated[int | None, typer.Option(help="Mint ids from a generator seeded with N.")] = None,
    database: Annotated[str | None, typer.Option(help="Database URL (default: a temporary SQLite file).")] = None,
    print_env: Annotated[bool, typer.Option("--print-env", help="Print only `export NAME=value` lines.")] = False,
) -> None:
    """Serve a throwaway server for tests: control plane on, one account ready.

    Until SIGINT or SIGTERM: a temporary SQLite database (removed on exit) unless --database,
    the control plane on /_patron/ with a fresh admin token, rate limits off unless
    PATRON_RATE_LIMIT sets one, and one account ready (credentials from
    PATRON_SANDBOX_CLIENT_ID / PATRON_SANDBOX_CLIENT_SECRET when set)."""
    # Until granian takes SIGTERM over, it ends the command as Ctrl-C does: the temporary
    # database is still removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    fixture = _read_fixture(seed) if seed is not None else None
    with _database(database) as url, _listener(host, port) as bound:
        os.environ.update(_environment(url, temporary=database is None, id_seed=id_seed))
        settings = Settings.from_env()
        account = _ready_account(settings)
        root = f"http://{_reachable(host, bound)}:{bound}"
        said = _Announcement(root, settings.admin_token, account, fixture, print_env, temporary=database is None)
        failures: list[str] = []
        threading.Thread(target=_announce_when_ready, args=(said, failures), daemon=True).start()
        serving.run(settings, host, bound, stdout_free=True)
    if failures:
        # Unwrapped and unstyled: the message may quote a URL or a body.
        err.print(f"[red]error:[/red] {escape(failures[0])}", soft_wrap=True)
        raise typer.Exit(code=1)


def _read_fixture(path: Path) -> dict[str, Any]:
    """The fixture, read and checked by the seed's own parser before anything starts; it is
    posted to the seed endpoint once the server answers, so the ids of its rows come from
    the server's generator (`--id-seed` keeps them repeatable)."""
    # Imported here: the seed service and PyYAML, for this command only.
    import msgspec

    from patron.server.sandbox.service.seeds import parse_fixture

    try:
        document = msgspec.to_builtins(parse_fixture(path.read_bytes(), filename=path.name))
    except OSError as exc:
        raise fail(f"--seed: {exc}") from None
    except PatronError as exc:
        raise fail(f"--seed {path}: {exc.message}") from None
    assert isinstance(document, dict)
    return document


@contextmanager
def _database(database: str | None) -> Iterator[str]:
    """The database URL: `database`, else a SQLite file in a temporary directory removed on exit."""
    if database is not None:
        yield database
        return
    directory = Path(tempfile.mkdtemp(prefix="patron-sandbox-"))
    try:
        yield f"sqlite:///{directory / 'sandbox.db'}"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def _listener(host: str, port: int) -> Iterator[int]:
    """The port to serve: `port`, or for 0 a free one. granian cannot report a port the system
    picked, so we bind one ourselves and hold it while serving; granian binds with
    SO_REUSEPORT, so ours (bound with it too, never listening) keeps others off it without
    ever taking a connection."""
    if port != 0:
        yield port
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as held:
        if hasattr(socket, "SO_REUSEPORT"):
            held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        held.bind((host, 0))
        yield int(held.getsockname()[1])


def _environment(url: str, *, temporary: bool, id_seed: int | None) -> dict[str, str]:
    """What the server (this process and its worker) runs with: a fresh admin token, rate
    limits off unless the environment sets them (a test sandbox must not answer 429 by
    accident), and for a temporary database a fresh server key."""
    env = {"PATRON_DATABASE_URL": url, "PATRON_ADMIN_TOKEN": secrets.token_urlsafe(32)}
    env.update({var: "0" for var in ("PATRON_RATE_LIMIT", "PATRON_AUTH_FAILURE_LIMIT") if var not in os.environ})
    if temporary and not os.environ.get("PATRON_SECRET_KEY"):
        env["PATRON_SECRET_KEY"] = secrets.token_urlsafe(32)
    if id_seed is not None:
        env["PATRON_ID_SEED"] = str(id_seed)
    return env


def _ready_account(settings: Settings) -> accounts.NewCredential:
    """The sandbox's account. With both chosen credentials already valid in the database
    (`--database` kept from an earlier run), that account; else a new one."""
    client_id = os.environ.get(_CHOSEN["clientId"]) or None
    client_secret = os.environ.get(_CHOSEN["clientSecret"]) or None
    db = open_db(settings)
    try:
        if client_id and client_secret:
            try:
                with db.snapshot() as reads:
                    found = accounts.authenticate(reads, db.key, client_id, client_secret)
                return accounts.NewCredential(found.account_id, client_id, client_secret)
            except Unauthenticated:
                pass
        with reported(), _chosen_named(), db.write() as tx:
            return accounts.create_account(tx, db.key, "sandbox", client_id=client_id, client_secret=client_secret)
    finally:
        db.close()


@contextmanager
def _chosen_named() -> Iterator[None]:
    """A chosen credential the rules refuse is named by its environment variable."""
    try:
        yield
    except InvalidInput as exc:
        raise fail(f"{_CHOSEN.get(exc.field, exc.field)}: {exc.detail}") from None


def _reachable(host: str, port: int) -> str:
    """The address clients use: loopback for a wildcard, IPv6 in brackets."""
    address = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104 (matched, not bound)
    return f"[{address}]" if ":" in address else address


def _announce_when_ready(said: _Announcement, failures: list[str]) -> None:
    """Wait for the server to answer, load the fixture, then print; on failure, stop the
    server (SIGTERM to ourselves: granian's handler shuts it down) and say why."""
    try:
        if not _wait_ready(said.root):
            raise RuntimeError(f"the server did not answer within {READY_TIMEOUT:g} s")
        seeded = _seed(said) if said.fixture is not None else None
        elapsed = _since_start()
        if said.print_env:
            _print_env(said)
            err.print(f"patron sandbox ready in {elapsed:.2f} s", style="dim")
        else:
            _print_summary(said, elapsed, seeded)
    except Exception as exc:  # any failure here must stop the server, not just this thread
        failures.append(str(exc))
        os.kill(os.getpid(), signal.SIGTERM)


def _wait_ready(root: str) -> bool:
    host, _, port = root.removeprefix("http://").rpartition(":")
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=2)
        try:
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return True
        except (OSError, http.client.HTTPException):
            pass
        finally:
            connection.close()
        time.sleep(0.02)
    return False


def _seed(said: _Announcement) -> Any:
    from patron.testing.control import Control, ControlError

    assert said.fixture is not None
    with Control(f"{said.root}/_patron", said.token) as control:
        try:
            return control.seed(str(said.account.account_id), said.fixture)
        except ControlError as exc:
            raise RuntimeError(f"--seed: {exc}") from None


def _since_start() -> float:
    """Seconds since this process started (Linux's /proc), else since this module loaded."""
    try:
        stat = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        return time.clock_gettime(time.CLOCK_BOOTTIME) - int(stat[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.monotonic() - _BEGAN


def _env_lines(said: _Announcement) -> dict[str, str]:
    return {
        "SEQUENCE_BASE_URL": f"{said.root}/api",
        "SEQUENCE_CLIENT_ID": said.account.client_id,
        "SEQUENCE_CLIENT_SECRET": said.account.client_secret,
        "PATRON_ACCOUNT_ID": str(said.account.account_id),
        "PATRON_ADMIN_URL": f"{said.root}/_patron",
        "PATRON_ADMIN_TOKEN": said.token,
    }


def _print_env(said: _Announcement) -> None:
    # One write, flushed: a script waiting for the last line sees all of them at once.
    sys.stdout.write("".join(f"export {name}={shlex.quote(value)}\n" for name, value in _env_lines(said).items()))
    sys.stdout.flush()


def _print_summary(said: _Announcement, elapsed: float, seeded: Any) -> None:
    env = _env_lines(said)
    database = "a temporary SQLite database, removed on exit" if said.temporary else os.environ["PATRON_DATABASE_URL"]
    _line(f"patron sandbox ready in {elapsed:.2f} s ({database})")
    _line(f"  API            {env['SEQUENCE_BASE_URL']}")
    _line(f"  client id      {env['SEQUENCE_CLIENT_ID']}")
    _line(f"  client secret  {env['SEQUENCE_CLIENT_SECRET']}")
    _line(f"  account id     {env['PATRON_ACCOUNT_ID']}")
    _line(f"  control plane  {env['PATRON_ADMIN_URL']}  (Authorization: Bearer <admin token>)")
    _line(f"  admin token    {env['PATRON_ADMIN_TOKEN']}")
    if seeded is not None:
        count = seeded["customers"]
        _line(f"  seeded         {count} customer{'' if count == 1 else 's'} from the fixture")
    limit = os.environ["PATRON_RATE_LIMIT"]
    _line(f"  rate limits    {'off' if limit in {'', '0'} else limit} (PATRON_RATE_LIMIT)")
    auth = shlex.quote(f"{env['SEQUENCE_CLIENT_ID']}:{env['SEQUENCE_CLIENT_SECRET']}")
    _line(f"  try:  curl -u {auth} {env['SEQUENCE_BASE_URL']}/customers")
    _line("Ctrl-C stops it.")


def _line(text: str) -> None:
    # Plain text: a chosen secret may hold `[`, which rich would read as markup.
    out.print(text, markup=False, highlight=False, soft_wrap=True)
