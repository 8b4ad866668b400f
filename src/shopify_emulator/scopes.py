"""The authenticated access scopes Shopify knows, so the emulator grants what an app asks for.

A client that needs ``read_inventory`` or ``read_draft_orders`` has to be testable against
the emulator, so OAuth grants any scope Shopify itself knows (and the merchant's store
allows, ``EmulatorConfig.grantable_scopes``), and refuses one Shopify does not know the
way Shopify does: an ``invalid_scope`` error page instead of a silent drop.

The list is Shopify's published table of authenticated scopes
(https://shopify.dev/docs/api/usage/access-scopes) as of the 2026-07 API; a test checks
that every scope the shipped 2026-07 schema mentions is in it. Most resources come as a
``read_``/``write_`` pair (``write_`` implies ``read_``); a few exist only as one of them.
"""

from __future__ import annotations

from collections.abc import Iterable

_READ_WRITE_RESOURCES: tuple[str, ...] = (
    "assigned_fulfillment_orders",
    "assigned_shipping",
    "cart_transforms",
    "cash_tracking",
    "channels",
    "checkout_branding_settings",
    "companies",
    "content",
    "custom_fulfillment_services",
    "custom_pixels",
    "customer_merge",
    "customers",
    "delivery_customizations",
    "discounts",
    "discovery",
    "draft_orders",
    "files",
    "fulfillment_constraint_rules",
    "fulfillments",
    "gates",
    "gift_card_transactions",
    "gift_cards",
    "inventory",
    "inventory_shipments",
    "inventory_shipments_received_items",
    "inventory_transfers",
    "legal_policies",
    "locales",
    "locations",
    "marketing_events",
    "marketplace_fulfillment_orders",
    "marketplace_orders",
    "marketplace_returns",
    "markets",
    "merchant_managed_fulfillment_orders",
    "metaobject_definitions",
    "metaobjects",
    "online_store_navigation",
    "online_store_pages",
    "order_edits",
    "orders",
    "own_subscription_contracts",
    "packing_slip_templates",
    "payment_customizations",
    "payment_terms",
    "pixels",
    "price_rules",
    "privacy_settings",
    "product_feeds",
    "product_listings",
    "products",
    "publications",
    "purchase_options",
    "reports",
    "resource_feedbacks",
    "returns",
    "script_tags",
    "shipping",
    "shopify_payments_accounts",
    "shopify_payments_bank_accounts",
    "shopify_payments_disputes",
    "shopify_payments_payouts",
    "store_credit_accounts",
    "taxes",
    "themes",
    "third_party_fulfillment_orders",
    "translations",
    "validations",
)

_READ_ONLY: tuple[str, ...] = (
    "read_all_cart_transforms",
    "read_all_orders",
    "read_audit_events",
    "read_buyer_membership_orders",
    "read_customer_events",
    "read_customer_payment_methods",
    "read_financial_kyc_information",
    "read_shopify_credit",
    "read_users",
)

_WRITE_ONLY: tuple[str, ...] = (
    "write_customer_data_erasure",
    "write_store_credit_account_transactions",
)

KNOWN_SCOPES: tuple[str, ...] = tuple(
    sorted(
        {
            *(f"read_{resource}" for resource in _READ_WRITE_RESOURCES),
            *(f"write_{resource}" for resource in _READ_WRITE_RESOURCES),
            *_READ_ONLY,
            *_WRITE_ONLY,
        }
    )
)
"""Every authenticated scope an app may request, sorted."""

_KNOWN = frozenset(KNOWN_SCOPES)


def unknown_scopes(names: Iterable[str]) -> list[str]:
    """The names Shopify would not recognise as authenticated access scopes, in order."""
    return [name for name in names if name not in _KNOWN]


__all__ = ["KNOWN_SCOPES", "unknown_scopes"]
