"""Campaigns and Canvases, the triggered-message outbox and the risk audit's fixes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-07-15
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shopify_backfill.profiles.types import UtcDateTime

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

TRIGGER_TYPES = (
    "'change_custom_attribute_value', 'perform_conversion_event', 'perform_exception_event', "
    "'update_subscription_status', 'update_subscription_group_status', 'add_email_address', "
    "'make_purchase', 'perform_custom_event'"
)


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("delivery", sa.String(length=16), nullable=False),
        sa.Column("start_at", UtcDateTime(), nullable=True),
        sa.Column("end_at", UtcDateTime(), nullable=True),
        sa.Column("trigger_type", sa.String(length=40), nullable=True),
        sa.Column("trigger_params", _json(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('campaign', 'canvas')", name="ck_campaigns_kind"),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'paused', 'stopped')", name="ck_campaigns_status"
        ),
        sa.CheckConstraint(
            "delivery IN ('action_based', 'scheduled', 'api_triggered')",
            name="ck_campaigns_delivery",
        ),
        sa.CheckConstraint(
            f"trigger_type IS NULL OR trigger_type IN ({TRIGGER_TYPES})",
            name="ck_campaigns_trigger_type",
        ),
        _fk("campaigns", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_campaigns_workspace_id_name"),
    )
    op.create_table(
        "triggered_messages",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("campaign_id", _id(), nullable=False),
        sa.Column("user_id", _id(), nullable=False),
        sa.Column("trigger_type", sa.String(length=40), nullable=False),
        sa.Column("data_kind", sa.String(length=32), nullable=False),
        sa.Column("data_key", sa.String(length=64), nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.Column("data_time", UtcDateTime(), nullable=False),
        sa.Column("historical", sa.Boolean(), nullable=False),
        sa.Column("backfill_id", _id(), nullable=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        _fk("triggered_messages", "workspace_id", "workspaces"),
        _fk("triggered_messages", "campaign_id", "campaigns"),
        _fk("triggered_messages", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name="pk_triggered_messages"),
        sa.UniqueConstraint(
            "campaign_id",
            "user_id",
            "data_key",
            name="uq_triggered_messages_campaign_id_user_id_data_key",
        ),
    )
    op.create_index(
        "ix_triggered_messages_workspace_user",
        "triggered_messages",
        ["workspace_id", "user_id"],
    )
    op.create_table(
        "audit_fixes",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("connection_id", _id(), nullable=False),
        sa.Column("campaign_id", _id(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("previous_status", sa.String(length=16), nullable=False),
        sa.Column("previous_start_at", UtcDateTime(), nullable=True),
        sa.Column("new_start_at", UtcDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("applied_at", UtcDateTime(), nullable=False),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.Column("resolution", sa.String(length=24), nullable=True),
        sa.CheckConstraint("action IN ('paused', 'moved_start')", name="ck_audit_fixes_action"),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN "
            "('resumed', 'restored', 'kept', 'changed_meanwhile')",
            name="ck_audit_fixes_resolution",
        ),
        _fk("audit_fixes", "workspace_id", "workspaces"),
        _fk("audit_fixes", "connection_id", "shop_connections"),
        _fk("audit_fixes", "campaign_id", "campaigns"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_fixes"),
    )
    op.create_index("ix_audit_fixes_connection", "audit_fixes", ["connection_id", "resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_audit_fixes_connection", table_name="audit_fixes")
    op.drop_table("audit_fixes")
    op.drop_index("ix_triggered_messages_workspace_user", table_name="triggered_messages")
    op.drop_table("triggered_messages")
    op.drop_table("campaigns")
