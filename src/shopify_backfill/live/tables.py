"""The live-sync table, on the profile store's ``metadata`` (revision 0008).

``webhook_deliveries`` holds each verified delivery once, keyed by Shopify's
``X-Shopify-Webhook-Id`` per shop: Shopify retries a delivery it did not see answered
with the same id, so a second insert of that key is a repeat and is dropped. The raw
body is kept until the delivery is processed (mapped into the shop's workspaces), then
it is cleared: the profile store is where the data lives, not this queue.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from shopify_backfill.profiles.schema import Id, metadata
from shopify_backfill.profiles.types import UtcDateTime

DELIVERY_STATES = ("pending", "processed", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_domain", String(255), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("webhook_id", String(255), nullable=False),
    Column("event_id", String(255), nullable=True),
    Column("api_version", String(16), nullable=True),
    Column("triggered_at", UtcDateTime, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("body", LargeBinary, nullable=True),
    Column("processed_at", UtcDateTime, nullable=True),
    Column("error", Text, nullable=True),
    UniqueConstraint("shop_domain", "webhook_id"),
    CheckConstraint(_in("state", DELIVERY_STATES), name="state"),
    Index("ix_webhook_deliveries_state", "state", "id"),
)
