"""Every table of patron. Each leads with `account_id`, and so does every key and index,
so that one account's rows stay together (and can later be sharded by account). The one
exception is global by nature: a client id names its account (authentication starts from
it, before any account is known)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)

from patron.server.db.types import JSONDocument, UTCDateTime, sort_key

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

NAME = 1000
VALUE = 255

account = Table(
    "accounts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(NAME), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # The account's test clock (docs/sandbox.md): time stands here while set.
    Column("frozen_at", UTCDateTime),
)

# A client id patron makes starts with its account's id (hex); one the operator chose need
# not, so authentication finds a credential by its client id alone (unique across accounts).
credential = Table(
    "credentials",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    PrimaryKeyConstraint("account_id", "client_id"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    Index("uq_credentials_client_id", "client_id", unique=True),
)

customer = Table(
    "customers",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("id", Uuid, nullable=False),
    Column("legal_name", String(NAME), nullable=False),
    # casefolded legal name: case-insensitive filter and the legalName sort order
    Column("legal_name_key", sort_key(NAME), nullable=False),
    Column("url", String(NAME)),
    Column("label", String(NAME)),
    Column("tax_status", String(16), nullable=False),
    Column("status", String(8), nullable=False),
    Column("address_line1", String(NAME), nullable=False),
    Column("address_line2", String(NAME)),
    Column("address_town", String(NAME), nullable=False),
    Column("address_state", String(2)),
    Column("address_postcode", String(64), nullable=False),
    Column("address_country", String(2), nullable=False),
    Column("integration_ids", JSONDocument, nullable=False),
    # the parent named by `parentId` on create/update, whose organization holds this customer
    Column("parent_id", Uuid),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("archived_at", UTCDateTime),
    PrimaryKeyConstraint("account_id", "id"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    Index(None, "account_id", "created_at", "id"),
    Index(None, "account_id", "legal_name_key", "id"),
    # The label filter in either sort order, as an index range; only labelled customers.
    Index(
        None,
        "account_id",
        "label",
        "created_at",
        "id",
        sqlite_where=text("label IS NOT NULL"),
        postgresql_where=text("label IS NOT NULL"),
    ),
    Index(
        None,
        "account_id",
        "label",
        "legal_name_key",
        "id",
        sqlite_where=text("label IS NOT NULL"),
        postgresql_where=text("label IS NOT NULL"),
    ),
)

# Within an account's registry, a referenced row may not be deleted while referenced
# (RESTRICT): the same rule as NO ACTION for statements that never re-create a key, as
# patron's never do, and on PostgreSQL an eighth of the cost of deleting many customers at
# once (a reset, a restore: NO ACTION also looks for a replacement row per referencing table).
customer_alias = Table(
    "customer_aliases",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("value", String(VALUE), nullable=False),
    Column("label", String(NAME)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime),
    PrimaryKeyConstraint("account_id", "id"),
    ForeignKeyConstraint(["account_id", "customer_id"], ["customers.account_id", "customers.id"], ondelete="RESTRICT"),
    Index(None, "account_id", "customer_id"),
    Index(None, "account_id", "created_at", "id"),
    # A live alias value belongs to exactly one customer of the account; the database decides.
    Index(
        "uq_customer_aliases_live_value",
        "account_id",
        "value",
        unique=True,
        sqlite_where=text("deleted_at IS NULL"),
        postgresql_where=text("deleted_at IS NULL"),
    ),
)

contact = Table(
    "contacts",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("email", String(NAME), nullable=False),
    Column("email_key", String(NAME), nullable=False),
    Column("billing_preference", String(8), nullable=False),
    Column("position", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("archived_at", UTCDateTime),
    PrimaryKeyConstraint("account_id", "id"),
    ForeignKeyConstraint(["account_id", "customer_id"], ["customers.account_id", "customers.id"], ondelete="RESTRICT"),
    Index(None, "account_id", "customer_id", "position"),
    Index(None, "account_id", "email_key", "customer_id"),
)

organization = Table(
    "organizations",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("id", Uuid, nullable=False),
    Column("owner_id", Uuid, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("account_id", "id"),
    ForeignKeyConstraint(["account_id", "owner_id"], ["customers.account_id", "customers.id"], ondelete="RESTRICT"),
    UniqueConstraint("account_id", "owner_id"),
)

organization_member = Table(
    "organization_members",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("organization_id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("account_id", "organization_id", "customer_id"),
    ForeignKeyConstraint(
        ["account_id", "organization_id"], ["organizations.account_id", "organizations.id"], ondelete="RESTRICT"
    ),
    ForeignKeyConstraint(["account_id", "customer_id"], ["customers.account_id", "customers.id"], ondelete="RESTRICT"),
    Index(None, "account_id", "customer_id"),
)

custom_property = Table(
    "custom_properties",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("key", sort_key(VALUE), nullable=False),
    Column("value", sort_key(NAME), nullable=False),
    PrimaryKeyConstraint("account_id", "customer_id", "key"),
    ForeignKeyConstraint(["account_id", "customer_id"], ["customers.account_id", "customers.id"], ondelete="RESTRICT"),
    Index(None, "account_id", "key", "value", "customer_id"),
)

# Customers per account, kept in the same transaction as every write that changes them,
# so an unfiltered list knows its total without counting the table.
customer_count = Table(
    "customer_counts",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("live", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    PrimaryKeyConstraint("account_id"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
)

idempotency_key = Table(
    "idempotency_keys",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("key", String(VALUE), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("account_id", "key"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    # The purge of an account's expired keys, oldest first (idempotency/repository.py).
    Index(None, "account_id", "created_at"),
)

# The sandbox (docs/sandbox.md): an account's saved states, its injected faults and the
# journal of its recent requests.
sandbox_snapshot = Table(
    "sandbox_snapshots",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("name", String(VALUE), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("customers", BigInteger, nullable=False),
    # Every row of the account's data tables (ACCOUNT_DATA), compressed.
    Column("content", LargeBinary, nullable=False),
    PrimaryKeyConstraint("account_id", "name"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
)

sandbox_fault = Table(
    "sandbox_faults",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("id", Uuid, nullable=False),
    Column("method", String(8)),
    Column("path", String(NAME), nullable=False),
    Column("status", Integer),
    # How many more requests it answers; NULL: every matching one.
    Column("remaining", Integer),
    Column("probability", Float),
    Column("retry_after", Integer),
    Column("delay_ms", Integer),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("account_id", "id"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
)

sandbox_request = Table(
    "sandbox_requests",
    metadata,
    Column("account_id", Uuid, nullable=False),
    # `clock.new_wall_id`: ordered by the wall clock, whatever the account's test clock says.
    Column("id", Uuid, nullable=False),
    # A caller's own `Request-Id` may be 128 characters (web/observe.py).
    Column("request_id", String(128), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(NAME * 2), nullable=False),
    Column("query", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("request_body", Text, nullable=False),
    Column("response_body", Text, nullable=False),
    PrimaryKeyConstraint("account_id", "id"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
)

# Webhooks (docs/webhooks.md): Sequence's notification policies, and the transactional
# outbox: an event and its deliveries are written in the transaction of the change that
# caused them, and each worker's dispatcher sends the deliveries and records every attempt.
notification_policy = Table(
    "notification_policies",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("id", Uuid, nullable=False),
    Column("name", String(VALUE), nullable=False),
    Column("channel", String(16), nullable=False),
    # URLs (WEBHOOK) or email addresses (EMAIL), in the order they were added.
    Column("recipients", JSONDocument, nullable=False),
    # NULL: the policy matches every type; [] matches none.
    Column("notification_types", JSONDocument),
    Column("webhook_secret", String(VALUE)),
    Column("created_at", UTCDateTime, nullable=False),
    # A deleted policy stays, so its deliveries' history still names it; the API hides it.
    Column("deleted_at", UTCDateTime),
    PrimaryKeyConstraint("account_id", "id"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    Index(None, "account_id", "created_at", "id"),
)

# The digest of each customer as last announced (the 2024-07-30 `Customer` as
# `GET /customers/{id}` renders it): a write fires an event for a customer only when its
# representation changed (docs/webhooks.md).
announced_customer = Table(
    "announced_customers",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("digest", String(32)),
    PrimaryKeyConstraint("account_id", "customer_id"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
)

webhook_event = Table(
    "webhook_events",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("id", Uuid, nullable=False),
    Column("notification_type", String(64), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", Uuid, nullable=False),
    # The envelope exactly as sent, every attempt and every redelivery the same bytes.
    Column("body", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("account_id", "id"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    Index(None, "account_id", "resource_id", "id"),
    Index(None, "account_id", "created_at", "id"),
)

webhook_delivery = Table(
    "webhook_deliveries",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("id", Uuid, nullable=False),
    Column("event_id", Uuid, nullable=False),
    # No reference: a policy's deliveries outlive it, and a restore may replace the policy.
    Column("policy_id", Uuid, nullable=False),
    Column("recipient", String(2048), nullable=False),
    Column("channel", String(16), nullable=False),
    # pending, succeeded, failed, cancelled or skipped (an EMAIL recipient: never sent).
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    # When the next attempt is due, by the account's clock (its test clock when frozen).
    Column("next_attempt_at", UTCDateTime),
    # Held by the dispatcher sending it until then (wall clock); an expired lease is taken again.
    Column("lease_until", UTCDateTime),
    Column("lease_token", Uuid),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("redelivery", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    PrimaryKeyConstraint("account_id", "id"),
    ForeignKeyConstraint(["account_id", "event_id"], ["webhook_events.account_id", "webhook_events.id"]),
    Index(None, "account_id", "event_id"),
    Index(None, "account_id", "policy_id", "status"),
    # The dispatchers' claim, across accounts: the pending deliveries by due time.
    Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
)

webhook_attempt = Table(
    "webhook_attempts",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("delivery_id", Uuid, nullable=False),
    Column("number", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    # The `t` of `Sequence-Signature`: Unix milliseconds by the account's clock.
    Column("signed_at_ms", BigInteger, nullable=False),
    Column("request_headers", JSONDocument, nullable=False),
    Column("status_code", Integer),
    Column("response_headers", JSONDocument),
    # The first 4 KiB of the receiver's answer.
    Column("response_excerpt", Text),
    Column("duration_ms", Float, nullable=False),
    Column("error", Text),
    PrimaryKeyConstraint("account_id", "delivery_id", "number"),
    ForeignKeyConstraint(["account_id", "delivery_id"], ["webhook_deliveries.account_id", "webhook_deliveries.id"]),
)

ACCOUNT_DATA = (
    announced_customer,
    notification_policy,
    organization_member,
    organization,
    custom_property,
    contact,
    customer_alias,
    customer,
    customer_count,
)
"""The tables holding an account's customer registry and its notification policies, each
before the tables it refers to (delete in this order, insert in the reverse): what a reset
removes and a snapshot keeps."""

WEBHOOK_LOG = (webhook_attempt, webhook_delivery, webhook_event)
"""The outbox and its history (each before the tables it refers to): a reset removes it, a
snapshot does not keep it."""
