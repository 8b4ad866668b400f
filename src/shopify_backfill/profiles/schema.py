"""The engagement platform's tables, as SQLAlchemy Core metadata.

Alembic revisions under ``migrations/versions`` create these tables; a test checks that a
migrated database and this metadata never drift apart. Every row carries its
``workspace_id`` so that tenant isolation is one ``WHERE`` clause everywhere, and every
uniqueness rule the backfill relies on for idempotence is a database constraint, not a
convention.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from shopify_backfill.profiles.types import ExactDecimal, JsonDocument, UtcDateTime

NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

Id = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit keys on PostgreSQL; SQLite only auto-increments ``INTEGER PRIMARY KEY``."""

PRODUCT_IDENTIFIERS: Final = ("product_id", "sku", "title")
SUBSCRIPTION_CHANNELS: Final = ("email", "sms")
SUBSCRIPTION_STATES: Final = ("subscribed", "unsubscribed")
QUARANTINE_OUTCOMES: Final = ("quarantined", "unattributable", "partial")
SIGHTING_KINDS: Final = ("customer", "guest")
SIGHTING_OUTCOMES: Final = ("created", "alias", "email", "phone")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("notification_emails", JsonDocument, nullable=False),
    Column("trigger_historical", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("data_point_allowance", BigInteger, nullable=True),
    # Data points the workspace may use (its plan's), shown next to the preview's
    # estimate; NULL: none set (revision 0010).
)

shop_connections = Table(
    "shop_connections",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("shop_domain", String(255), nullable=False),
    Column("granted_scopes", JsonDocument, nullable=False),
    Column("api_version", String(16), nullable=False),
    Column("api_base_url", Text, nullable=False),
    Column("connected_at", UtcDateTime, nullable=False),
    Column("access_token_encrypted", LargeBinary, nullable=True),
    Column("product_identifier", String(16), nullable=False, server_default="product_id"),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "shop_domain"),
    CheckConstraint(_in("product_identifier", PRODUCT_IDENTIFIERS), name="product_identifier"),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("external_id", String(255), nullable=True),
    Column("email", String(320), nullable=True),
    Column("phone", String(64), nullable=True),
    Column("first_name", Text, nullable=True),
    Column("last_name", Text, nullable=True),
    Column("home_city", Text, nullable=True),
    Column("country", String(2), nullable=True),
    Column("custom_attributes", JsonDocument, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("last_activity", UtcDateTime, nullable=True),
    Column("created_by_backfill", BigInteger, nullable=True),
    UniqueConstraint("workspace_id", "external_id"),
    Index("ix_users_workspace_email", "workspace_id", "email"),
    Index("ix_users_workspace_phone", "workspace_id", "phone"),
)

aliases = Table(
    "aliases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("label", String(64), nullable=False),
    Column("name", String(320), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "label", "name"),
    UniqueConstraint("user_id", "label"),
)

custom_events = Table(
    "custom_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("time", UtcDateTime, nullable=False),
    Column("properties", JsonDocument, nullable=False),
    Column("source", String(32), nullable=False),
    Column("historical", Boolean, nullable=False),
    Column("backfill_id", BigInteger, nullable=True),
    Column("dedup_key", String(128), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name", "dedup_key"),
    Index("ix_custom_events_user", "user_id", "time"),
)

purchases = Table(
    "purchases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("product_id", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("price", ExactDecimal, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("time", UtcDateTime, nullable=False),
    Column("properties", JsonDocument, nullable=False),
    Column("source", String(32), nullable=False),
    Column("historical", Boolean, nullable=False),
    Column("backfill_id", BigInteger, nullable=True),
    Column("dedup_key", String(128), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "dedup_key"),
    CheckConstraint("quantity >= 1", name="quantity_positive"),
    Index("ix_purchases_user", "user_id", "time"),
)

subscription_groups = Table(
    "subscription_groups",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column(
        "connection_id",
        Id,
        ForeignKey("shop_connections.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("channel", String(8), nullable=False),
    Column("name", Text, nullable=False),
    UniqueConstraint("connection_id", "channel"),
    CheckConstraint(_in("channel", SUBSCRIPTION_CHANNELS), name="channel"),
)

user_subscriptions = Table(
    "user_subscriptions",
    metadata,
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column(
        "group_id",
        Id,
        ForeignKey("subscription_groups.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("state", String(16), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("user_id", "group_id"),
    CheckConstraint(_in("state", SUBSCRIPTION_STATES), name="state"),
)

datapoint_ledger = Table(
    "datapoint_ledger",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("backfill_id", BigInteger, nullable=True),
    Column("category", String(32), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_datapoint_ledger_scope", "workspace_id", "backfill_id"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("backfill_id", BigInteger, nullable=True),
    Column("record_kind", String(16), nullable=False),
    Column("shopify_id", String(128), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("payload_excerpt", Text, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint(
        "workspace_id", "record_kind", "shopify_id", "outcome", "reason", name="uq_quarantine_entry"
    ),
    CheckConstraint(_in("outcome", QUARANTINE_OUTCOMES), name="outcome"),
)

backfill_sightings = Table(
    "backfill_sightings",
    metadata,
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("backfill_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("changed", Boolean, nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("workspace_id", "backfill_id", "kind", "subject"),
    CheckConstraint(_in("kind", SIGHTING_KINDS), name="kind"),
    CheckConstraint(_in("outcome", SIGHTING_OUTCOMES), name="outcome"),
)
"""Who a backfill met, once each: the report's customer and guest figures (revision 0005).

One row per Shopify customer (``subject`` = its numeric id) and per profile that guest
orders reached (``subject`` = the user id), written by ``load_batch`` in the batch's
transaction with ``ON CONFLICT``: the first sighting fixes ``outcome`` (``created``, or
how a profile that existed before the backfill was matched), later sightings can only
turn ``changed`` on. Commits and rollbacks with the batch, so crashes and resumes never
count anyone twice. No foreign key on ``backfill_id``: the risk audit's dry run loads
under a backfill id that may not exist yet (and is rolled back).
"""
