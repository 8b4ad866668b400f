"""The Braze destination: credentials and mirror, the delivery ledger, Braze identifiers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shopify_backfill.profiles.types import UtcDateTime

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "braze_destinations",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("rest_endpoint", sa.String(length=255), nullable=False),
        sa.Column("api_key_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("max_objects", sa.Integer(), nullable=False),
        sa.Column("sms_group_id", sa.String(length=64), nullable=True),
        sa.Column("mirror_workspace_id", _id(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "max_objects BETWEEN 1 AND 75", name="ck_braze_destinations_max_objects"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_braze_destinations_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mirror_workspace_id"],
            ["workspaces.id"],
            name="fk_braze_destinations_mirror_workspace_id_workspaces",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_braze_destinations"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_braze_destinations_workspace_id_name"),
    )
    op.create_table(
        "braze_requests",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("destination_id", _id(), nullable=False),
        sa.Column("backfill_id", _id(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("attributes", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("purchases", sa.Integer(), nullable=False),
        sa.Column("errors", _json(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'uncertain', 'rejected')",
            name="ck_braze_requests_state",
        ),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["braze_destinations.id"],
            name="fk_braze_requests_destination_id_braze_destinations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_braze_requests"),
    )
    op.create_index(
        "ix_braze_requests_backfill_state", "braze_requests", ["backfill_id", "state", "id"]
    )
    op.create_table(
        "braze_profiles",
        sa.Column("user_id", _id(), nullable=False),
        sa.Column("destination_id", _id(), nullable=False),
        sa.Column("alias_label", sa.String(length=64), nullable=False),
        sa.Column("alias_name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_braze_profiles_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["braze_destinations.id"],
            name="fk_braze_profiles_destination_id_braze_destinations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_braze_profiles"),
    )
    # A plain column: SQLite can only add a reference inline, which neither SQLAlchemy
    # nor Alembic reflect with its name, and ``batch_alter_table`` would copy and drop
    # ``backfills`` (with foreign keys on, the drop cascades to every notification,
    # email and shard). A destination is never deleted while a backfill names it.
    op.add_column("backfills", sa.Column("braze_destination_id", _id(), nullable=True))


def downgrade() -> None:
    op.drop_column("backfills", "braze_destination_id")
    op.drop_table("braze_profiles")
    op.drop_index("ix_braze_requests_backfill_state", table_name="braze_requests")
    op.drop_table("braze_requests")
    op.drop_table("braze_destinations")
