"""`kill -9` of the server under write load loses no acknowledged write.

Writers create customers (each with an alias) and archive some of them while the whole
server process group is killed with SIGKILL mid-load; a new server on the same database
must then return every write it had answered 2xx to. Bounded: a few trials of about a
second of load each, on loopback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.factories import customer_body
from tests.system.conftest import create_account_cli, start_server, stop_server

TRIALS = 3
WRITERS = 4
LOAD_SECONDS = 1.0


@dataclass
class Acknowledged:
    """What the killed server answered 2xx to: customer id -> alias, and archived ids."""

    created: dict[str, str] = field(default_factory=dict)
    archived: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _write_until_refused(base_url: str, auth: tuple[str, str], acked: Acknowledged, stop: threading.Event) -> None:
    with httpx.Client(base_url=base_url, auth=auth, timeout=5) as http:
        while True:
            alias = f"crash-{uuid.uuid4().hex}"
            try:
                created = http.post("/customers", json=customer_body(customerAliases=[alias]))
                if created.status_code != 201:
                    continue
                customer_id = created.json()["id"]
                with acked.lock:
                    acked.created[customer_id] = alias
                if http.post(f"/customers/{customer_id}/archive").status_code == 200:
                    with acked.lock:
                        acked.archived.add(customer_id)
            except httpx.HTTPError:
                if stop.is_set():
                    return


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server and its worker processes: no shutdown code runs."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _check_all_present(base_url: str, auth: tuple[str, str], acked: Acknowledged) -> list[str]:
    lost = []
    with httpx.Client(base_url=base_url, auth=auth, timeout=10) as http:
        for customer_id, alias in acked.created.items():
            found = http.get(f"/customers/by-alias/{alias}")
            if found.status_code != 200 or found.json()["id"] != customer_id:
                lost.append(f"create {customer_id}: {found.status_code}")
                continue
            archived = http.get(f"/customers/{customer_id}").json().get("archivedAt")
            if customer_id in acked.archived and archived is None:
                lost.append(f"archive {customer_id}")
    return lost


def _trial(database_url: str, workdir: Path, auth: tuple[str, str]) -> Acknowledged:
    process, port = start_server(database_url, workdir, workers=2)
    base_url = f"http://127.0.0.1:{port}/api"
    acked, stop = Acknowledged(), threading.Event()
    writers = [
        threading.Thread(target=_write_until_refused, args=(base_url, auth, acked, stop)) for _ in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    time.sleep(LOAD_SECONDS)
    stop.set()
    _kill_group(process)
    for writer in writers:
        writer.join(timeout=30)
    return acked


@pytest.mark.parametrize("trial", range(TRIALS))
def test_kill_9_under_write_load_loses_no_acknowledged_write(database_url: str, tmp_path: Path, trial: int) -> None:
    auth = create_account_cli(database_url, tmp_path)
    acked = _trial(database_url, tmp_path, auth)
    assert acked.created, "the load wrote nothing before the kill"
    print(f"trial {trial}: {len(acked.created)} creates, {len(acked.archived)} archives acknowledged before kill -9")
    process, port = start_server(database_url, tmp_path)
    try:
        assert _check_all_present(f"http://127.0.0.1:{port}/api", auth, acked) == []
    finally:
        stop_server(process)
