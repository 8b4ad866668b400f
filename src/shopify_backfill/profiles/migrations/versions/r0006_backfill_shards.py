"""Sharded backfills: the shards many workers share and the records they stage.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shopify_backfill.profiles.types import UtcDateTime

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "backfill_shards",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("backfill_id", _id(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("slice_start", UtcDateTime(), nullable=True),
        sa.Column("slice_end", UtcDateTime(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("expected", sa.Integer(), nullable=True),
        sa.Column("done", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=True),
        sa.Column("counts", _json(), nullable=False),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("stage IN ('extract', 'load')", name="ck_backfill_shards_stage"),
        sa.CheckConstraint(
            "state IN ('pending', 'queued', 'running', 'done', 'failed')",
            name="ck_backfill_shards_state",
        ),
        sa.ForeignKeyConstraint(
            ["backfill_id"],
            ["backfills.id"],
            name="fk_backfill_shards_backfill_id_backfills",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_backfill_shards"),
        sa.UniqueConstraint(
            "backfill_id",
            "stage",
            "kind",
            "position",
            name="uq_backfill_shards_backfill_id_stage_kind_position",
        ),
    )
    op.create_table(
        "shard_records",
        sa.Column("backfill_id", _id(), nullable=False),
        sa.Column("shard_id", _id(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind_rank", sa.SmallInteger(), nullable=False),
        sa.Column("sort_time", sa.String(length=40), nullable=False),
        sa.Column("num_id", sa.BigInteger(), nullable=False),
        sa.Column("record_type", sa.String(length=16), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("identity_keys", sa.Text(), nullable=False),
        sa.Column("load_shard", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["backfill_id"],
            ["backfills.id"],
            name="fk_shard_records_backfill_id_backfills",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shard_id"],
            ["backfill_shards.id"],
            name="fk_shard_records_shard_id_backfill_shards",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("backfill_id", "shard_id", "seq", name="pk_shard_records"),
    )
    op.create_index(
        "ix_shard_records_load",
        "shard_records",
        ["backfill_id", "load_shard", "kind_rank", "sort_time", "num_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_shard_records_load", table_name="shard_records")
    op.drop_table("shard_records")
    op.drop_table("backfill_shards")
