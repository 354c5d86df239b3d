"""Migrations on either database: several servers starting at once against an empty
database all come up (one migrates, the others wait and find nothing to do)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, inspect

from patron.server.db import migrate
from patron.server.db.engine import make_engine
from tests.conftest import SECRET_KEY, Backend

PROCESSES = 4


@pytest.fixture
def empty_url(backend: Backend, tmp_path: Path) -> Iterator[str]:
    url = backend.empty(tmp_path)
    yield url
    backend.drop(url)


def test_concurrent_upgrades_of_an_empty_database_all_succeed(empty_url: str, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "patron", "db", "upgrade", "--database", empty_url]
    env = {"PATH": "/usr/bin:/bin", "PATRON_SECRET_KEY": SECRET_KEY}
    runs = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(PROCESSES)
    ]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0] * PROCESSES, "\n".join(outputs)
    engine = make_engine(empty_url)
    with engine.connect() as connection:
        versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert len(versions) == 1
    assert {"accounts", "credentials", "customers", "customer_aliases"} <= tables


def test_every_migration_commits_in_one_transaction(empty_url: str) -> None:
    """The schema goes from empty to the newest in one commit, under one lock: a server
    starting meanwhile never reads a revision another is about to apply."""
    engine = make_engine(empty_url)
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    event.listen(engine, "commit", committed)
    try:
        migrate.upgrade(engine)
    finally:
        event.remove(engine, "commit", committed)
        engine.dispose()
    assert len(commits) == 1
