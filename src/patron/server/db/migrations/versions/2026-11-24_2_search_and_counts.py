"""Indexed legal-name search and per-account customer counts.

- `customer_counts`: live and total customers per account, backfilled here and then kept
  by every write in the same transaction.
- Substring search on the casefolded legal name: on SQLite an FTS5 table with the trigram
  tokenizer over `customers` (kept by triggers); on PostgreSQL a trigram GIN index that
  leads with `account_id` (extensions pg_trgm and btree_gin).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE customer_names USING fts5("
    "legal_name_key, content='customers', content_rowid='rowid', tokenize='trigram')",
    "CREATE TRIGGER customer_names_insert AFTER INSERT ON customers BEGIN "
    "INSERT INTO customer_names(rowid, legal_name_key) VALUES (new.rowid, new.legal_name_key); END",
    "CREATE TRIGGER customer_names_delete AFTER DELETE ON customers BEGIN "
    "INSERT INTO customer_names(customer_names, rowid, legal_name_key) "
    "VALUES ('delete', old.rowid, old.legal_name_key); END",
    "CREATE TRIGGER customer_names_update AFTER UPDATE OF legal_name_key ON customers BEGIN "
    "INSERT INTO customer_names(customer_names, rowid, legal_name_key) "
    "VALUES ('delete', old.rowid, old.legal_name_key); "
    "INSERT INTO customer_names(rowid, legal_name_key) VALUES (new.rowid, new.legal_name_key); END",
    "INSERT INTO customer_names(customer_names) VALUES ('rebuild')",
]


def upgrade() -> None:
    op.create_table(
        "customer_counts",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("live", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_customer_counts_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_customer_counts")),
    )
    op.execute(
        "INSERT INTO customer_counts (account_id, live, total) "
        "SELECT accounts.id, "
        "COALESCE(SUM(CASE WHEN customers.id IS NOT NULL AND customers.archived_at IS NULL THEN 1 ELSE 0 END), 0), "
        "COUNT(customers.id) "
        "FROM accounts LEFT JOIN customers ON customers.account_id = accounts.id GROUP BY accounts.id"
    )
    if op.get_context().dialect.name == "sqlite":
        for statement in SQLITE_SEARCH:
            op.execute(statement)
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        op.execute(
            "CREATE INDEX ix_customers_account_id_legal_name_trgm "
            "ON customers USING gin (account_id, legal_name_key gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for trigger in ("customer_names_insert", "customer_names_delete", "customer_names_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS customer_names")
    else:
        op.execute("DROP INDEX IF EXISTS ix_customers_account_id_legal_name_trgm")
    op.drop_table("customer_counts")
