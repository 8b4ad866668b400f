"""GraphQL-shaped store documents rendered as REST Admin JSON.

REST spells the same data differently: snake_case keys, numeric ids next to
``admin_graphql_api_id``, money as decimal strings plus ``*_set`` bags with
``shop_money``/``presentment_money``, lower-case enum words, timestamps in the shop's
zone. Every function here takes the GraphQL shape (an executor result or a stored
document) so REST and GraphQL never disagree about a value; history objects come from
``history.py`` in GraphQL shape too.

Field lists: https://shopify.dev/docs/api/admin-rest/2026-07/resources/order,
https://shopify.dev/docs/api/admin-rest/2026-07/resources/customer,
https://shopify.dev/docs/api/admin-rest/2026-07/resources/customer-address,
https://shopify.dev/docs/api/admin-rest/2026-07/resources/fulfillment,
https://shopify.dev/docs/api/admin-rest/2026-07/resources/refund,
https://shopify.dev/docs/api/admin-rest/2026-07/resources/transaction.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from shopify_emulator.history import History

# --------------------------------------------------------------------------- GraphQL side

ADDRESS = (
    "id address1 address2 city company province provinceCode country countryCodeV2 zip phone "
    "firstName lastName name latitude longitude"
)
CUSTOMER = f"""
  id legacyResourceId createdAt updatedAt firstName lastName state tags numberOfOrders note
  verifiedEmail taxExempt taxExemptions multipassIdentifier
  amountSpent {{ amount currencyCode }}
  lastOrder {{ id name }}
  defaultEmailAddress {{ emailAddress marketingState marketingOptInLevel marketingUpdatedAt }}
  defaultPhoneNumber {{ phoneNumber marketingState marketingOptInLevel marketingUpdatedAt
    marketingCollectedFrom }}
  defaultAddress {{ {ADDRESS} }}
  addresses {{ {ADDRESS} }}
"""
MONEY = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"
ORDER = f"""
  id legacyResourceId name number createdAt updatedAt processedAt closedAt cancelledAt
  cancelReason confirmed test email phone currencyCode presentmentCurrencyCode tags
  discountCodes sourceName sourceIdentifier statusPageUrl note customerLocale
  customerAcceptsMarketing paymentGatewayNames taxesIncluded confirmationNumber
  displayFinancialStatus displayFulfillmentStatus
  customAttributes {{ key value }}
  totalPriceSet {{ {MONEY} }}
  subtotalPriceSet {{ {MONEY} }}
  totalDiscountsSet {{ {MONEY} }}
  totalTaxSet {{ {MONEY} }}
  totalShippingPriceSet {{ {MONEY} }}
  totalRefundedSet {{ {MONEY} }}
  totalOutstandingSet {{ {MONEY} }}
  currentTotalPriceSet {{ {MONEY} }}
  currentSubtotalPriceSet {{ {MONEY} }}
  currentTotalTaxSet {{ {MONEY} }}
  currentTotalDiscountsSet {{ {MONEY} }}
  customer {{ {CUSTOMER} }}
  shippingAddress {{ {ADDRESS} }}
  billingAddress {{ {ADDRESS} }}
  shippingLines(first: 250) {{ nodes {{
    id title code source carrierIdentifier phone
    originalPriceSet {{ {MONEY} }} discountedPriceSet {{ {MONEY} }}
  }} }}
"""
"""Line items are read from the store, not this selection: GraphQL pages stop at 250,
REST's ``line_items`` array does not."""


# --------------------------------------------------------------------------- scalars


def time(value: Any, zone: ZoneInfo) -> str | None:
    if not isinstance(value, str):
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(zone).isoformat()


def numeric_id(gid: Any) -> int | None:
    """``gid://shopify/Order/5?x=y`` -> 5."""
    if not isinstance(gid, str) or not gid:
        return None
    tail = gid.rsplit("/", 1)[-1].split("?", 1)[0]
    return int(tail) if tail.isdigit() else None


def _decimal(bag: Any, side: str = "shopMoney") -> Decimal:
    if not isinstance(bag, dict) or not isinstance(bag.get(side), dict):
        return Decimal(0)
    return Decimal(str(bag[side].get("amount") or "0"))


def price(bag: Any, side: str = "shopMoney") -> str:
    """REST's money string: two decimals (``"55.00"``; JPY ``"1500"`` stays whole)."""
    amount = _decimal(bag, side)
    return f"{amount:.2f}"


def price_set(bag: Any) -> dict[str, Any]:
    def one(side: str) -> dict[str, Any]:
        value = bag.get(side) if isinstance(bag, dict) else None
        currency = value.get("currencyCode") if isinstance(value, dict) else None
        return {"amount": price(bag, side), "currency_code": currency}

    return {"shop_money": one("shopMoney"), "presentment_money": one("presentmentMoney")}


def _lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None


# --------------------------------------------------------------------------- customer


def address(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "first_name": value.get("firstName"),
        "address1": value.get("address1"),
        "phone": value.get("phone"),
        "city": value.get("city"),
        "zip": value.get("zip"),
        "province": value.get("province"),
        "country": value.get("country"),
        "last_name": value.get("lastName"),
        "address2": value.get("address2"),
        "company": value.get("company"),
        "latitude": value.get("latitude"),
        "longitude": value.get("longitude"),
        "name": value.get("name"),
        "country_code": value.get("countryCodeV2"),
        "province_code": value.get("provinceCode"),
    }


def customer_address(value: dict[str, Any], customer_gid: Any, default_gid: Any) -> dict[str, Any]:
    """A CustomerAddress: the order-address fields plus ids and ``default``."""
    shaped = address(value) or {}
    shaped.pop("latitude", None)
    shaped.pop("longitude", None)
    return {
        "id": numeric_id(value.get("id")),
        "customer_id": numeric_id(customer_gid),
        **shaped,
        "country_name": value.get("country"),
        "default": value.get("id") == default_gid,
    }


_CONSENT = {
    "SUBSCRIBED": "subscribed",
    "NOT_SUBSCRIBED": "not_subscribed",
    "UNSUBSCRIBED": "unsubscribed",
    "PENDING": "pending",
    "REDACTED": "redacted",
    "INVALID": "invalid",
}


def _consent(value: dict[str, Any]) -> dict[str, Any] | None:
    state = value.get("marketingState")
    if not state:
        return None
    return {
        "state": _CONSENT.get(state, str(state).lower()),
        "opt_in_level": _lower(value.get("marketingOptInLevel")),
        "consent_updated_at": value.get("marketingUpdatedAt"),
    }


def customer(node: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    email = node.get("defaultEmailAddress") or {}
    phone = node.get("defaultPhoneNumber") or {}
    spent = node.get("amountSpent") or {}
    last = node.get("lastOrder") or {}
    default = node.get("defaultAddress")
    default_gid = default.get("id") if default else None
    addresses = node.get("addresses") or ([default] if default else [])
    sms = _consent(phone) if phone else None
    if sms is not None:
        sms["consent_collected_from"] = phone.get("marketingCollectedFrom") or "OTHER"
    return {
        "id": numeric_id(node["id"]),
        "email": email.get("emailAddress"),
        "created_at": time(node.get("createdAt"), zone),
        "updated_at": time(node.get("updatedAt"), zone),
        "first_name": node.get("firstName"),
        "last_name": node.get("lastName"),
        "orders_count": int(node.get("numberOfOrders") or 0),
        "state": str(node.get("state", "")).lower(),
        "total_spent": price({"shopMoney": spent}),
        "last_order_id": numeric_id(last.get("id")),
        "note": node.get("note"),
        "verified_email": node.get("verifiedEmail"),
        "multipass_identifier": node.get("multipassIdentifier"),
        "tax_exempt": node.get("taxExempt"),
        "tags": ", ".join(node.get("tags") or []),
        "last_order_name": last.get("name"),
        "currency": spent.get("currencyCode"),
        "phone": phone.get("phoneNumber"),
        "addresses": [customer_address(a, node["id"], default_gid) for a in addresses],
        "tax_exemptions": list(node.get("taxExemptions") or []),
        "email_marketing_consent": _consent(email) if email else None,
        "sms_marketing_consent": sms,
        "admin_graphql_api_id": node["id"],
        "default_address": (
            customer_address(default, node["id"], default_gid) if default else None
        ),
    }


# --------------------------------------------------------------------------- order parts


def line_item(item: dict[str, Any], quantity: int | None = None) -> dict[str, Any]:
    """A REST line item; ``quantity`` overrides it (a fulfillment's share of the line)."""
    product = item.get("product") or {}
    variant = item.get("variant") or {}
    unfulfilled = item.get("unfulfilledQuantity")
    ordered = item.get("quantity") or 0
    fulfilled = ordered - (unfulfilled if isinstance(unfulfilled, int) else 0)
    status = None if fulfilled <= 0 else "fulfilled" if not unfulfilled else "partial"
    discount = item.get("totalDiscountSet")
    return {
        "id": numeric_id(item["id"]),
        "admin_graphql_api_id": item["id"],
        "attributed_staffs": [],
        "current_quantity": item.get("currentQuantity", ordered),
        "fulfillable_quantity": unfulfilled if isinstance(unfulfilled, int) else 0,
        "fulfillment_service": "manual",
        "fulfillment_status": status,
        "gift_card": bool(item.get("isGiftCard")),
        "grams": 0,
        "name": item.get("name"),
        "price": price(item.get("originalUnitPriceSet")),
        "price_set": price_set(item.get("originalUnitPriceSet")),
        "product_exists": bool(product),
        "product_id": numeric_id(product.get("id")),
        "properties": [
            {"name": attribute.get("key"), "value": attribute.get("value")}
            for attribute in item.get("customAttributes") or []
        ],
        "quantity": ordered if quantity is None else quantity,
        "requires_shipping": bool(item.get("requiresShipping")),
        "sku": item.get("sku"),
        "taxable": bool(item.get("taxable")),
        "title": item.get("title"),
        "total_discount": price(discount),
        "total_discount_set": price_set(discount),
        "variant_id": numeric_id(variant.get("id")),
        "variant_inventory_management": None,
        "variant_title": item.get("variantTitle"),
        "vendor": item.get("vendor"),
        "tax_lines": [],
        "duties": [],
        "discount_allocations": [],
    }


def transaction(node: dict[str, Any], order_id: int | None, zone: ZoneInfo) -> dict[str, Any]:
    """REST transactions carry the presentment amount and currency."""
    amount = node.get("amountSet")
    parent = node.get("parentTransaction") or {}
    presentment = (amount or {}).get("presentmentMoney") or {}
    return {
        "id": numeric_id(node["id"]),
        "admin_graphql_api_id": node["id"],
        "amount": price(amount, "presentmentMoney"),
        "authorization": node.get("authorizationCode"),
        "authorization_expires_at": time(node.get("authorizationExpiresAt"), zone),
        "created_at": time(node.get("createdAt"), zone),
        "currency": presentment.get("currencyCode"),
        "device_id": None,
        "error_code": None,
        "extended_authorization_attributes": {},
        "gateway": node.get("gateway"),
        "kind": _lower(node.get("kind")),
        "location_id": None,
        "message": None,
        "order_id": order_id,
        "parent_id": numeric_id(parent.get("id")),
        "payment_id": node.get("paymentId"),
        "processed_at": time(node.get("processedAt"), zone),
        "receipt": {},
        "source_name": "web",
        "status": _lower(node.get("status")),
        "test": bool(node.get("test")),
        "user_id": None,
        "currency_exchange_adjustment": None,
        "manual_payment_gateway": bool(node.get("manualPaymentGateway")),
    }


def fulfillment(node: dict[str, Any], order_id: int | None, zone: ZoneInfo) -> dict[str, Any]:
    tracking = node.get("trackingInfo") or []
    numbers = [t.get("number") for t in tracking]
    urls = [t.get("url") for t in tracking]
    return {
        "id": numeric_id(node["id"]),
        "admin_graphql_api_id": node["id"],
        "created_at": time(node.get("createdAt"), zone),
        "location_id": None,
        "name": node.get("name"),
        "order_id": order_id,
        "origin_address": {},
        "receipt": {},
        "service": "manual",
        "shipment_status": None,
        "status": _lower(node.get("status")),
        "tracking_company": tracking[0].get("company") if tracking else None,
        "tracking_number": numbers[0] if numbers else None,
        "tracking_numbers": numbers,
        "tracking_url": urls[0] if urls else None,
        "tracking_urls": urls,
        "updated_at": time(node.get("updatedAt"), zone),
        "line_items": [
            line_item(line["lineItem"], line["quantity"])
            for line in node.get("_fulfillmentLineItems") or []
        ],
    }


def refund(node: dict[str, Any], order_id: int | None, zone: ZoneInfo) -> dict[str, Any]:
    lines = node.get("_refundLineItems") or []
    return {
        "id": numeric_id(node["id"]),
        "admin_graphql_api_id": node["id"],
        "created_at": time(node.get("createdAt"), zone),
        "note": node.get("note"),
        "order_id": order_id,
        "processed_at": time(node.get("processedAt"), zone),
        "restock": any(line.get("restocked") for line in lines),
        "total_duties_set": price_set(None),
        "user_id": None,
        "order_adjustments": [],
        "transactions": [transaction(t, order_id, zone) for t in node.get("_transactions") or []],
        "refund_line_items": [
            {
                "id": numeric_id(line["id"]),
                "line_item_id": numeric_id(line["lineItem"]["id"]),
                "location_id": None,
                "quantity": line["quantity"],
                "restock_type": _lower(line.get("restockType")),
                "subtotal": float(_decimal(line.get("subtotalSet"))),
                "subtotal_set": price_set(line.get("subtotalSet")),
                "total_tax": float(_decimal(line.get("totalTaxSet"))),
                "total_tax_set": price_set(line.get("totalTaxSet")),
                "line_item": line_item(line["lineItem"]),
            }
            for line in lines
        ],
        "duties": [],
        "refund_shipping_lines": [],
    }


# --------------------------------------------------------------------------- order


def fulfillment_status(value: str | None) -> str | None:
    """REST says ``null`` for unfulfilled orders and lower-case words otherwise."""
    if value in (None, "UNFULFILLED"):
        return None
    return {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}.get(value, value.lower())


def _money_pair(node: dict[str, Any], name: str, rest_name: str) -> dict[str, Any]:
    bag = node.get(name)
    return {rest_name: price(bag), f"{rest_name}_set": price_set(bag)}


def order(node: dict[str, Any], history: History, zone: ZoneInfo) -> dict[str, Any]:
    """A REST order; ``history`` holds its line items (all of them) and its events."""
    order_id = numeric_id(node["id"])
    customer_node = node.get("customer")
    line_total = sum(
        (_decimal(item.get("originalUnitPriceSet")) * (item.get("quantity") or 0))
        for item in history.line_items
    )
    presentment_total = sum(
        (
            _decimal(item.get("originalUnitPriceSet"), "presentmentMoney")
            * (item.get("quantity") or 0)
        )
        for item in history.line_items
    )
    shop_currency = node.get("currencyCode")
    presentment_currency = node.get("presentmentCurrencyCode") or shop_currency
    codes = list(node.get("discountCodes") or [])
    discount = _decimal(node.get("totalDiscountsSet"))
    number = node.get("number")
    shaped: dict[str, Any] = {
        "id": order_id,
        "admin_graphql_api_id": node["id"],
        "app_id": None,
        "browser_ip": None,
        "buyer_accepts_marketing": bool(node.get("customerAcceptsMarketing")),
        "cancel_reason": _lower(node.get("cancelReason")),
        "cancelled_at": time(node.get("cancelledAt"), zone),
        "cart_token": None,
        "checkout_id": None,
        "checkout_token": None,
        "client_details": None,
        "closed_at": time(node.get("closedAt"), zone),
        "confirmation_number": node.get("confirmationNumber"),
        "confirmed": node.get("confirmed"),
        "contact_email": node.get("email"),
        "created_at": time(node.get("createdAt"), zone),
        "currency": shop_currency,
        **_money_pair(node, "currentSubtotalPriceSet", "current_subtotal_price"),
        **_money_pair(node, "currentTotalDiscountsSet", "current_total_discounts"),
        "current_total_duties_set": None,
        **_money_pair(node, "currentTotalPriceSet", "current_total_price"),
        **_money_pair(node, "currentTotalTaxSet", "current_total_tax"),
        "customer_locale": node.get("customerLocale"),
        "device_id": None,
        "discount_codes": [
            {
                "code": code,
                "amount": f"{discount / len(codes):.2f}",
                "type": "fixed_amount",
            }
            for code in codes
        ],
        "duties_included": False,
        "email": node.get("email"),
        "estimated_taxes": False,
        "financial_status": _lower(node.get("displayFinancialStatus")),
        "fulfillment_status": fulfillment_status(node.get("displayFulfillmentStatus")),
        "gateway": (node.get("paymentGatewayNames") or [None])[0],
        "landing_site": None,
        "landing_site_ref": None,
        "location_id": None,
        "merchant_of_record_app_id": None,
        "name": node.get("name"),
        "note": node.get("note"),
        "note_attributes": [
            {"name": attribute.get("key"), "value": attribute.get("value")}
            for attribute in node.get("customAttributes") or []
        ],
        "number": (number - 1000) if isinstance(number, int) else None,
        "order_number": number,
        "order_status_url": node.get("statusPageUrl"),
        "original_total_duties_set": None,
        "payment_gateway_names": list(node.get("paymentGatewayNames") or []),
        "phone": node.get("phone"),
        "po_number": None,
        "presentment_currency": presentment_currency,
        "processed_at": time(node.get("processedAt"), zone),
        "reference": None,
        "referring_site": None,
        "source_identifier": node.get("sourceIdentifier"),
        "source_name": node.get("sourceName"),
        "source_url": None,
        **_money_pair(node, "subtotalPriceSet", "subtotal_price"),
        "tags": ", ".join(node.get("tags") or []),
        "tax_exempt": False,
        "tax_lines": [],
        "taxes_included": bool(node.get("taxesIncluded")),
        "test": node.get("test"),
        "token": str(node.get("statusPageUrl") or "").rsplit("/orders/", 1)[-1].split("/")[0]
        or None,
        **_money_pair(node, "totalDiscountsSet", "total_discounts"),
        "total_line_items_price": f"{line_total:.2f}",
        "total_line_items_price_set": {
            "shop_money": {"amount": f"{line_total:.2f}", "currency_code": shop_currency},
            "presentment_money": {
                "amount": f"{presentment_total:.2f}",
                "currency_code": presentment_currency,
            },
        },
        "total_outstanding": price(node.get("totalOutstandingSet")),
        **_money_pair(node, "totalPriceSet", "total_price"),
        "total_shipping_price_set": price_set(node.get("totalShippingPriceSet")),
        **_money_pair(node, "totalTaxSet", "total_tax"),
        "total_tip_received": "0.00",
        "total_weight": 0,
        "updated_at": time(node.get("updatedAt"), zone),
        "user_id": None,
        "billing_address": address(node.get("billingAddress")),
        "customer": _order_customer(customer_node, zone) if customer_node else None,
        "discount_applications": [],
        "fulfillments": [fulfillment(f, order_id, zone) for f in history.fulfillments],
        "line_items": [line_item(item) for item in history.line_items],
        "payment_terms": None,
        "refunds": [refund(r, order_id, zone) for r in history.refunds],
        "shipping_address": address(node.get("shippingAddress")),
        "shipping_lines": [
            {
                "id": numeric_id(line.get("id")),
                "carrier_identifier": line.get("carrierIdentifier"),
                "code": line.get("code"),
                "discounted_price": price(line.get("discountedPriceSet")),
                "discounted_price_set": price_set(line.get("discountedPriceSet")),
                "phone": line.get("phone"),
                "price": price(line.get("originalPriceSet")),
                "price_set": price_set(line.get("originalPriceSet")),
                "requested_fulfillment_service_id": None,
                "source": line.get("source"),
                "title": line.get("title"),
                "tax_lines": [],
                "discount_allocations": [],
            }
            for line in (node.get("shippingLines") or {}).get("nodes") or []
        ],
    }
    return shaped


def _order_customer(node: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """The customer embedded in an order: Shopify leaves out its address list there."""
    shaped = customer(node, zone)
    shaped.pop("addresses", None)
    return shaped
