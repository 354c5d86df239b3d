"""Running the server under granian, shared by `patron serve` and `patron sandbox`: the
settings handed to the worker processes, what several workers must count together, the
connection limits."""

from __future__ import annotations

import copy
import gc
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

from patron.cli.common import out
from patron.server.config import Settings

HEADER_TIMEOUT_MS = 10_000
"""How long the server waits for a request's headers (slowloris) before closing the connection."""


def run(settings: Settings, host: str, port: int, *, workers: int = 1, stdout_free: bool = False) -> None:
    """Serve the API with granian until SIGINT or SIGTERM. `stdout_free`: print nothing on
    stdout (granian logs to stderr), which then belongs to the caller (`sandbox --print-env`)."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LOGGING_CONFIG

    # Workers are separate processes: hand them the resolved settings through the environment.
    os.environ["PATRON_DATABASE_URL"] = settings.database_url
    os.environ["PATRON_SECRET_KEY"] = settings.secret_key
    logging = copy.deepcopy(LOGGING_CONFIG)
    if stdout_free:
        for handler in cast(dict[str, dict[str, str]], logging["handlers"]).values():
            handler["stream"] = "ext://sys.stderr"
    with _shared_between_workers(settings, workers):
        if not stdout_free:
            _print_limits(settings)
        Granian(
            "patron.server.asgi:from_env",
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=workers,
            factory=True,
            log_access=False,
            log_dictconfig=logging,
            # Half-sent request headers: the connection is closed after this long (docs/limits.md).
            http1_settings=HTTP1Settings(header_read_timeout=HEADER_TIMEOUT_MS),
        ).serve()
    # The server has stopped: freezing what is left spares the interpreter's exit a collection
    # over every object the app loaded (measured: SIGTERM to exit 0.35 s -> 0.05 s).
    gc.freeze()


def _print_limits(settings: Settings) -> None:
    requests = "off" if settings.rate_limit in {"", "0"} else f"{settings.rate_limit} per credential"
    failures = "off" if settings.auth_failure_limit in {"", "0"} else f"{settings.auth_failure_limit} per client id"
    storage = os.environ.get("PATRON_RATE_LIMIT_STORAGE", settings.rate_limit_storage).split("://")[0]
    out.print(f"rate limits: requests {requests}, failed authentications {failures} (counted in {storage})")


@contextmanager
def _shared_between_workers(settings: Settings, workers: int) -> Iterator[None]:
    """With several workers, what they must count together lives in a fresh temporary
    directory, removed on exit: the metrics (prometheus-client's multiprocess mode) and,
    unless `PATRON_RATE_LIMIT_STORAGE` names a shared one (Redis), the rate limits: a
    per-process memory storage would give each worker the whole allowance."""
    if workers == 1:
        yield
        return
    directory = Path(tempfile.mkdtemp(prefix="patron-serve-"))
    try:
        (directory / "metrics").mkdir()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory / "metrics")
        if settings.rate_limit_storage.startswith("memory://"):
            os.environ["PATRON_RATE_LIMIT_STORAGE"] = f"sqlite:///{directory / 'ratelimit.db'}"
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)
