"""Shopify customer -> profile intent (SPEC §3.1-3.3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

import msgspec

from shopify_backfill.mapping.bounds import NAME_TEXT, TAGS_TEXT, bounded
from shopify_backfill.mapping.intents import (
    ATTR_ORDER_COUNT,
    ATTR_TAGS,
    ATTR_TOTAL_SPENT,
    AttributeValue,
    CustomerIntent,
    MappingOptions,
    Notes,
    SubscriptionState,
)
from shopify_backfill.mapping.normalize import (
    MappingError,
    clean_text,
    normalize_country,
    normalize_email,
    normalize_phone,
    parse_count,
    parse_money,
    parse_time,
)
from shopify_backfill.shopify.records import Customer, numeric_id

T = TypeVar("T")

EXCERPT_LIMIT: Final = 500
TAG_SEPARATOR: Final = ", "
"""Shopify's own REST representation of tag lists."""

CONSENT_STATES: Final[dict[str, SubscriptionState | None]] = {
    "SUBSCRIBED": "subscribed",
    "UNSUBSCRIBED": "unsubscribed",
    "PENDING": "unsubscribed",
    "INVALID": "unsubscribed",
    "REDACTED": "unsubscribed",
    "NOT_SUBSCRIBED": None,
}
"""SPEC §3.3 consent table; a state missing here is unknown and sets nothing."""


def excerpt(record: msgspec.Struct) -> str:
    """The start of a record's JSON, for the quarantine report."""
    text = msgspec.json.encode(record).decode("utf-8")
    return text if len(text) <= EXCERPT_LIMIT else text[: EXCERPT_LIMIT - 1] + "…"


def consent_state(
    marketing_state: str | None, channel: str, notes: Notes
) -> SubscriptionState | None:
    """Map a Shopify marketing state; absent or ``NOT_SUBSCRIBED`` sets nothing."""
    if marketing_state is None:
        return None
    if marketing_state not in CONSENT_STATES:
        notes.add(f"unknown {channel} marketing state {marketing_state!r}; not set")
        return None
    return CONSENT_STATES[marketing_state]


def join_tags(tags: list[str]) -> str | None:
    """Tags as one comma-separated string; no tags is ``None`` (never erases)."""
    cleaned = [tag for tag in (clean_text(raw) for raw in tags) if tag]
    return TAG_SEPARATOR.join(cleaned) or None


def map_customer(customer: Customer, options: MappingOptions) -> CustomerIntent:
    """Attributes, identity keys and consent of one customer.

    Values that are empty or invalid are left out, so they never erase what a profile
    already holds; each dropped value leaves a note. Only the customer id is required.
    """
    notes = Notes()
    customer_id = numeric_id(customer.id)
    if not customer_id.isascii() or not customer_id.isdigit():
        raise MappingError(f"customer id {customer.id!r} is not a Shopify global id")
    address = customer.default_address
    country = normalize_country(address.country_code_v2 if address else None)
    notes.add(country.note)
    email_address = customer.default_email_address
    email = normalize_email(email_address.email_address if email_address else None)
    notes.add(email.note)
    phone_number = customer.default_phone_number
    phone = normalize_phone(phone_number.phone_number if phone_number else None, country.value)
    notes.add(phone.note)

    cuts = notes.items
    attributes: dict[str, AttributeValue | None] = {
        "email": email.value,
        "first_name": bounded(clean_text(customer.first_name), NAME_TEXT, "first_name", cuts),
        "last_name": bounded(clean_text(customer.last_name), NAME_TEXT, "last_name", cuts),
        "phone": phone.attribute,
        "home_city": bounded(clean_text(address.city), NAME_TEXT, "home_city", cuts)
        if address
        else None,
        "country": country.value,
    }
    if options.backfill_counters:
        attributes[ATTR_ORDER_COUNT] = _optional(
            lambda: parse_count(customer.number_of_orders, "numberOfOrders"),
            customer.number_of_orders,
            notes,
        )
        spent = customer.amount_spent
        attributes[ATTR_TOTAL_SPENT] = _optional(
            lambda: parse_money(spent.amount if spent else None, "amountSpent"),
            spent,
            notes,
        )
    attributes[ATTR_TAGS] = bounded(join_tags(customer.tags), TAGS_TEXT, ATTR_TAGS, cuts)

    time = None
    for stamp, what in ((customer.updated_at, "updatedAt"), (customer.created_at, "createdAt")):
        if stamp is not None:
            try:
                time = parse_time(stamp, what)
                break
            except MappingError as error:
                notes.add(str(error))

    return CustomerIntent(
        shopify_customer_id=customer_id,
        email=email.value,
        phone_e164=phone.e164,
        attributes={name: value for name, value in attributes.items() if value is not None},
        email_subscription=consent_state(
            email_address.marketing_state if email_address else None, "email", notes
        ),
        sms_subscription=consent_state(
            customer.sms_marketing_consent.marketing_state
            if customer.sms_marketing_consent
            else None,
            "SMS",
            notes,
        ),
        time=time,
        notes=tuple(notes.items),
    )


def _optional(parse: Callable[[], T], raw: object, notes: Notes) -> T | None:
    if raw is None:
        return None
    try:
        return parse()
    except MappingError as error:
        notes.add(f"{error}; attribute not set")
        return None
