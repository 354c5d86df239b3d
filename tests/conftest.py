"""Shared fixtures: a real database file built by the migrations, the app, accounts."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.server.accounts import service as accounts
from patron.server.app import create_app
from patron.server.config import Settings
from patron.server.db import migrate
from patron.server.db.engine import Database, make_engine

SECRET_KEY = "test-server-key"


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


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the schema built by the migrations, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def database_url(migrated_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "patron.db"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=SECRET_KEY)


@pytest.fixture
def app(settings: Settings) -> Iterator[Litestar]:
    application = create_app(settings)
    yield application
    application.state.database.engine.dispose()


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
