"""Alembic environment: runs on the engine the caller passes in `config.attributes`."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Engine

from patron.server.db.engine import WRITE
from patron.server.db.tables import metadata

engine = context.config.attributes["engine"]
assert isinstance(engine, Engine)

# Search structures live outside the table definitions (an FTS5 table and its shadow
# tables on SQLite, a trigram GIN index on PostgreSQL): the migrations own them.
_SEARCH = ("customer_names", "ix_customers_account_id_legal_name_trgm", "ix_customers_legal_name_key_trgm")


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (name or "").startswith(_SEARCH)


# Several servers may start at once, each applying migrations: the first one migrates,
# the others wait for it and then find nothing to do. On PostgreSQL that is a transaction-
# level advisory lock taken before Alembic reads the current revision (DDL is transactional,
# so the lock and the migrations commit together); on SQLite, the write lock (BEGIN IMMEDIATE).
MIGRATION_LOCK = int.from_bytes(b"patron", "big")

with engine.connect().execution_options(**{WRITE: True}) as connection:
    # Begun here, before Alembic looks, so every migration runs in this one transaction:
    # Alembic commits after each migration on SQLite otherwise (it counts SQLite's DDL as
    # not transactional), releasing the write lock, and another server starting then reads
    # a revision this one is about to apply and applies it twice.
    connection.begin()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        # Building an index on a big table takes as long as it takes.
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
