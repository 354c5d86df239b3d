"""Alembic environment: runs on the engine the caller passes in `config.attributes`."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Engine

from patron.server.db.tables import metadata

engine = context.config.attributes["engine"]
assert isinstance(engine, Engine)

# Search structures live outside the table definitions (an FTS5 table and its shadow
# tables on SQLite, a trigram GIN index on PostgreSQL): the migrations own them.
_SEARCH = ("customer_names", "ix_customers_account_id_legal_name_trgm")


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (name or "").startswith(_SEARCH)


with engine.connect() as connection:
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
