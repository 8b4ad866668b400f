"""The backfill job: one row per (workspace, shop), its lease and checkpoint, dashboard
notifications and the email outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-07-15
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shopify_backfill.profiles.types import UtcDateTime

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=f"fk_{table}_workspace_id_workspaces",
        ondelete="CASCADE",
    )


def _backfill_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["backfill_id"],
        ["backfills.id"],
        name=f"fk_{table}_backfill_id_backfills",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "backfills",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("connection_id", _id(), nullable=True),
        sa.Column("shop_domain", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("window_start", UtcDateTime(), nullable=False),
        sa.Column("window_end", UtcDateTime(), nullable=False),
        sa.Column("extraction_mode", sa.String(length=16), nullable=True),
        sa.Column("checkpoint", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("progress", _json(), nullable=False),
        sa.Column("counts", _json(), nullable=False),
        sa.Column("report", _json(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('not_started', 'in_progress', 'completed', 'failed')",
            name="ck_backfills_status",
        ),
        sa.CheckConstraint(
            "extraction_mode IS NULL OR extraction_mode IN ('bulk', 'paginated')",
            name="ck_backfills_extraction_mode",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["shop_connections.id"],
            name="fk_backfills_connection_id_shop_connections",
            ondelete="SET NULL",
        ),
        _workspace_fk("backfills"),
        sa.PrimaryKeyConstraint("id", name="pk_backfills"),
        sa.UniqueConstraint(
            "workspace_id", "shop_domain", name="uq_backfills_workspace_id_shop_domain"
        ),
    )
    op.create_table(
        "notifications",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("backfill_id", _id(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("read_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint("level IN ('info', 'success', 'error')", name="ck_notifications_level"),
        _backfill_fk("notifications"),
        _workspace_fk("notifications"),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
    )
    op.create_index("ix_notifications_workspace_read", "notifications", ["workspace_id", "read_at"])
    op.create_table(
        "email_outbox",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("backfill_id", _id(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipients", _json(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_to", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'written', 'failed', 'no_recipients')",
            name="ck_email_outbox_status",
        ),
        _backfill_fk("email_outbox"),
        _workspace_fk("email_outbox"),
        sa.PrimaryKeyConstraint("id", name="pk_email_outbox"),
    )
    op.create_index("ix_email_outbox_status", "email_outbox", ["status"])


def downgrade() -> None:
    op.drop_index("ix_email_outbox_status", table_name="email_outbox")
    op.drop_table("email_outbox")
    op.drop_index("ix_notifications_workspace_read", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("backfills")
