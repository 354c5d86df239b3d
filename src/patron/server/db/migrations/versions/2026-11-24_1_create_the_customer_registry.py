"""Create the customer registry: accounts, credentials, customers, aliases, contacts,
organizations, custom properties and idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 04:08:18.705664
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron.server.db.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "credentials",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_credentials_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", "client_id", name=op.f("pk_credentials")),
    )
    op.create_table(
        "customers",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("legal_name", sa.String(length=1000), nullable=False),
        sa.Column(
            "legal_name_key",
            sa.String(length=1000).with_variant(sa.String(length=1000, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("label", sa.String(length=1000), nullable=True),
        sa.Column("tax_status", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("address_line1", sa.String(length=1000), nullable=False),
        sa.Column("address_line2", sa.String(length=1000), nullable=True),
        sa.Column("address_town", sa.String(length=1000), nullable=False),
        sa.Column("address_state", sa.String(length=2), nullable=True),
        sa.Column("address_postcode", sa.String(length=64), nullable=False),
        sa.Column("address_country", sa.String(length=2), nullable=False),
        sa.Column(
            "integration_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("archived_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_customers_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_customers")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customers_account_id_created_at_id"),
            ["account_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_customers_account_id_label"),
            ["account_id", "label"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_customers_account_id_legal_name_key_id"),
            ["account_id", "legal_name_key", "id"],
            unique=False,
        )

    op.create_table(
        "idempotency_keys",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_idempotency_keys_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "contacts",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("email", sa.String(length=1000), nullable=False),
        sa.Column("email_key", sa.String(length=1000), nullable=False),
        sa.Column("billing_preference", sa.String(length=8), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("archived_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id", "customer_id"],
            ["customers.account_id", "customers.id"],
            name=op.f("fk_contacts_account_id_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contacts_account_id_customer_id_position"),
            ["account_id", "customer_id", "position"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_contacts_account_id_email_key_customer_id"),
            ["account_id", "email_key", "customer_id"],
            unique=False,
        )

    op.create_table(
        "custom_properties",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column(
            "key",
            sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "value",
            sa.String(length=1000).with_variant(sa.String(length=1000, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "customer_id"],
            ["customers.account_id", "customers.id"],
            name=op.f("fk_custom_properties_account_id_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("account_id", "customer_id", "key", name=op.f("pk_custom_properties")),
    )
    with op.batch_alter_table("custom_properties", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_custom_properties_account_id_key_value_customer_id"),
            ["account_id", "key", "value", "customer_id"],
            unique=False,
        )

    op.create_table(
        "customer_aliases",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=1000), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id", "customer_id"],
            ["customers.account_id", "customers.id"],
            name=op.f("fk_customer_aliases_account_id_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_customer_aliases")),
    )
    with op.batch_alter_table("customer_aliases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_aliases_account_id_created_at_id"),
            ["account_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_customer_aliases_account_id_customer_id"),
            ["account_id", "customer_id"],
            unique=False,
        )
        batch_op.create_index(
            "uq_customer_aliases_live_value",
            ["account_id", "value"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "organizations",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "owner_id"],
            ["customers.account_id", "customers.id"],
            name=op.f("fk_organizations_account_id_owner_id_customers"),
        ),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("account_id", "owner_id", name=op.f("uq_organizations_account_id_owner_id")),
    )
    op.create_table(
        "organization_members",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "customer_id"],
            ["customers.account_id", "customers.id"],
            name=op.f("fk_organization_members_account_id_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "organization_id"],
            ["organizations.account_id", "organizations.id"],
            name=op.f("fk_organization_members_account_id_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint(
            "account_id",
            "organization_id",
            "customer_id",
            name=op.f("pk_organization_members"),
        ),
    )
    with op.batch_alter_table("organization_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_members_account_id_customer_id"),
            ["account_id", "customer_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("organization_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_members_account_id_customer_id"))

    op.drop_table("organization_members")
    op.drop_table("organizations")
    with op.batch_alter_table("customer_aliases", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_customer_aliases_live_value",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_customer_aliases_account_id_customer_id"))
        batch_op.drop_index(batch_op.f("ix_customer_aliases_account_id_created_at_id"))

    op.drop_table("customer_aliases")
    with op.batch_alter_table("custom_properties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custom_properties_account_id_key_value_customer_id"))

    op.drop_table("custom_properties")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_account_id_email_key_customer_id"))
        batch_op.drop_index(batch_op.f("ix_contacts_account_id_customer_id_position"))

    op.drop_table("contacts")
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_account_id_legal_name_key_id"))
        batch_op.drop_index(batch_op.f("ix_customers_account_id_label"))
        batch_op.drop_index(batch_op.f("ix_customers_account_id_created_at_id"))

    op.drop_table("customers")
    op.drop_table("credentials")
    op.drop_table("accounts")
