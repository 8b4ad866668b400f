"""Shopify records for the campaign tests, shaped like the Admin API's."""

from __future__ import annotations

from typing import Any

import msgspec

from shopify_backfill.shopify.records import Customer, Order


def customer(number: int, **fields: Any) -> Customer:
    payload: dict[str, Any] = {
        "id": f"gid://shopify/Customer/{number}",
        "createdAt": "2026-05-01T00:00:00Z",
        "updatedAt": "2026-06-01T00:00:00Z",
        "defaultEmailAddress": {
            "emailAddress": f"buyer{number}@example.com",
            "marketingState": "SUBSCRIBED",
        },
        "smsMarketingConsent": {"marketingState": "UNSUBSCRIBED"},
        "defaultPhoneNumber": {"phoneNumber": f"+1613555{number:04d}"},
        "tags": ["vip"],
        "numberOfOrders": "2",
        "amountSpent": {"amount": "20.00", "currencyCode": "CAD"},
    }
    payload.update(fields)
    return msgspec.convert(payload, Customer)


def order(number: int, customer_number: int, created_at: str, **fields: Any) -> Order:
    payload: dict[str, Any] = {
        "id": f"gid://shopify/Order/{number}",
        "name": f"#{number}",
        "createdAt": created_at,
        "currencyCode": "CAD",
        "customer": msgspec.to_builtins(customer(customer_number)),
        "lineItems": [
            {
                "id": f"gid://shopify/LineItem/{number}0",
                "title": "Thing",
                "quantity": 1,
                "product": {"id": "gid://shopify/Product/7"},
                "originalUnitPriceSet": {"shopMoney": {"amount": "10.00", "currencyCode": "CAD"}},
            }
        ],
    }
    payload.update(fields)
    return msgspec.convert(payload, Order)
