"""``GET /admin/api/{version}/shop.json``: the connection check every REST client runs.

Every documented Shop property is present, from the store's Shop document where it
holds the value (name, domains, email, currency, zone, plan, times) and otherwise a
plausible constant for a small shop in New York; properties Shopify documents as
nullable and the store cannot know are ``null``
(https://shopify.dev/docs/api/admin-rest/2026-07/resources/shop).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from starlette.requests import Request

from shopify_emulator.rest_params import parse_fields, select_fields
from shopify_emulator.rest_shapes import numeric_id, time

if TYPE_CHECKING:
    from shopify_emulator.runtime import EmulatorRuntime
    from shopify_emulator.tokens import Grant

PLAN_NAMES = {
    "Basic": "basic",
    "Grow": "professional",
    "Advanced": "unlimited",
    "Shopify Plus": "shopify_plus",
    "Commerce Components": "enterprise",
}
"""``Shop.plan.publicDisplayName`` -> REST ``plan_name`` (Shopify's internal names)."""


def _timezone_label(zone_name: str, at: datetime) -> str:
    """Shopify's ``timezone``: ``(GMT-05:00) America/New_York``."""
    offset = at.astimezone(ZoneInfo(zone_name)).strftime("%z")
    return f"(GMT{offset[:3]}:{offset[3:]}) {zone_name}"


def shop_json(runtime: EmulatorRuntime) -> dict[str, Any]:
    doc = runtime.store.shop_document()
    zone_name = str(doc.get("ianaTimezone") or runtime.store.timezone)
    zone = ZoneInfo(zone_name)
    plan = doc.get("plan") or {}
    display = str(plan.get("publicDisplayName") or "Basic")
    domain = str(doc.get("myshopifyDomain"))
    updated = datetime.fromisoformat(str(doc.get("updatedAt")).replace("Z", "+00:00"))
    currency = doc.get("currencyCode") or "USD"
    return {
        "id": numeric_id(doc.get("id")),
        "name": doc.get("name"),
        "email": doc.get("email"),
        "domain": domain,
        "province": "New York",
        "country": "US",
        "address1": "125 Kent Avenue",
        "zip": "11249",
        "city": "Brooklyn",
        "source": None,
        "phone": "+17185550100",
        "latitude": 40.7210,
        "longitude": -73.9620,
        "primary_locale": "en",
        "address2": None,
        "created_at": time(doc.get("createdAt"), zone),
        "updated_at": time(doc.get("updatedAt"), zone),
        "country_code": "US",
        "country_name": "United States",
        "currency": currency,
        "customer_email": doc.get("contactEmail"),
        "timezone": _timezone_label(zone_name, updated),
        "iana_timezone": zone_name,
        "shop_owner": doc.get("shopOwnerName"),
        "money_format": "${{amount}}",
        "money_with_currency_format": f"${{{{amount}}}} {currency}",
        "weight_unit": "kg" if doc.get("weightUnit") == "KILOGRAMS" else "lb",
        "province_code": "NY",
        "taxes_included": bool(doc.get("taxesIncluded")),
        "auto_configure_tax_inclusivity": None,
        "tax_shipping": doc.get("taxShipping"),
        "county_taxes": True,
        "plan_display_name": display,
        "plan_name": PLAN_NAMES.get(display, display.lower().replace(" ", "_")),
        "has_discounts": True,
        "has_gift_cards": False,
        "myshopify_domain": domain,
        "google_apps_domain": None,
        "google_apps_login_enabled": None,
        "money_in_emails_format": "${{amount}}",
        "money_with_currency_in_emails_format": f"${{{{amount}}}} {currency}",
        "eligible_for_payments": True,
        "requires_extra_payments_agreement": False,
        "password_enabled": False,
        "has_storefront": True,
        "finances": True,
        "primary_location_id": 10_000_000_000 + (numeric_id(doc.get("id")) or 0) % 10**9,
        "checkout_api_supported": bool(doc.get("checkoutApiSupported")),
        "multi_location_enabled": True,
        "setup_required": bool(doc.get("setupRequired")),
        "pre_launch_enabled": False,
        "enabled_presentment_currencies": list(doc.get("enabledPresentmentCurrencies") or []),
        "marketing_sms_consent_enabled_at_checkout": bool(
            doc.get("marketingSmsConsentEnabledAtCheckout")
        ),
        "transactional_sms_disabled": bool(doc.get("transactionalSmsDisabled")),
        "cookie_consent_level": "implicit",
    }


def shop_work(
    runtime: EmulatorRuntime, grant: Grant, request: Request
) -> tuple[dict[str, Any], list[str]]:
    """Any valid token may read the shop (no scope needed)."""
    fields = parse_fields(dict(request.query_params))
    return {"shop": select_fields(shop_json(runtime), fields)}, []
