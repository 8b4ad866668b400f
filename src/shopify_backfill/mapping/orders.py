"""Shopify order -> the ``shopify_created_order`` event and its purchases (SPEC §3.4).

Everything money-like stays ``Decimal`` end to end. An order whose amounts, quantities
or identifiers are malformed is rejected as a whole (a half-imported order would report
a wrong revenue); its customer, a separate object, is still imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Final

from shopify_backfill.mapping.bounds import PRODUCT_ID_TEXT, bounded, bounded_properties
from shopify_backfill.mapping.customers import excerpt, join_tags, map_customer
from shopify_backfill.mapping.intents import (
    ORDER_EVENT_NAME,
    CustomerIntent,
    EventIntent,
    GuestIntent,
    MappedRecord,
    MappingOptions,
    Notes,
    OrderIntent,
    PurchaseIntent,
    Rejected,
    SkippedTestOrder,
    Unattributable,
)
from shopify_backfill.mapping.normalize import (
    MappingError,
    clean_text,
    gid_number,
    normalize_email,
    normalize_phone,
    numeric_shopify_id,
    parse_currency,
    parse_money,
    parse_time,
    plain_amount,
)
from shopify_backfill.shopify.records import (
    Customer,
    LineItem,
    MailingAddress,
    MoneyBag,
    Order,
    Ref,
)

CustomerMapper = Callable[[Customer, MappingOptions], CustomerIntent]
"""``map_customer`` or a memo of it (``mapping.records.map_records`` shares one per batch)."""

MAX_PURCHASE_QUANTITY: Final = 100
"""Purchases above this quantity are split (SPEC §3.4)."""

MAX_LINE_ITEM_QUANTITY: Final = 100_000
"""Above this a quantity is treated as corrupt: it would fan out into 1,000+ purchases."""

ADDRESS_PROPERTIES: Final = (
    "address1",
    "address2",
    "city",
    "country",
    "first_name",
    "last_name",
    "province",
    "zip",
)


def map_order(
    order: Order, options: MappingOptions, customers: CustomerMapper = map_customer
) -> MappedRecord:
    """Classify and map one order: skipped test, unattributable, rejected or importable."""
    order_key = display_id(order.id)
    if order.test:
        return SkippedTestOrder(order_key)
    customer: CustomerIntent | None = None
    if order.customer is not None:
        try:
            customer = customers(order.customer, options)
        except MappingError as error:
            return Rejected("order", order_key, f"customer: {error}", excerpt(order))
    notes = Notes()
    try:
        event, purchases = _event_and_purchases(order, options, notes)
    except MappingError as error:
        return Rejected("order", order_key, str(error), excerpt(order), customer)
    if customer is not None:
        return OrderIntent(order_key, customer, None, event, purchases, tuple(notes.items))

    region = _address_country(order.shipping_address) or _address_country(order.billing_address)
    email = normalize_email(order.email)
    notes.add(email.note)
    phone = normalize_phone(order.phone, region)
    notes.add(phone.note)
    if email.value is None and phone.e164 is None:
        reason = "guest order without a usable email or phone"
        if notes.items:
            reason += " (" + "; ".join(notes.items) + ")"
        return Unattributable(order_key, reason, excerpt(order))
    attributes = {
        name: value
        for name, value in (("email", email.value), ("phone", phone.attribute))
        if value is not None
    }
    guest = GuestIntent(email.value, phone.e164, attributes)
    return OrderIntent(order_key, None, guest, event, purchases, tuple(notes.items))


def display_id(gid: str) -> str:
    """The numeric tail of an order gid, the id merchants see; the gid if it has none."""
    tail = gid.rsplit("/", 1)[-1]
    return tail if tail.isascii() and tail.isdigit() else gid


def _address_country(address: MailingAddress | None) -> str | None:
    return address.country_code_v2 if address is not None else None


def _event_and_purchases(
    order: Order, options: MappingOptions, notes: Notes
) -> tuple[EventIntent, tuple[PurchaseIntent, ...]]:
    order_id = numeric_shopify_id(order.id, "order id")
    time = parse_time(order.created_at, "order createdAt")
    currency_raw = order.currency_code or (
        order.total_price_set.shop_money.currency_code if order.total_price_set else None
    )
    currency = parse_currency(currency_raw, "order currency")
    if order.cancelled_at is not None:
        parse_time(order.cancelled_at, "order cancelledAt")

    line_items: list[dict[str, Any]] = []
    purchases: list[PurchaseIntent] = []
    for item in order.line_items:
        entry, item_purchases = _line_item(order_id, item, currency, time, options, notes)
        line_items.append(entry)
        purchases.extend(item_purchases)

    properties: dict[str, Any] = {
        "order_id": order_id,
        "order_number": order.number,
        "name": order.name,
        "confirmed": order.confirmed,
        "order_status_url": order.status_page_url,
        "cancelled_at": order.cancelled_at,
        "total_price": _money_or_none(order.total_price_set, "order totalPrice"),
        "total_discounts": _money_or_none(order.total_discounts_set, "order totalDiscounts"),
        "currency": currency,
        "tags": join_tags(order.tags),
        "discount_codes": [code for code in order.discount_codes if code],
        "source_name": order.source_name,
        "line_items": line_items,
        "shipping": [
            {
                "title": line.title,
                "price": _money_or_none(line.original_price_set, "shipping line price"),
            }
            for line in order.shipping_lines
        ],
    }
    for key, address in (
        ("shipping_address", order.shipping_address),
        ("billing_address", order.billing_address),
    ):
        if address is not None:
            properties[key] = {name: getattr(address, name) for name in ADDRESS_PROPERTIES}
    properties = bounded_properties(properties, "order", notes.items)
    event = EventIntent(ORDER_EVENT_NAME, str(order_id), time, properties)
    return event, tuple(purchases)


def _line_item(
    order_id: int,
    item: LineItem,
    currency: str,
    time: Any,
    options: MappingOptions,
    notes: Notes,
) -> tuple[dict[str, Any], list[PurchaseIntent]]:
    item_id = numeric_shopify_id(item.id, "line item id")
    quantity = item.quantity
    if quantity < 1 or quantity > MAX_LINE_ITEM_QUANTITY:
        raise MappingError(
            f"line item {item_id} has an impossible quantity {quantity} "
            f"(expected 1..{MAX_LINE_ITEM_QUANTITY})"
        )
    unit_price = item.original_unit_price_set
    if unit_price is None:
        raise MappingError(f"line item {item_id} has no unit price")
    price = plain_amount(unit_price.shop_money.amount)
    if price is None:
        price = parse_money(unit_price.shop_money.amount, f"line item {item_id} unit price")
    product_id = _reference_number(item.product, item_id, "product")
    variant_id = _reference_number(item.variant, item_id, "variant")
    custom = {attribute.key: attribute.value for attribute in item.custom_attributes}
    sku, title, variant_title, vendor, name = (
        item.sku,
        item.title,
        item.variant_title,
        item.vendor,
        item.name,
    )
    entry = {
        "product_id": product_id,
        "variant_id": variant_id,
        "quantity": quantity,
        "sku": sku,
        "title": title,
        "variant_title": variant_title,
        "vendor": vendor,
        "name": name,
        "price": price,
        "properties": custom,
    }
    identifier = purchase_product_id(item, product_id, options)
    if identifier is None:
        raise MappingError(
            f"line item {item_id} has no product, sku or title to identify the purchase"
        )
    identifier = bounded(
        identifier, PRODUCT_ID_TEXT, f"line item {item_id} product id", notes.items
    )
    purchase_properties = bounded_properties(
        {
            "name": name,
            "sku": sku,
            "variant_id": variant_id,
            "variant_title": variant_title,
            "vendor": vendor,
            "properties": custom,
        },
        f"line item {item_id} purchase",
        notes.items,
    )
    key = f"{order_id}:{item_id}:"
    parts = (quantity,) if quantity <= MAX_PURCHASE_QUANTITY else tuple(split_quantity(quantity))
    purchases = [
        PurchaseIntent(
            dedup_key=f"{key}{index}",
            product_id=identifier,
            currency=currency,
            price=price,
            quantity=part,
            time=time,
            properties=purchase_properties,
        )
        for index, part in enumerate(parts)
    ]
    return entry, purchases


def _reference_number(reference: Ref | None, item_id: int, kind: str) -> int | None:
    """A line item's product or variant id; the cached parse first, since the same
    products recur on every order, and the full check (and its error) when that fails."""
    if reference is None:
        return None
    number = gid_number(reference.id) if reference.id else None
    if number is None:
        return numeric_shopify_id(reference.id, f"line item {item_id} {kind} id")
    return number


def purchase_product_id(
    item: LineItem, product_id: int | None, options: MappingOptions
) -> str | None:
    """The connection's chosen identifier, falling back to product id, then sku, then title."""
    for name in (options.product_identifier, "product_id", "sku", "title"):
        if name == "product_id":
            if product_id is not None:
                return str(product_id)
        else:
            value = clean_text(item.sku if name == "sku" else item.title)
            if value:
                return value
    return None


def split_quantity(quantity: int) -> Iterator[int]:
    """250 -> 100, 100, 50: purchases carry at most ``MAX_PURCHASE_QUANTITY`` units."""
    full, rest = divmod(quantity, MAX_PURCHASE_QUANTITY)
    yield from [MAX_PURCHASE_QUANTITY] * full
    if rest:
        yield rest


def _money_or_none(bag: MoneyBag | None, what: str) -> Decimal | None:
    if bag is None:
        return None
    return parse_money(bag.shop_money.amount, what)
