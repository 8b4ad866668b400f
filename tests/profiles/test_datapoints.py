"""The data-point ledger against a hand-computed bill (SPEC §3.5)."""

from __future__ import annotations

from typing import Any

import msgspec

from conftest import Store
from shopify_backfill.profiles import datapoint_breakdown, datapoint_total, insert_profile
from shopify_backfill.shopify.records import Customer, Order


def records() -> list[Customer | Order]:
    new_customer: dict[str, Any] = {
        "id": "gid://shopify/Customer/1",
        "createdAt": "2026-05-01T00:00:00Z",
        "firstName": "Dee",
        "lastName": None,
        "defaultEmailAddress": {"emailAddress": "dp@example.com", "marketingState": "SUBSCRIBED"},
        "defaultAddress": {"city": "Oslo", "countryCodeV2": "NO"},
        "tags": ["a", "b"],
        "numberOfOrders": "2",
        "amountSpent": {"amount": "20.00", "currencyCode": "NOK"},
    }
    known_customer: dict[str, Any] = {
        "id": "gid://shopify/Customer/2",
        "createdAt": "2026-05-01T00:00:00Z",
        "firstName": "Old",
        "defaultEmailAddress": {"emailAddress": "old@example.com"},
        "defaultAddress": {"city": "Bergen", "countryCodeV2": None},
        "numberOfOrders": "0",
        "amountSpent": {"amount": "0.0", "currencyCode": "NOK"},
    }
    order: dict[str, Any] = {
        "id": "gid://shopify/Order/10",
        "createdAt": "2026-05-02T00:00:00Z",
        "name": "#10",
        "number": 10,
        "confirmed": True,
        "statusPageUrl": "https://shop.example/orders/10",
        "currencyCode": "NOK",
        "totalPriceSet": {"shopMoney": {"amount": "20.00", "currencyCode": "NOK"}},
        "totalDiscountsSet": {"shopMoney": {"amount": "0.00", "currencyCode": "NOK"}},
        "sourceName": "web",
        "customer": new_customer,
        "lineItems": [
            {
                "id": "gid://shopify/LineItem/100",
                "name": "Socks",
                "title": "Socks",
                "quantity": 150,
                "sku": "S",
                "vendor": "V",
                "product": {"id": "gid://shopify/Product/5"},
                "originalUnitPriceSet": {"shopMoney": {"amount": "0.10", "currencyCode": "NOK"}},
            }
        ],
    }
    return [
        msgspec.convert(new_customer, Customer),
        msgspec.convert(order, Order),
        msgspec.convert(known_customer, Customer),
    ]


def test_ledger_matches_the_hand_computed_bill_and_a_reload_costs_nothing(store: Store) -> None:
    with store.engine.begin() as conn:
        insert_profile(
            conn,
            store.workspace_id,
            external_id="crm-old",
            attributes={"email": "old@example.com", "first_name": "Old", "home_city": "Oslo"},
        )
    # Customer 1 (new profile), attributes that carry a value:
    #   email, first_name, home_city, country, shopify_order_count, shopify_total_spent,
    #   shopify_tags                                                               =  7
    #   (last_name is null: not written; subscription state and aliases are free)
    # Order 10, event shopify_created_order: 1
    #   + properties with a value: order_id, order_number, name, confirmed,
    #     order_status_url, total_price, total_discounts, currency, source_name,
    #     line_items                                                                = 10
    #   (cancelled_at null, tags null, discount_codes [], shipping [] cost nothing) -> 11
    #   The customer embedded in the order is the same as record 1: unchanged, free.
    # Line item quantity 150 -> purchases of 100 and 50, each 1
    #   + properties with a value: name, sku, vendor                                = 3
    #   (variant_id, variant_title null; properties {} empty)            -> 2 x 4 =  8
    # Customer 2 matches the existing profile by email: first_name "Old" unchanged
    #   (free), home_city Oslo -> Bergen (1), shopify_order_count (1),
    #   shopify_total_spent (1); country null never erases                         =  3
    expected = 7 + 11 + 8 + 3  # = 29
    first = store.load(records())
    assert first.counts.data_points == expected == 29
    assert first.data_points_by_category == {
        "attributes": 10,
        "events": 1,
        "event_properties": 10,
        "purchases": 2,
        "purchase_properties": 6,
    }
    with store.engine.connect() as conn:
        assert datapoint_total(conn, store.workspace_id) == 29
        assert datapoint_total(conn, store.workspace_id, backfill_id=1) == 29
        assert datapoint_breakdown(conn, store.workspace_id)["event_properties"] == 10

    second = store.load(records())
    assert second.counts.data_points == 0
    assert second.changes == []
    with store.engine.connect() as conn:
        assert datapoint_total(conn, store.workspace_id) == 29


def test_ledger_is_kept_per_backfill_and_per_workspace(store: Store) -> None:
    store.load(records()[:1], backfill_id=7)
    changed = msgspec.convert(
        {
            "id": "gid://shopify/Customer/1",
            "createdAt": "2026-05-01T00:00:00Z",
            "firstName": "Deirdre",
        },
        Customer,
    )
    live = store.load([changed], backfill_id=None)
    assert live.counts.data_points == 1  # first_name changed; counters are backfill-only
    with store.engine.connect() as conn:
        assert datapoint_total(conn, store.workspace_id, backfill_id=7) == 7
        assert datapoint_total(conn, store.workspace_id) == 8
