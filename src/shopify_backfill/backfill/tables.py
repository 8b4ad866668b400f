"""The backfill job's tables, on the profile store's ``metadata`` (revision 0002).

The uniqueness of ``(workspace_id, shop_domain)`` is what makes the backfill run once per
store ever: it survives a reconnect (the connection row is kept or recreated, the
backfill row stays). Progress, checkpoint and lease live on the backfill row so that a
batch's writes and its checkpoint commit together, and any process can read them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from shopify_backfill.backfill.states import STATUSES
from shopify_backfill.profiles.schema import Id, metadata
from shopify_backfill.profiles.types import JsonDocument, UtcDateTime
from shopify_backfill.shopify.extract import EXTRACTION_MODES

NOTIFICATION_LEVELS = ("info", "success", "error")
EMAIL_STATUSES = ("pending", "sent", "written", "failed", "no_recipients")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


backfills = Table(
    "backfills",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column(
        "connection_id", Id, ForeignKey("shop_connections.id", ondelete="SET NULL"), nullable=True
    ),
    Column("shop_domain", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("window_start", UtcDateTime, nullable=False),
    Column("window_end", UtcDateTime, nullable=False),
    Column("extraction_mode", String(16), nullable=True),
    Column("checkpoint", Text, nullable=True),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("failure_reason", Text, nullable=True),
    Column("progress", JsonDocument, nullable=False),
    Column("counts", JsonDocument, nullable=False),
    Column("report", JsonDocument, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("braze_destination_id", Id, nullable=True),
    UniqueConstraint("workspace_id", "shop_domain"),
    CheckConstraint(_in("status", STATUSES), name="status"),
    CheckConstraint(
        f"extraction_mode IS NULL OR {_in('extraction_mode', EXTRACTION_MODES)}",
        name="extraction_mode",
    ),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("backfill_id", Id, ForeignKey("backfills.id", ondelete="CASCADE"), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("level", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime, nullable=True),
    CheckConstraint(_in("level", NOTIFICATION_LEVELS), name="level"),
    Index("ix_notifications_workspace_read", "workspace_id", "read_at"),
)

email_outbox = Table(
    "email_outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("backfill_id", Id, ForeignKey("backfills.id", ondelete="CASCADE"), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("recipients", JsonDocument, nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, nullable=True),
    Column("delivered_to", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    CheckConstraint(_in("status", EMAIL_STATUSES), name="status"),
    Index("ix_email_outbox_status", "status"),
)

SHARD_STAGES = ("extract", "load")
SHARD_STATES = ("pending", "queued", "running", "done", "failed")

backfill_shards = Table(
    "backfill_shards",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("backfill_id", Id, ForeignKey("backfills.id", ondelete="CASCADE"), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("position", Integer, nullable=False),
    Column("slice_start", UtcDateTime, nullable=True),
    Column("slice_end", UtcDateTime, nullable=True),
    Column("state", String(16), nullable=False),
    Column("expected", Integer, nullable=True),
    Column("done", Integer, nullable=False, server_default=text("0")),
    Column("checkpoint", Text, nullable=True),
    Column("counts", JsonDocument, nullable=False),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("failure_reason", Text, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("backfill_id", "stage", "kind", "position"),
    CheckConstraint(_in("stage", SHARD_STAGES), name="stage"),
    CheckConstraint(_in("state", SHARD_STATES), name="state"),
)
"""One shard of a backfill run by many workers: an extraction slice of one stream
(``kind`` customers or orders, ``[slice_start, slice_end)``) or a load partition
(``kind`` "records"). Each has its own lease and checkpoint, committed with its writes."""

shard_records = Table(
    "shard_records",
    metadata,
    Column("backfill_id", Id, ForeignKey("backfills.id", ondelete="CASCADE"), nullable=False),
    Column("shard_id", Id, ForeignKey("backfill_shards.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("kind_rank", SmallInteger, nullable=False),
    Column("sort_time", String(40), nullable=False),
    Column("num_id", BigInteger, nullable=False),
    Column("record_type", String(16), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("identity_keys", Text, nullable=False),
    Column("load_shard", Integer, nullable=True),
    PrimaryKeyConstraint("backfill_id", "shard_id", "seq"),
    Index("ix_shard_records_load", "backfill_id", "load_shard", "kind_rank", "sort_time", "num_id"),
)
"""Extracted records of a sharded backfill, in the database every worker shares (no local
file crosses machines). ``identity_keys`` feeds the partition; ``load_shard`` is set by it."""
