"""Shared fixtures: a real database file built by the migrations, the app, accounts."""

from __future__ import annotations

import base64
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy.engine import make_url

from patron.server.accounts import service as accounts
from patron.server.app import create_app
from patron.server.config import Settings
from patron.server.db import migrate
from patron.server.db.engine import Database, make_engine, normalise_url

SECRET_KEY = "test-server-key"


class _Limits(TypedDict):
    rate_limit: str
    auth_failure_limit: str


NO_LIMITS = _Limits(rate_limit="0", auth_failure_limit="0")
"""Settings overrides for tests that send many requests: no 429 by accident (the rate
limit tests turn the limits on)."""


@dataclass(frozen=True)
class Account:
    """An account with one credential pair, and the headers that authenticate as it."""

    account_id: str
    client_id: str
    client_secret: str

    @property
    def headers(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return {"Authorization": f"Basic {token}"}


class Backend:
    """Where test databases come from: SQLite files, or PostgreSQL databases when
    `PATRON_TEST_DATABASE_URL` names a server (`make test` runs the suite on both)."""

    def __init__(self, root: Path) -> None:
        self.server_url = os.environ.get("PATRON_TEST_DATABASE_URL", "")
        self.kind = "postgresql" if self.server_url else "sqlite"
        self._template_file = root / "template.db"
        self._template_db = f"patron_template_{os.getpid()}"
        if self.kind == "postgresql":
            self._admin = make_engine(self.server_url).execution_options(isolation_level="AUTOCOMMIT")
            with self._admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self._template_db}" WITH (FORCE)')
                connection.exec_driver_sql(f'CREATE DATABASE "{self._template_db}"')
            template_url = self._url_for(self._template_db)
        else:
            template_url = f"sqlite:///{self._template_file}"
        engine = make_engine(template_url)
        migrate.upgrade(engine)
        if self.kind == "sqlite":
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()

    def _url_for(self, name: str) -> str:
        return make_url(normalise_url(self.server_url)).set(database=name).render_as_string(hide_password=False)

    def fresh(self, directory: Path) -> str:
        """A new database holding the migrated schema and nothing else."""
        if self.kind == "sqlite":
            path = directory / f"patron-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(self._template_file, path)
            return f"sqlite:///{path}"
        name = f"patron_test_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{self._template_db}"')
        return self._url_for(name)

    def empty(self, directory: Path) -> str:
        """A new database with no tables at all (for tests of the migrations themselves)."""
        if self.kind == "sqlite":
            return f"sqlite:///{directory / f'empty-{uuid.uuid4().hex[:8]}.db'}"
        name = f"patron_test_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        return self._url_for(name)

    def drop(self, url: str) -> None:
        if self.kind == "postgresql":
            name = make_url(url).database
            with self._admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self.kind == "postgresql":
            with self._admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self._template_db}" WITH (FORCE)')
            self._admin.dispose()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Collecting starts nothing: an app started while a module is imported (its lifespan
    left open in a portal thread) would run its webhook dispatcher beside every test."""
    running = [t.name for t in threading.enumerate() if t.name.startswith(("asyncio-portal", "AnyIO worker"))]
    if running:
        raise pytest.UsageError(f"threads left running by a module at import: {running}")


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    chosen = Backend(tmp_path_factory.mktemp("template"))
    yield chosen
    chosen.close()


@pytest.fixture
def database_url(backend: Backend, tmp_path: Path) -> Iterator[str]:
    url = backend.fresh(tmp_path)
    yield url
    backend.drop(url)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=SECRET_KEY, **NO_LIMITS)


@pytest.fixture
def app(settings: Settings) -> Iterator[Litestar]:
    application = create_app(settings)
    yield application
    application.state.database.close()


@pytest.fixture
def database(app: Litestar) -> Database:
    db = app.state.database
    assert isinstance(db, Database)
    return db


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app) as test_client:
        yield test_client


def make_account(database: Database, name: str = "acme") -> Account:
    with database.write() as tx:
        new = accounts.create_account(tx, database.key, name)
    return Account(str(new.account_id), new.client_id, new.client_secret)


@pytest.fixture
def account(database: Database) -> Account:
    return make_account(database, "acme")


@pytest.fixture
def other_account(database: Database) -> Account:
    return make_account(database, "globex")
