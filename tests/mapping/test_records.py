"""Pure mapping of customers and orders (SPEC §3), record by record."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from shopify_backfill.mapping import (
    CustomerIntent,
    MappingOptions,
    OrderIntent,
    Rejected,
    SkippedTestOrder,
    Unattributable,
    map_customer,
    map_order,
    map_record,
    order_points,
)
from shopify_backfill.mapping.datapoints import carries_value, property_points
from shopify_backfill.mapping.orders import split_quantity
from shopify_backfill.shopify.records import Customer, Order

OPTIONS = MappingOptions()

EVENT_PROPERTIES = [
    "order_id",
    "order_number",
    "name",
    "confirmed",
    "order_status_url",
    "cancelled_at",
    "total_price",
    "total_discounts",
    "currency",
    "tags",
    "discount_codes",
    "source_name",
    "line_items",
    "shipping",
]
LINE_ITEM_PROPERTIES = [
    "product_id",
    "variant_id",
    "quantity",
    "sku",
    "title",
    "variant_title",
    "vendor",
    "name",
    "price",
    "properties",
]


def customer(**fields: Any) -> Customer:
    payload = {"id": "gid://shopify/Customer/1", "createdAt": "2026-05-01T00:00:00Z", **fields}
    return msgspec.convert(payload, Customer)


def item(number: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/LineItem/{number}",
        "title": "Thing",
        "quantity": 1,
        "product": {"id": "gid://shopify/Product/7"},
        "originalUnitPriceSet": {"shopMoney": {"amount": "2.50", "currencyCode": "CAD"}},
        **fields,
    }


def order(**fields: Any) -> Order:
    payload = {
        "id": "gid://shopify/Order/5",
        "createdAt": "2026-05-02T00:00:00Z",
        "currencyCode": "CAD",
        "email": "guest@example.com",
        "lineItems": [item()],
        **fields,
    }
    return msgspec.convert(payload, Order)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("SUBSCRIBED", "subscribed"),
        ("UNSUBSCRIBED", "unsubscribed"),
        ("PENDING", "unsubscribed"),
        ("INVALID", "unsubscribed"),
        ("REDACTED", "unsubscribed"),
        ("NOT_SUBSCRIBED", None),
        (None, None),
    ],
)
def test_consent_table(state: str | None, expected: str | None) -> None:
    mapped = map_customer(
        customer(
            defaultEmailAddress={"emailAddress": "a@example.com", "marketingState": state},
            smsMarketingConsent={"marketingState": state} if state else None,
        ),
        OPTIONS,
    )
    assert mapped.email_subscription == expected
    assert mapped.sms_subscription == expected


def test_unknown_consent_state_sets_nothing_and_notes_it() -> None:
    mapped = map_customer(customer(smsMarketingConsent={"marketingState": "MAYBE"}), OPTIONS)
    assert mapped.sms_subscription is None
    assert any("MAYBE" in note for note in mapped.notes)


def test_customer_attributes_leave_out_empty_values() -> None:
    mapped = map_customer(
        customer(
            firstName="  ",
            lastName="Lee",
            tags=["a", " ", "b"],
            numberOfOrders="4",
            amountSpent={"amount": "10.50", "currencyCode": "CAD"},
        ),
        OPTIONS,
    )
    assert mapped.attributes == {
        "last_name": "Lee",
        "shopify_order_count": 4,
        "shopify_total_spent": Decimal("10.50"),
        "shopify_tags": "a, b",
    }
    assert isinstance(mapped.attributes["shopify_total_spent"], Decimal)


def test_backfill_counters_are_optional() -> None:
    mapped = map_customer(
        customer(numberOfOrders="4", amountSpent={"amount": "1.0", "currencyCode": "CAD"}),
        MappingOptions(backfill_counters=False),
    )
    assert mapped.attributes == {}


def test_malformed_customer_id_is_rejected_not_raised() -> None:
    result = map_record(customer(id="gid://shopify/Customer/abc"), OPTIONS)
    assert isinstance(result, Rejected) and "global id" in result.reason


@pytest.mark.parametrize(
    ("quantity", "parts"),
    [(1, [1]), (99, [99]), (100, [100]), (101, [100, 1]), (250, [100, 100, 50]), (300, [100] * 3)],
)
def test_quantities_split_at_100(quantity: int, parts: list[int]) -> None:
    assert list(split_quantity(quantity)) == parts
    mapped = map_order(order(lineItems=[item(quantity=quantity)]), OPTIONS)
    assert isinstance(mapped, OrderIntent)
    assert [p.quantity for p in mapped.purchases] == parts
    assert [p.dedup_key for p in mapped.purchases] == [f"5:1:{i}" for i in range(len(parts))]


@pytest.mark.parametrize(
    ("option", "fields", "expected"),
    [
        ("product_id", {"sku": "S-1", "title": "T"}, "7"),
        ("product_id", {"product": None, "sku": "S-1", "title": "T"}, "S-1"),
        ("product_id", {"product": None, "sku": None, "title": "T"}, "T"),
        ("sku", {"sku": "S-1", "title": "T"}, "S-1"),
        ("sku", {"sku": None, "title": "T"}, "7"),
        ("title", {"sku": "S-1", "title": "T"}, "T"),
    ],
)
def test_purchase_product_identifier(option: Any, fields: dict[str, Any], expected: str) -> None:
    mapped = map_order(order(lineItems=[item(**fields)]), MappingOptions(product_identifier=option))
    assert isinstance(mapped, OrderIntent)
    assert mapped.purchases[0].product_id == expected


def test_event_has_the_exact_property_list_and_exact_money() -> None:
    mapped = map_order(
        order(
            totalPriceSet={"shopMoney": {"amount": "5.00", "currencyCode": "CAD"}},
            lineItems=[item(customAttributes=[{"key": "gift", "value": "yes"}])],
            shippingLines=[
                {
                    "title": "Post",
                    "originalPriceSet": {"shopMoney": {"amount": "1.10", "currencyCode": "CAD"}},
                }
            ],
        ),
        OPTIONS,
    )
    assert isinstance(mapped, OrderIntent)
    event = mapped.event
    assert (event.name, event.dedup_key) == ("shopify_created_order", "5")
    assert list(event.properties) == EVENT_PROPERTIES  # no addresses: none were given
    assert list(event.properties["line_items"][0]) == LINE_ITEM_PROPERTIES
    assert event.properties["total_price"] == Decimal("5.00")
    assert str(event.properties["shipping"][0]["price"]) == "1.10"
    purchase = mapped.purchases[0]
    assert purchase.price == Decimal("2.50") and isinstance(purchase.price, Decimal)
    assert list(purchase.properties) == [
        "name",
        "sku",
        "variant_id",
        "variant_title",
        "vendor",
        "properties",
    ]
    assert purchase.properties["properties"] == {"gift": "yes"}


def test_addresses_appear_only_when_present() -> None:
    address = {"address1": "1 Main", "city": "Ottawa", "countryCodeV2": "CA", "phone": "x"}
    mapped = map_order(order(shippingAddress=address), OPTIONS)
    assert isinstance(mapped, OrderIntent)
    assert mapped.event.properties["shipping_address"] == {
        "address1": "1 Main",
        "address2": None,
        "city": "Ottawa",
        "country": None,
        "first_name": None,
        "last_name": None,
        "province": None,
        "zip": None,
    }
    assert "billing_address" not in mapped.event.properties


def test_test_orders_are_skipped() -> None:
    assert map_order(order(test=True), OPTIONS) == SkippedTestOrder("5")


def test_guest_order_identity_and_unattributable() -> None:
    mapped = map_order(order(email=" Guest@Example.com", phone="+16135550100"), OPTIONS)
    assert isinstance(mapped, OrderIntent) and mapped.guest is not None
    assert (mapped.guest.email, mapped.guest.phone_e164) == ("guest@example.com", "+16135550100")
    nobody = map_order(order(email="nope", phone=None), OPTIONS)
    assert isinstance(nobody, Unattributable)
    assert "invalid email 'nope'" in nobody.reason


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"lineItems": [item(quantity=0)]}, "impossible quantity 0"),
        ({"lineItems": [item(quantity=1_000_000)]}, "impossible quantity 1000000"),
        ({"lineItems": [item(originalUnitPriceSet=None)]}, "has no unit price"),
        (
            {
                "lineItems": [
                    item(
                        originalUnitPriceSet={"shopMoney": {"amount": "-2", "currencyCode": "CAD"}}
                    )
                ]
            },
            "is negative",
        ),
        ({"lineItems": [item(product=None, sku=None, title=" ")]}, "no product, sku or title"),
        ({"currencyCode": "cad"}, "not a three-letter currency code"),
        ({"createdAt": "2026-13-01T00:00:00Z"}, "not an ISO 8601 timestamp"),
        ({"id": "gid://shopify/Order/x"}, "not a Shopify global id"),
    ],
)
def test_malformed_orders_are_rejected_with_a_reason(fields: dict[str, Any], reason: str) -> None:
    result = map_order(order(**fields), OPTIONS)
    assert isinstance(result, Rejected)
    assert reason in result.reason
    assert result.excerpt.startswith("{")


def test_a_rejected_order_keeps_its_customer() -> None:
    buyer = {
        "id": "gid://shopify/Customer/3",
        "createdAt": "2026-05-01T00:00:00Z",
        "firstName": "Al",
    }
    result = map_order(order(customer=buyer, lineItems=[item(quantity=-1)]), OPTIONS)
    assert isinstance(result, Rejected)
    assert isinstance(result.customer, CustomerIntent)
    assert result.customer.attributes["first_name"] == "Al"


def test_property_points_count_only_values() -> None:
    assert [carries_value(v) for v in (None, "", [], {}, 0, False, "x", [1])] == [
        False,
        False,
        False,
        False,
        True,
        True,
        True,
        True,
    ]
    assert property_points({"a": None, "b": 0, "c": "", "d": "x"}) == 2
    mapped = map_order(order(lineItems=[item(quantity=150, sku="S")]), OPTIONS)
    assert isinstance(mapped, OrderIntent)
    # event: 1 + order_id, currency, line_items = 4; purchases: 2 x (1 + sku) = 4
    assert order_points(mapped) == 8
