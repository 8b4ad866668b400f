"""Live sync: the webhook deliveries Shopify sent (recorded once each), the newest version
applied per Shopify object, each shop's reconciled point, the audit of privacy requests.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shopify_backfill.profiles.types import UtcDateTime

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("shop_domain", sa.String(length=255), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("webhook_id", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("api_version", sa.String(length=16), nullable=True),
        sa.Column("triggered_at", UtcDateTime(), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("processed_at", UtcDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'processed', 'failed')", name="ck_webhook_deliveries_state"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.UniqueConstraint(
            "shop_domain", "webhook_id", name="uq_webhook_deliveries_shop_domain_webhook_id"
        ),
    )
    op.create_index("ix_webhook_deliveries_state", "webhook_deliveries", ["state", "id"])
    op.create_table(
        "live_versions",
        sa.Column("shop_domain", sa.String(length=255), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("shop_domain", "object_id", name="pk_live_versions"),
    )
    op.create_table(
        "live_sync_state",
        sa.Column("shop_domain", sa.String(length=255), nullable=False),
        sa.Column("reconciled_through", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("shop_domain", name="pk_live_sync_state"),
    )
    op.create_table(
        "privacy_requests",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("shop_domain", sa.String(length=255), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("shopify_customer_id", sa.String(length=32), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("summary", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_privacy_requests"),
    )


def downgrade() -> None:
    op.drop_table("privacy_requests")
    op.drop_table("live_sync_state")
    op.drop_table("live_versions")
    op.drop_index("ix_webhook_deliveries_state", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
