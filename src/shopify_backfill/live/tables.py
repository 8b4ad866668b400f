"""The live-sync table, on the profile store's ``metadata`` (revision 0008).

``webhook_deliveries`` holds each verified delivery once, keyed by Shopify's
``X-Shopify-Webhook-Id`` per shop: Shopify retries a delivery it did not see answered
with the same id, so a second insert of that key is a repeat and is dropped. The raw
body is kept until the delivery is processed (mapped into the shop's workspaces), then
it is cleared: the profile store is where the data lives, not this queue.

``live_versions`` keeps, per shop and Shopify object, the ``updated_at`` of the newest
payload applied: Shopify does not deliver in order, and an older payload arriving after
a newer one must not put old values back.

``privacy_requests`` is the audit of the privacy topics acted on (``privacy``): what was
asked, when, and what was removed, by count; never an email or a phone.

``live_sync_state`` holds each shop's reconciled point: reconciliation has read every
change up to it (``reconcile``).
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from shopify_backfill.profiles.schema import Id, metadata
from shopify_backfill.profiles.types import JsonDocument, UtcDateTime

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

live_versions = Table(
    "live_versions",
    metadata,
    Column("shop_domain", String(255), nullable=False),
    Column("object_id", String(255), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("shop_domain", "object_id"),
)

live_sync_state = Table(
    "live_sync_state",
    metadata,
    Column("shop_domain", String(255), primary_key=True),
    Column("reconciled_through", UtcDateTime, nullable=False),
)

privacy_requests = Table(
    "privacy_requests",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_domain", String(255), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("shopify_customer_id", String(32), nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("summary", JsonDocument, nullable=False),
)
