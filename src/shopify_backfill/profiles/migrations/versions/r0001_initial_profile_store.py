"""Initial profile store: workspaces, connections, users, aliases, events, purchases,
subscriptions, the data-point ledger and the quarantine.

Revision ID: 0001
Revises:
Create Date: 2026-07-14
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shopify_backfill.profiles.types import ExactDecimal, UtcDateTime

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=f"fk_{table}_workspace_id_workspaces",
        ondelete="CASCADE",
    )


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=f"fk_{table}_user_id_users", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("notification_emails", _json(), nullable=False),
        sa.Column(
            "trigger_historical", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        _pk("workspaces"),
    )
    op.create_table(
        "datapoint_ledger",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("backfill_id", sa.BigInteger(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        _workspace_fk("datapoint_ledger"),
        _pk("datapoint_ledger"),
    )
    op.create_index(
        "ix_datapoint_ledger_scope", "datapoint_ledger", ["workspace_id", "backfill_id"]
    )
    op.create_table(
        "quarantine",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("backfill_id", sa.BigInteger(), nullable=True),
        sa.Column("record_kind", sa.String(length=16), nullable=False),
        sa.Column("shopify_id", sa.String(length=128), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("payload_excerpt", sa.Text(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('quarantined', 'unattributable', 'partial')", name="ck_quarantine_outcome"
        ),
        _workspace_fk("quarantine"),
        _pk("quarantine"),
        sa.UniqueConstraint(
            "workspace_id",
            "record_kind",
            "shopify_id",
            "outcome",
            "reason",
            name="uq_quarantine_entry",
        ),
    )
    op.create_table(
        "shop_connections",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("shop_domain", sa.String(length=255), nullable=False),
        sa.Column("granted_scopes", _json(), nullable=False),
        sa.Column("api_version", sa.String(length=16), nullable=False),
        sa.Column("api_base_url", sa.Text(), nullable=False),
        sa.Column("connected_at", UtcDateTime(), nullable=False),
        sa.Column("access_token_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column(
            "product_identifier", sa.String(length=16), server_default="product_id", nullable=False
        ),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "product_identifier IN ('product_id', 'sku', 'title')",
            name="ck_shop_connections_product_identifier",
        ),
        _workspace_fk("shop_connections"),
        _pk("shop_connections"),
        sa.UniqueConstraint(
            "workspace_id", "shop_domain", name="uq_shop_connections_workspace_id_shop_domain"
        ),
    )
    op.create_table(
        "users",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("home_city", sa.Text(), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("custom_attributes", _json(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("last_activity", UtcDateTime(), nullable=True),
        sa.Column("created_by_backfill", sa.BigInteger(), nullable=True),
        _workspace_fk("users"),
        _pk("users"),
        sa.UniqueConstraint(
            "workspace_id", "external_id", name="uq_users_workspace_id_external_id"
        ),
    )
    op.create_index("ix_users_workspace_email", "users", ["workspace_id", "email"])
    op.create_index("ix_users_workspace_phone", "users", ["workspace_id", "phone"])
    op.create_table(
        "aliases",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("user_id", _id(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=320), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        _user_fk("aliases"),
        _workspace_fk("aliases"),
        _pk("aliases"),
        sa.UniqueConstraint("user_id", "label", name="uq_aliases_user_id_label"),
        sa.UniqueConstraint(
            "workspace_id", "label", "name", name="uq_aliases_workspace_id_label_name"
        ),
    )
    op.create_table(
        "custom_events",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("user_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("time", UtcDateTime(), nullable=False),
        sa.Column("properties", _json(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("historical", sa.Boolean(), nullable=False),
        sa.Column("backfill_id", sa.BigInteger(), nullable=True),
        sa.Column("dedup_key", sa.String(length=128), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        _user_fk("custom_events"),
        _workspace_fk("custom_events"),
        _pk("custom_events"),
        sa.UniqueConstraint(
            "workspace_id",
            "name",
            "dedup_key",
            name="uq_custom_events_workspace_id_name_dedup_key",
        ),
    )
    op.create_index("ix_custom_events_user", "custom_events", ["user_id", "time"])
    op.create_table(
        "purchases",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("user_id", _id(), nullable=False),
        sa.Column("product_id", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price", ExactDecimal(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("time", UtcDateTime(), nullable=False),
        sa.Column("properties", _json(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("historical", sa.Boolean(), nullable=False),
        sa.Column("backfill_id", sa.BigInteger(), nullable=True),
        sa.Column("dedup_key", sa.String(length=128), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("quantity >= 1", name="ck_purchases_quantity_positive"),
        _user_fk("purchases"),
        _workspace_fk("purchases"),
        _pk("purchases"),
        sa.UniqueConstraint(
            "workspace_id", "dedup_key", name="uq_purchases_workspace_id_dedup_key"
        ),
    )
    op.create_index("ix_purchases_user", "purchases", ["user_id", "time"])
    op.create_table(
        "subscription_groups",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("connection_id", _id(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="ck_subscription_groups_channel"),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["shop_connections.id"],
            name="fk_subscription_groups_connection_id_shop_connections",
            ondelete="CASCADE",
        ),
        _workspace_fk("subscription_groups"),
        _pk("subscription_groups"),
        sa.UniqueConstraint(
            "connection_id", "channel", name="uq_subscription_groups_connection_id_channel"
        ),
    )
    op.create_table(
        "user_subscriptions",
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("user_id", _id(), nullable=False),
        sa.Column("group_id", _id(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "state IN ('subscribed', 'unsubscribed')", name="ck_user_subscriptions_state"
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["subscription_groups.id"],
            name="fk_user_subscriptions_group_id_subscription_groups",
            ondelete="CASCADE",
        ),
        _user_fk("user_subscriptions"),
        _workspace_fk("user_subscriptions"),
        sa.PrimaryKeyConstraint("user_id", "group_id", name="pk_user_subscriptions"),
    )


def downgrade() -> None:
    for table in (
        "user_subscriptions",
        "subscription_groups",
        "purchases",
        "custom_events",
        "aliases",
        "users",
        "shop_connections",
        "quarantine",
        "datapoint_ledger",
        "workspaces",
    ):
        op.drop_table(table)
