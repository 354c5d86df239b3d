"""Every key leads with the account id, so an account's rows can live on one shard."""

from __future__ import annotations

from sqlalchemy import inspect

from patron.server.db.engine import make_engine

# `accounts` is keyed by the account id itself.
EXEMPT = {"accounts", "alembic_version"}
# A client id is global by nature: authentication starts from it before any account is known
# (an operator may choose one, so it need not begin with its account's id). The
# dispatchers claim due webhook deliveries across accounts (docs/webhooks.md).
GLOBAL_KEYS = {"uq_credentials_client_id", "ix_webhook_deliveries_due"}


def test_every_primary_key_unique_constraint_and_index_starts_with_account_id(database_url: str) -> None:
    engine = make_engine(database_url)
    inspector = inspect(engine)
    # SQLite's FTS5 name index (customer_names and its shadow tables) is a derived search
    # structure of the embedded store, rebuilt from `customers`; it is never sharded.
    tables = {t for t in inspector.get_table_names() if not t.startswith("customer_names")} - EXEMPT
    assert {"customers", "customer_aliases", "contacts", "credentials"} <= tables
    offenders = []
    for table in sorted(tables):
        keys: list[tuple[str, list[str | None]]] = [
            ("primary key", list(inspector.get_pk_constraint(table)["constrained_columns"]))
        ]
        keys += [(f"unique {u['name']}", list(u["column_names"])) for u in inspector.get_unique_constraints(table)]
        # PostgreSQL's trigram index of legal names is a search structure, not a key: it
        # lives on each shard with its rows whatever its columns, and leading it with the
        # account id made every search five times slower (migration 0003).
        keys += [
            (f"index {i['name']}", list(i["column_names"]))
            for i in inspector.get_indexes(table)
            if i["name"] != "ix_customers_legal_name_key_trgm" and i["name"] not in GLOBAL_KEYS
        ]
        offenders += [
            f"{table}: {kind} {columns}" for kind, columns in keys if not columns or columns[0] != "account_id"
        ]
        for foreign in inspector.get_foreign_keys(table):
            if foreign["referred_table"] != "accounts":
                assert foreign["constrained_columns"][0] == "account_id", (table, foreign)
    engine.dispose()
    assert offenders == []
