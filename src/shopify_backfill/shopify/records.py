"""Typed Shopify records: the one shape extraction produces and mapping consumes.

Field names are the Admin API's (camelCase on the wire, snake_case here); the structs
decode straight from response bytes with msgspec, so the hot path never builds
intermediate dicts. Optional fields default to ``None`` because Shopify omits or nulls
them freely (guest orders, customers without email, addresses without a country).

Orders are assembled: ``line_items`` and ``shipping_lines`` hold every child, whether
they came from a paginated nested connection or from bulk JSONL lines re-attached by
``__parentId``.
"""

from __future__ import annotations

import msgspec


class _Record(
    msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=False, gc=False
):
    """Base: camelCase wire names, unknown fields ignored (the API grows).

    ``gc=False``: a decoded record is a tree (no reference cycles), and tracking hundreds
    of thousands of them made the collector's full passes take 2.3 of decode's 3.0 s at
    45,000 orders (bench/profile_backfill.py); untracked, they are freed by reference
    counting as before."""


class Money(_Record):
    amount: str
    currency_code: str


class MoneyBag(_Record):
    shop_money: Money
    presentment_money: Money | None = None


class Ref(_Record):
    """A bare reference to another object, as in ``product { id }``."""

    id: str


class MailingAddress(_Record):
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    country: str | None = None
    country_code_v2: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    province: str | None = None
    province_code: str | None = None
    zip: str | None = None
    phone: str | None = None


class EmailAddress(_Record):
    email_address: str
    marketing_state: str | None = None


class PhoneNumber(_Record):
    phone_number: str


class SmsConsent(_Record):
    marketing_state: str


class Customer(_Record):
    id: str
    created_at: str
    updated_at: str | None = None
    legacy_resource_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    default_email_address: EmailAddress | None = None
    default_phone_number: PhoneNumber | None = None
    sms_marketing_consent: SmsConsent | None = None
    default_address: MailingAddress | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    number_of_orders: str | None = None
    amount_spent: Money | None = None


class Attribute(_Record):
    key: str
    value: str | None = None


class LineItem(_Record):
    id: str
    name: str | None = None
    title: str | None = None
    quantity: int = 0
    sku: str | None = None
    variant_title: str | None = None
    vendor: str | None = None
    product: Ref | None = None
    variant: Ref | None = None
    original_unit_price_set: MoneyBag | None = None
    custom_attributes: list[Attribute] = msgspec.field(default_factory=list)


class ShippingLine(_Record):
    title: str | None = None
    original_price_set: MoneyBag | None = None


class Order(_Record):
    id: str
    created_at: str
    name: str | None = None
    number: int | None = None
    legacy_resource_id: str | None = None
    updated_at: str | None = None
    confirmed: bool | None = None
    cancelled_at: str | None = None
    test: bool = False
    email: str | None = None
    phone: str | None = None
    currency_code: str | None = None
    total_price_set: MoneyBag | None = None
    total_discounts_set: MoneyBag | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    discount_codes: list[str] = msgspec.field(default_factory=list)
    source_name: str | None = None
    status_page_url: str | None = None
    customer: Customer | None = None
    shipping_address: MailingAddress | None = None
    billing_address: MailingAddress | None = None
    line_items: list[LineItem] = msgspec.field(default_factory=list)
    shipping_lines: list[ShippingLine] = msgspec.field(default_factory=list)


class ShopPlan(_Record):
    partner_development: bool | None = None
    shopify_plus: bool | None = None


class Shop(_Record):
    id: str
    name: str
    myshopify_domain: str
    currency_code: str | None = None
    iana_timezone: str | None = None
    plan: ShopPlan | None = None


class ShopData(_Record):
    """``data`` of ``SHOP_QUERY``."""

    shop: Shop


def numeric_id(gid: str) -> str:
    """``gid://shopify/Order/123`` -> ``"123"``; Shopify ids exceed 2**53, so keep text."""
    return gid.rsplit("/", 1)[-1]


class UnreadableRecord(msgspec.Struct, frozen=True):
    """A bulk result line that is JSON but not the shape its type promises.

    Shopify's bulk files are one object per line; one wrong-typed field (a number where a
    string belongs) must not fail the other million lines. The extractor hands such a
    record on in place of the typed one, and the mapping quarantines it with ``reason``
    and a bounded ``excerpt`` of the raw line, like any other record it cannot map.
    """

    kind: str  # "customer" or "order"
    id: str
    reason: str
    excerpt: str


SourceRecord = Customer | Order | UnreadableRecord
"""What extraction yields and the destinations take."""
