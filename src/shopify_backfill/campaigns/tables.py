"""Campaign tables on the profile store's ``metadata`` (revision 0003).

``triggered_messages`` is the outbox: the engine records what it would send and never
sends anything itself. Its unique key ``(campaign_id, user_id, data_key)`` is what makes
triggering idempotent: the same piece of data can reach a user through a campaign once,
however often a batch is replayed. ``audit_fixes`` remembers what the risk audit
changed, with the previous values, so that exactly those changes can be undone after the
backfill.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from shopify_backfill.campaigns.model import DELIVERIES, KINDS, STATUSES, TRIGGER_TYPES
from shopify_backfill.profiles.schema import Id, metadata
from shopify_backfill.profiles.types import JsonDocument, UtcDateTime

FIX_ACTIONS: Final = ("paused", "moved_start")
FIX_RESOLUTIONS: Final = ("resumed", "restored", "kept", "changed_meanwhile")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("delivery", String(16), nullable=False),
    Column("start_at", UtcDateTime, nullable=True),
    Column("end_at", UtcDateTime, nullable=True),
    Column("trigger_type", String(40), nullable=True),
    Column("trigger_params", JsonDocument, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name"),
    CheckConstraint(_in("kind", KINDS), name="kind"),
    CheckConstraint(_in("status", STATUSES), name="status"),
    CheckConstraint(_in("delivery", DELIVERIES), name="delivery"),
    CheckConstraint(
        f"trigger_type IS NULL OR {_in('trigger_type', TRIGGER_TYPES)}", name="trigger_type"
    ),
)

triggered_messages = Table(
    "triggered_messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("campaign_id", Id, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("trigger_type", String(40), nullable=False),
    Column("data_kind", String(32), nullable=False),
    Column("data_key", String(64), nullable=False),
    Column("data", JsonDocument, nullable=False),
    Column("data_time", UtcDateTime, nullable=False),
    Column("historical", Boolean, nullable=False),
    Column("backfill_id", Id, nullable=True),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("campaign_id", "user_id", "data_key"),
    Index("ix_triggered_messages_workspace_user", "workspace_id", "user_id"),
)

audit_fixes = Table(
    "audit_fixes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column(
        "connection_id", Id, ForeignKey("shop_connections.id", ondelete="CASCADE"), nullable=False
    ),
    Column("campaign_id", Id, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("action", String(16), nullable=False),
    Column("previous_status", String(16), nullable=False),
    Column("previous_start_at", UtcDateTime, nullable=True),
    Column("new_start_at", UtcDateTime, nullable=True),
    Column("reason", Text, nullable=False),
    Column("applied_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolution", String(24), nullable=True),
    CheckConstraint(_in("action", FIX_ACTIONS), name="action"),
    CheckConstraint(
        f"resolution IS NULL OR {_in('resolution', FIX_RESOLUTIONS)}", name="resolution"
    ),
    Index("ix_audit_fixes_connection", "connection_id", "resolved_at"),
)
