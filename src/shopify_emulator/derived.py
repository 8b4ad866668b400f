"""Fields of ``Order``, ``Customer`` and ``LineItem`` derived from what a document holds.

The generic defaults of ``fill.py`` are the type's empty value; for the fields clients
actually read (money received and outstanding, tax lines, discount applications,
statuses, a customer's lifetime) an empty value would contradict the rest of the same
object - a paid order with nothing received, a taxed order without tax lines. These
derivations keep each object consistent with itself: every amount comes from the
stored totals, every flag from the stored statuses. They return ``MISSING`` when the
type's default is already right.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shopify_emulator import history
from shopify_emulator.fill import MISSING, Fill, money, stable_number

Derivation = Callable[[Fill], Any]
LineItems = Callable[[Mapping[str, Any]], list[dict[str, Any]]]
"""``order document -> its stored line items`` (the history reads them)."""

RECEIVED_STATUSES = frozenset({"PAID", "PARTIALLY_REFUNDED", "REFUNDED"})
"""Financial statuses in which the order's total was captured."""
OPEN_FULFILLMENT = frozenset(
    {"UNFULFILLED", "PARTIALLY_FULFILLED", "SCHEDULED", "ON_HOLD", "IN_PROGRESS", "OPEN"}
)
APPS = {
    "web": ("gid://shopify/App/580111", "Online Store"),
    "pos": ("gid://shopify/App/129785", "Point of Sale"),
    "shopify_draft_order": ("gid://shopify/App/1354745", "Draft Orders"),
}
"""``sourceName`` -> the sales channel app Shopify reports as ``Order.app``."""
CONFIRMATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ123456789"
DEFAULT_AVATAR = "https://cdn.shopify.com/s/images/admin/customers/customer-avatar.png"
CENT = Decimal("0.01")


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _both(fill: Fill, name: str) -> tuple[Decimal, Decimal]:
    return fill.amount(name), fill.amount(name, "presentmentMoney")


def _parse(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


# --------------------------------------------------------------------------- Order


def _status(fill: Fill) -> str:
    return str(fill.parent.get("displayFinancialStatus") or "")


def _cancelled(fill: Fill) -> bool:
    return fill.parent.get("cancelledAt") is not None


def order_received(fill: Fill) -> Any:
    """Captured amount before refunds: the total once paid, nothing while pending."""
    total = _both(fill, "totalPriceSet")
    status = _status(fill)
    if status in RECEIVED_STATUSES:
        return fill.bag(*total)
    if status == "PARTIALLY_PAID":
        return fill.bag(_cents(total[0] / 2), _cents(total[1] / 2))
    return fill.bag(Decimal(0), Decimal(0))


def order_net_payment(fill: Fill) -> Any:
    received = _both_of(fill, "totalReceivedSet")
    refunded = _both(fill, "totalRefundedSet")
    return fill.bag(received[0] - refunded[0], received[1] - refunded[1])


def _both_of(fill: Fill, name: str) -> tuple[Decimal, Decimal]:
    """Like ``_both`` for a field that may itself be derived."""
    value = fill.get(name)
    if not isinstance(value, dict):
        return Decimal(0), Decimal(0)
    return (
        Decimal(str(value["shopMoney"]["amount"])),
        Decimal(str(value["presentmentMoney"]["amount"])),
    )


def order_outstanding(fill: Fill) -> Any:
    """What the customer still owes: the current total less what was kept."""
    if _cancelled(fill):
        return fill.bag(Decimal(0), Decimal(0))
    current = _both(fill, "currentTotalPriceSet")
    net = _both_of(fill, "netPaymentSet")
    return fill.bag(max(Decimal(0), current[0] - net[0]), max(Decimal(0), current[1] - net[1]))


def order_capturable(fill: Fill) -> Any:
    if _status(fill) == "AUTHORIZED" and not _cancelled(fill):
        return fill.bag(*_both(fill, "totalPriceSet"))
    return fill.bag(Decimal(0), Decimal(0))


def order_tax_lines(fill: Fill, total_field: str) -> Any:
    """One tax line carrying the order's tax (none for an untaxed order)."""
    shop, presentment = _both(fill, total_field)
    if not shop and not presentment:
        return []
    subtotal = fill.amount("subtotalPriceSet") or Decimal(1)
    rate = float((shop / subtotal).quantize(Decimal("0.0001")))
    return [
        fill.object(
            "TaxLine",
            0,
            title="Sales Tax",
            rate=rate,
            ratePercentage=round(rate * 100, 2),
            source="Shopify",
            channelLiable=False,
            priceSet=fill.bag(shop, presentment),
        )
    ]


def order_discount_applications(fill: Fill) -> Any:
    """One code application per discount code, sharing the order's discount total."""
    codes = [c for c in fill.parent.get("discountCodes") or [] if isinstance(c, str)]
    if not codes:
        return []
    total = fill.amount("totalDiscountsSet", "presentmentMoney")
    share = _cents(total / len(codes))
    return [
        fill.object(
            "DiscountCodeApplication",
            index,
            code=code,
            index=index,
            allocationMethod="ACROSS",
            targetSelection="ALL",
            targetType="SHIPPING_LINE" if "SHIP" in code.upper() else "LINE_ITEM",
            value={"__typename": "MoneyV2", **money(share, fill.ctx["presentment"])},
        )
        for index, code in enumerate(codes)
    ]


def order_app(fill: Fill) -> Any:
    found = APPS.get(str(fill.parent.get("sourceName") or ""))
    if found is None:
        return None
    app_id, name = found
    return fill.object(
        "OrderApp",
        id=app_id,
        name=name,
        icon=fill.object("Image", "icon", url=DEFAULT_AVATAR, src=DEFAULT_AVATAR),
    )


def order_confirmation_number(fill: Fill) -> Any:
    """Nine characters from Shopify's confirmation alphabet, stable per order."""
    number = stable_number(fill.parent.get("id"), "confirmation")
    letters = []
    for _ in range(9):
        number, index = divmod(number, len(CONFIRMATION_ALPHABET))
        letters.append(CONFIRMATION_ALPHABET[index])
    return "".join(letters)


ORDER: dict[str, Derivation] = {
    "totalReceivedSet": order_received,
    "netPaymentSet": order_net_payment,
    "totalOutstandingSet": order_outstanding,
    "totalCapturableSet": order_capturable,
    "taxLines": lambda fill: order_tax_lines(fill, "totalTaxSet"),
    "currentTaxLines": lambda fill: order_tax_lines(fill, "currentTotalTaxSet"),
    "discountApplications": order_discount_applications,
    "app": order_app,
    "confirmationNumber": order_confirmation_number,
    "capturable": lambda fill: _status(fill) == "AUTHORIZED" and not _cancelled(fill),
    "canMarkAsPaid": lambda fill: (
        _status(fill) in ("PENDING", "PARTIALLY_PAID", "AUTHORIZED") and not _cancelled(fill)
    ),
    "refundable": lambda fill: (
        _status(fill) in ("PAID", "PARTIALLY_PAID", "PARTIALLY_REFUNDED") and not _cancelled(fill)
    ),
    "fulfillable": lambda fill: (
        str(fill.parent.get("displayFulfillmentStatus")) in OPEN_FULFILLMENT
        and not _cancelled(fill)
        and not fill.parent.get("closed")
    ),
    "merchantEditable": lambda fill: not _cancelled(fill) and not fill.parent.get("closed"),
    "merchantEditableErrors": lambda fill: (
        ["Cancelled orders cannot be edited."]
        if _cancelled(fill)
        else ["Archived orders cannot be edited."]
        if fill.parent.get("closed")
        else []
    ),
    "canNotifyCustomer": lambda fill: bool(fill.parent.get("email")),
    "restockable": lambda fill: _status(fill) != "REFUNDED" and not _cancelled(fill),
    "fulfillmentsCount": lambda fill: {
        "count": len(fill.get("fulfillments") or []),
        "precision": "EXACT",
    },
    "transactionsCount": lambda fill: {
        "count": len(fill.get("transactions") or []),
        "precision": "EXACT",
    },
    "riskLevel": lambda fill: "LOW",
    "risk": lambda fill: fill.object("OrderRiskSummary", recommendation="ACCEPT", assessments=[]),
}


# --------------------------------------------------------------------------- Customer


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


def distance_in_words(start: datetime, end: datetime) -> str:
    """Rails' ``distance_of_time_in_words`` (whole minutes, no seconds), which Shopify's
    ``lifetimeDuration`` reads like: "less than a minute", "about 1 year", "8 months"."""
    minutes = round(max(0.0, (end - start).total_seconds()) / 60)
    if minutes < 2:
        return "less than a minute" if minutes == 0 else "1 minute"
    if minutes < 45:
        return _count(minutes, "minute")
    if minutes < 90:
        return "about 1 hour"
    if minutes < 1440:
        return "about " + _count(round(minutes / 60), "hour")
    if minutes < 2520:
        return "1 day"
    if minutes < 43200:
        return _count(round(minutes / 1440), "day")
    if minutes < 86400:
        return "about " + _count(round(minutes / 43200), "month")
    if minutes < 525600:
        return _count(round(minutes / 43200), "month")
    years, rest = divmod(minutes, 525_600)
    if rest < 131_400:
        return "about " + _count(years, "year")
    if rest < 394_200:
        return "over " + _count(years, "year")
    return "almost " + _count(years + 1, "year")


def customer_lifetime(fill: Fill) -> Any:
    created = _parse(fill.parent.get("createdAt"))
    now = _parse(fill.filler.shop.get("updatedAt"))
    if created is None or now is None:
        return MISSING
    return distance_in_words(created, now)


def customer_statistics(fill: Fill) -> Any:
    spent = Decimal(str((fill.parent.get("amountSpent") or {}).get("amount") or "0"))
    tier = "HIGH" if spent >= 1000 else "MEDIUM" if spent >= 200 else "LOW"
    return fill.object("CustomerStatistics", predictedSpendTier=tier, rfmGroup=None)


def customer_unsubscribe_url(fill: Fill) -> Any:
    domain = fill.filler.shop.get("myshopifyDomain", "emulator-shop.myshopify.com")
    token = f"{stable_number(fill.parent.get('id'), 'unsubscribe'):x}"
    numeric = str(fill.parent.get("id", "")).rsplit("/", 1)[-1]
    return f"https://{domain}/unsubscribe?c={numeric}&d={token}"


CUSTOMER: dict[str, Derivation] = {
    "lifetimeDuration": customer_lifetime,
    "productSubscriberStatus": lambda fill: "NEVER_SUBSCRIBED",
    "statistics": customer_statistics,
    "unsubscribeUrl": customer_unsubscribe_url,
    "image": lambda fill: fill.object(
        "Image",
        url=DEFAULT_AVATAR,
        src=DEFAULT_AVATAR,
        originalSrc=DEFAULT_AVATAR,
        transformedSrc=DEFAULT_AVATAR,
        altText=None,
        width=256,
        height=256,
    ),
    "mergeable": lambda fill: fill.object(
        "CustomerMergeable", isMergeable=True, reason=None, errorFields=[], mergeInProgress=None
    ),
}


# --------------------------------------------------------------------------- LineItem


def _line_quantity(fill: Fill, name: str) -> int:
    value = fill.parent.get(name)
    return value if isinstance(value, int) else 0


def line_unfulfilled(fill: Fill) -> Any:
    unit = _both(fill, "originalUnitPriceSet")
    quantity = _line_quantity(fill, "unfulfilledQuantity")
    return fill.bag(unit[0] * quantity, unit[1] * quantity)


def line_after_discounts(fill: Fill) -> Any:
    total = _both(fill, "originalTotalSet")
    discount = _both(fill, "totalDiscountSet")
    return fill.bag(total[0] - discount[0], total[1] - discount[1])


def line_unit_after_discounts(fill: Fill) -> Any:
    quantity = _line_quantity(fill, "quantity") or 1
    shop, presentment = _both_of(fill, "priceAfterAllDiscountsBeforeTaxesSet")
    return fill.bag(_cents(shop / quantity), _cents(presentment / quantity))


LINE_ITEM: dict[str, Derivation] = {
    "unfulfilledDiscountedTotalSet": line_unfulfilled,
    "unfulfilledOriginalTotalSet": line_unfulfilled,
    "priceAfterAllDiscountsBeforeTaxesSet": line_after_discounts,
    "discountedUnitPriceAfterAllDiscountsSet": line_unit_after_discounts,
    "fulfillableQuantity": lambda fill: _line_quantity(fill, "unfulfilledQuantity"),
    "fulfillmentStatus": lambda fill: (
        "fulfilled" if _line_quantity(fill, "unfulfilledQuantity") == 0 else "unfulfilled"
    ),
    "canRestock": lambda fill: bool(fill.parent.get("restockable")),
}


# --------------------------------------------------------------------------- history


def history_derivations(line_items: LineItems) -> dict[tuple[str, str], Derivation]:
    """``Order.fulfillments``/``refunds``/``transactions`` from ``history.py``.

    The objects are shared (cached) between requests, so each answer is a shallow copy
    that links back to the order being served (``Refund.order`` and friends)."""

    def order_history(fill: Fill) -> history.History:
        return history.order_history(fill.parent, line_items(fill.parent))

    def linked(fill: Fill, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        first = fill.args.get("first")
        chosen = objects if not isinstance(first, int) else objects[: max(first, 0)]
        return [{**item, "order": fill.parent} for item in chosen]

    def transactions(fill: Fill) -> Any:
        found = order_history(fill).transactions
        if fill.args.get("capturable"):
            captured = {
                t["parentTransaction"]["id"]
                for t in found
                if t["kind"] in ("CAPTURE", "VOID") and t.get("parentTransaction")
            }
            found = [
                t
                for t in found
                if t["kind"] == "AUTHORIZATION"
                and t["id"] not in captured
                and _status(fill) == "AUTHORIZED"
            ]
        if fill.args.get("manuallyResolvable"):
            found = []
        return linked(fill, found)

    return {
        ("Order", "fulfillments"): lambda fill: linked(fill, order_history(fill).fulfillments),
        ("Order", "refunds"): lambda fill: linked(fill, order_history(fill).refunds),
        ("Order", "transactions"): transactions,
    }


def derivations(line_items: LineItems | None = None) -> dict[tuple[str, str], Derivation]:
    """Every derivation by ``(type name, field name)``; ``line_items`` enables history."""
    table: dict[tuple[str, str], Derivation] = {}
    for type_name, fields in (("Order", ORDER), ("Customer", CUSTOMER), ("LineItem", LINE_ITEM)):
        table.update({(type_name, name): derive for name, derive in fields.items()})
    if line_items is not None:
        table.update(history_derivations(line_items))
    return table
