"""What a load actually changed, for the campaign trigger engine and the report.

Only real changes appear here: re-loading identical data yields an empty list. Every
change carries the time of the data it came from (an order's ``createdAt`` for events
and purchases; the customer's ``updatedAt`` for attributes and subscriptions, or the
load time when Shopify gave none) and whether it is historical (backfilled).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from shopify_backfill.mapping.intents import AttributeValue, SubscriptionState

Channel = Literal["email", "sms"]


@dataclass(frozen=True, slots=True)
class AttributeChanged:
    kind: ClassVar[Literal["attribute_changed"]] = "attribute_changed"
    user_id: int
    name: str
    old: AttributeValue | None
    new: AttributeValue
    custom: bool
    time: datetime
    historical: bool


@dataclass(frozen=True, slots=True)
class EmailAdded:
    """The profile's email became ``email`` (it had none, or another one)."""

    kind: ClassVar[Literal["email_added"]] = "email_added"
    user_id: int
    email: str
    time: datetime
    historical: bool


@dataclass(frozen=True, slots=True)
class EventAdded:
    kind: ClassVar[Literal["event_added"]] = "event_added"
    user_id: int
    name: str
    dedup_key: str
    properties: Mapping[str, Any]
    time: datetime
    historical: bool


@dataclass(frozen=True, slots=True)
class PurchaseAdded:
    kind: ClassVar[Literal["purchase_added"]] = "purchase_added"
    user_id: int
    product_id: str
    currency: str
    price: Decimal
    quantity: int
    dedup_key: str
    properties: Mapping[str, Any]
    time: datetime
    historical: bool


@dataclass(frozen=True, slots=True)
class SubscriptionChanged:
    kind: ClassVar[Literal["subscription_changed"]] = "subscription_changed"
    user_id: int
    group_id: int
    channel: Channel
    old_state: SubscriptionState | None
    state: SubscriptionState
    time: datetime
    historical: bool


Change = AttributeChanged | EmailAdded | EventAdded | PurchaseAdded | SubscriptionChanged
