"""The sandbox (docs/sandbox.md): a test clock per account, client ids unique across
accounts (an operator may choose one), the tables of snapshots, faults and the request
journal, and the registry's references RESTRICT instead of NO ACTION (tables.py: a reset
or a restore deletes many customers at once).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 04:10:03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from patron.server.db.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# (table, its columns, the referred table and columns): every reference within the registry.
_REFERENCES = [
    ("customer_aliases", ["account_id", "customer_id"], "customers", ["account_id", "id"]),
    ("contacts", ["account_id", "customer_id"], "customers", ["account_id", "id"]),
    ("organizations", ["account_id", "owner_id"], "customers", ["account_id", "id"]),
    ("organization_members", ["account_id", "organization_id"], "organizations", ["account_id", "id"]),
    ("organization_members", ["account_id", "customer_id"], "customers", ["account_id", "id"]),
    ("custom_properties", ["account_id", "customer_id"], "customers", ["account_id", "id"]),
]


def _refer(ondelete: str | None) -> None:
    for table, columns, referred, referred_columns in _REFERENCES:
        # op.f: the name as the naming convention made it (PostgreSQL truncates long ones alike).
        name = op.f(f"fk_{table}_{'_'.join(columns)}_{referred}")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(name, type_="foreignkey")
            batch_op.create_foreign_key(name, referred, columns, referred_columns, ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "sandbox_faults",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=True),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("retry_after", sa.Integer(), nullable=True),
        sa.Column("delay_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_sandbox_faults_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_sandbox_faults")),
    )
    op.create_table(
        "sandbox_requests",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=2000), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("request_body", sa.Text(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_sandbox_requests_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_sandbox_requests")),
    )
    op.create_table(
        "sandbox_snapshots",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("customers", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_sandbox_snapshots_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", "name", name=op.f("pk_sandbox_snapshots")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frozen_at", UTCDateTime(), nullable=True))

    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.create_index("uq_credentials_client_id", ["client_id"], unique=True)

    _refer("RESTRICT")


def downgrade() -> None:
    _refer(None)

    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_index("uq_credentials_client_id")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("frozen_at")

    op.drop_table("sandbox_snapshots")
    op.drop_table("sandbox_requests")
    op.drop_table("sandbox_faults")
