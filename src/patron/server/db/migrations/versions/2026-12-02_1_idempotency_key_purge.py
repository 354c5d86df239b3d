"""Idempotency keys: an index on (account_id, created_at), so each new key can delete a
few of its account's expired ones, oldest first, without scanning the account's keys.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 00:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_account_id_created_at"), ["account_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_account_id_created_at"))
