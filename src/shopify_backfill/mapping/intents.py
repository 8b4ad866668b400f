"""What mapping produces: profile writes ("intents") that the store then resolves and applies.

Intents are plain immutable values, free of database ids: the same Shopify payload
always maps to the same intents, which is what makes golden tests and idempotent loading
possible. Identity (which profile) is decided later, by ``profiles.identity``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal

SubscriptionState = Literal["subscribed", "unsubscribed"]
ProductIdentifier = Literal["product_id", "sku", "title"]
RecordKind = Literal["customer", "order"]
AttributeValue = str | int | Decimal

ORDER_EVENT_NAME: Final = "shopify_created_order"
ALIAS_CUSTOMER_ID: Final = "shopify_customer_id"
ALIAS_EMAIL: Final = "shopify_email"
ALIAS_PHONE: Final = "shopify_phone"

STANDARD_ATTRIBUTES: Final = ("email", "first_name", "last_name", "phone", "home_city", "country")
ATTR_ORDER_COUNT: Final = "shopify_order_count"
ATTR_TOTAL_SPENT: Final = "shopify_total_spent"
ATTR_TAGS: Final = "shopify_tags"
CUSTOM_ATTRIBUTES: Final = (ATTR_ORDER_COUNT, ATTR_TOTAL_SPENT, ATTR_TAGS)


@dataclass(frozen=True, slots=True)
class MappingOptions:
    """Per-connection choices that change what a record maps to."""

    product_identifier: ProductIdentifier = "product_id"
    backfill_counters: bool = True
    """Write ``shopify_order_count``/``shopify_total_spent`` (SPEC §3.2: backfill only)."""


@dataclass(frozen=True, slots=True)
class CustomerIntent:
    """One Shopify customer: identity keys, attributes to set, consent for new profiles."""

    shopify_customer_id: str
    email: str | None
    phone_e164: str | None
    attributes: Mapping[str, AttributeValue]
    email_subscription: SubscriptionState | None
    sms_subscription: SubscriptionState | None
    time: datetime | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GuestIntent:
    """The identity an order without a customer carries: its email and phone."""

    email: str | None
    phone_e164: str | None
    attributes: Mapping[str, AttributeValue]


@dataclass(frozen=True, slots=True)
class EventIntent:
    name: str
    dedup_key: str
    time: datetime
    properties: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PurchaseIntent:
    dedup_key: str
    product_id: str
    currency: str
    price: Decimal
    quantity: int
    time: datetime
    properties: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """An importable order: who it belongs to, its event and its purchases."""

    shopify_order_id: str
    customer: CustomerIntent | None
    guest: GuestIntent | None
    event: EventIntent
    purchases: tuple[PurchaseIntent, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SkippedTestOrder:
    shopify_order_id: str


@dataclass(frozen=True, slots=True)
class Unattributable:
    """An order with no customer and no usable email or phone: not imported (SPEC §3.1)."""

    shopify_order_id: str
    reason: str
    excerpt: str = ""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that cannot be mapped faithfully; quarantined with its reason.

    ``customer`` keeps a rejected order's own customer importable: the customer is a
    separate Shopify object and nothing about it was wrong.
    """

    record_kind: RecordKind
    shopify_id: str
    reason: str
    excerpt: str = ""
    customer: CustomerIntent | None = None


MappedRecord = CustomerIntent | OrderIntent | SkippedTestOrder | Unattributable | Rejected


@dataclass(slots=True)
class Notes:
    """Collects the non-fatal notes of one record while it is mapped."""

    items: list[str] = field(default_factory=list)

    def add(self, note: str | None) -> None:
        if note is not None:
            self.items.append(note)
