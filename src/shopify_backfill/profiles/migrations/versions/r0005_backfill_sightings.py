"""Backfill sightings: each Shopify customer and guest profile a backfill met, once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopify_backfill.profiles.types import UtcDateTime

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "backfill_sightings",
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("backfill_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("changed", sa.Boolean(), nullable=False),
        sa.Column("first_seen_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('customer', 'guest')", name="ck_backfill_sightings_kind"),
        sa.CheckConstraint(
            "outcome IN ('created', 'alias', 'email', 'phone')",
            name="ck_backfill_sightings_outcome",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_backfill_sightings_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "backfill_id", "kind", "subject", name="pk_backfill_sightings"
        ),
    )


def downgrade() -> None:
    op.drop_table("backfill_sightings")
