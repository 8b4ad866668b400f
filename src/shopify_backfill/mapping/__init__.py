"""Pure mapping from typed Shopify records to profile intents (SPEC §3); no I/O here."""

from __future__ import annotations

from shopify_backfill.mapping.customers import map_customer
from shopify_backfill.mapping.datapoints import (
    event_points,
    order_points,
    property_points,
    purchase_points,
)
from shopify_backfill.mapping.intents import (
    ALIAS_CUSTOMER_ID,
    ALIAS_EMAIL,
    ALIAS_PHONE,
    ORDER_EVENT_NAME,
    CustomerIntent,
    EventIntent,
    GuestIntent,
    MappedRecord,
    MappingOptions,
    OrderIntent,
    ProductIdentifier,
    PurchaseIntent,
    Rejected,
    SkippedTestOrder,
    SubscriptionState,
    Unattributable,
)
from shopify_backfill.mapping.normalize import MappingError
from shopify_backfill.mapping.orders import map_order
from shopify_backfill.mapping.records import map_record, map_records

__all__ = [
    "ALIAS_CUSTOMER_ID",
    "ALIAS_EMAIL",
    "ALIAS_PHONE",
    "ORDER_EVENT_NAME",
    "CustomerIntent",
    "EventIntent",
    "GuestIntent",
    "MappedRecord",
    "MappingError",
    "MappingOptions",
    "OrderIntent",
    "ProductIdentifier",
    "PurchaseIntent",
    "Rejected",
    "SkippedTestOrder",
    "SubscriptionState",
    "Unattributable",
    "event_points",
    "map_customer",
    "map_order",
    "map_record",
    "map_records",
    "order_points",
    "property_points",
    "purchase_points",
]
