"""The backfill job's tables, on the profile store's ``metadata`` (revision 0002).

The uniqueness of ``(workspace_id, shop_domain)`` is what makes the backfill run once per
store ever: it survives a reconnect (the connection row is kept or recreated, the
backfill row stays). Progress, checkpoint and lease live on the backfill row so that a
batch's writes and its checkpoint commit together, and any process can read them.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
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
