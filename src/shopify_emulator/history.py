"""An order's history - fulfillments, refunds, transactions - derived from its stored state.

The store keeps an order's *outcome* (financial and fulfillment status, totals, refunded
amount, cancellation) but not the events that produced it. Clients reconcile both: the
sum of ``REFUND`` transactions against ``totalRefundedSet``, fulfilled quantities against
``LineItem.unfulfilledQuantity``, a paid order against its ``SALE``. This module rebuilds
one history per order that agrees with the outcome, deterministically (same order, same
ids and times on every request), in GraphQL shape; REST renders its shape from the same
objects (``rest_shapes``), so both APIs tell one story.

Rules (Shopify's own semantics, simplified to one event of each kind):

- transactions: ``PAID``/``PARTIALLY_REFUNDED``/``REFUNDED`` -> a ``SALE`` for the total;
  ``PARTIALLY_PAID`` -> a ``SALE`` for half (as ``totalReceivedSet``); ``AUTHORIZED`` and
  ``EXPIRED`` -> an ``AUTHORIZATION``; ``VOIDED`` -> ``AUTHORIZATION`` + ``VOID``;
  ``PENDING`` -> none; every refund adds a ``REFUND`` child of the sale;
- fulfillments: ``FULFILLED`` -> one fulfillment of every unit; ``PARTIALLY_FULFILLED`` ->
  one fulfillment of the first half of the units (at least one, and at least one left
  over unless the order holds a single unit); otherwise none;
- refunds: ``REFUNDED`` -> one refund of every unit; ``PARTIALLY_REFUNDED`` -> one refund
  whose line items are whole units (fulfilled ones first) worth no more than the refunded
  amount; the refund's transaction carries exactly ``totalRefundedSet``;
- line items: ``unfulfilledQuantity`` = quantity - fulfilled - refunded-unfulfilled
  (``CANCEL`` restocks), 0 on a cancelled order; ``currentQuantity`` and
  ``refundableQuantity`` = quantity - refunded.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shopify_emulator.fill import bag, stable_number

CENT = Decimal("0.01")
PAID_STATUSES = frozenset({"PAID", "PARTIALLY_REFUNDED", "REFUNDED"})
GATEWAY_NAMES = {
    "shopify_payments": "Shopify Payments",
    "cash": "Cash",
    "manual": "Manual",
    "bogus": "Bogus",
}
CARRIERS = ("UPS", "USPS", "Canada Post", "DHL Express", "FedEx")
AUTHORIZATION_DAYS = 7
CACHE_SIZE = 1024
HISTORY_TOTALS = ("totalPriceSet", "totalRefundedSet", "subtotalPriceSet", "totalTaxSet")
"""The order totals a history reads (REST and GraphQL must select them all)."""


@dataclass
class Allocation:
    """Units per line item (by gid): how many were fulfilled, refunded and cancelled."""

    fulfilled: dict[str, int] = field(default_factory=dict)
    refunded_fulfilled: dict[str, int] = field(default_factory=dict)
    refunded_unfulfilled: dict[str, int] = field(default_factory=dict)


@dataclass
class History:
    """One order's history in GraphQL shape; ``line_items`` agree with it."""

    fulfillments: list[dict[str, Any]]
    refunds: list[dict[str, Any]]
    transactions: list[dict[str, Any]]
    line_items: list[dict[str, Any]]


# --------------------------------------------------------------------------- helpers


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _both(order: Mapping[str, Any], name: str) -> tuple[Decimal, Decimal]:
    value = order.get(name)
    if not isinstance(value, dict):
        return Decimal(0), Decimal(0)
    shop = Decimal(str((value.get("shopMoney") or {}).get("amount") or "0"))
    presentment = (value.get("presentmentMoney") or {}).get("amount")
    return shop, Decimal(str(presentment)) if presentment is not None else shop


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _quantity(item: Mapping[str, Any]) -> int:
    value = item.get("quantity")
    return value if isinstance(value, int) else 0


def _ctx(order: Mapping[str, Any], key: str, at: str | None) -> dict[str, Any]:
    currency = order.get("currencyCode") or "USD"
    return {
        "at": at,
        "created": at,
        "shop": currency,
        "presentment": order.get("presentmentCurrencyCode") or currency,
        "key": key,
    }


def _gid(kind: str, *parts: object) -> tuple[str, str]:
    number = stable_number(*parts, kind)
    return f"gid://shopify/{kind}/{number}", str(number)


# --------------------------------------------------------------------------- allocation


def allocate(order: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> Allocation:
    """Which units were fulfilled and refunded: cheap integers, no objects."""
    fulfillment = str(order.get("displayFulfillmentStatus") or "")
    financial = str(order.get("displayFinancialStatus") or "")
    allocation = Allocation()
    units = sum(_quantity(item) for item in items)
    if fulfillment == "FULFILLED":
        allocation.fulfilled = {str(item["id"]): _quantity(item) for item in items}
    elif fulfillment == "PARTIALLY_FULFILLED" and units:
        remaining = max(1, units // 2)
        for item in items:
            taken = min(remaining, _quantity(item))
            if taken:
                allocation.fulfilled[str(item["id"])] = taken
            remaining -= taken
            if remaining <= 0:
                break
    if financial == "REFUNDED":
        for item in items:
            key = str(item["id"])
            done = allocation.fulfilled.get(key, 0)
            if done:
                allocation.refunded_fulfilled[key] = done
            if _quantity(item) - done:
                allocation.refunded_unfulfilled[key] = _quantity(item) - done
    elif financial == "PARTIALLY_REFUNDED":
        budget = _both(order, "totalRefundedSet")[0]
        rate = _tax_rate(order)
        factor = _discount_factor(order, items)[0]
        for fulfilled_first in (True, False):
            for item in items:
                key = str(item["id"])
                done = allocation.fulfilled.get(key, 0)
                available = done if fulfilled_first else _quantity(item) - done
                unit = _cents(_both(item, "originalUnitPriceSet")[0] * factor * (1 + rate))
                if not available or unit <= 0:
                    continue
                count = min(available, int(budget // unit))
                if count:
                    target = (
                        allocation.refunded_fulfilled
                        if fulfilled_first
                        else allocation.refunded_unfulfilled
                    )
                    target[key] = count
                    budget -= unit * count
    return allocation


def _tax_rate(order: Mapping[str, Any]) -> Decimal:
    subtotal = _both(order, "subtotalPriceSet")[0]
    tax = _both(order, "totalTaxSet")[0]
    return (tax / subtotal) if subtotal else Decimal(0)


def _discount_factor(
    order: Mapping[str, Any], items: Sequence[Mapping[str, Any]]
) -> tuple[Decimal, Decimal]:
    """Subtotal / undiscounted line total, per currency (1 without discounts)."""
    shop = presentment = Decimal(0)
    for item in items:
        unit = _both(item, "originalUnitPriceSet")
        shop += unit[0] * _quantity(item)
        presentment += unit[1] * _quantity(item)
    subtotal = _both(order, "subtotalPriceSet")
    return (
        subtotal[0] / shop if shop else Decimal(1),
        subtotal[1] / presentment if presentment else Decimal(1),
    )


def adjusted_line_items(
    order: Mapping[str, Any], items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``items`` with quantities that agree with the history (copies only where changed).

    Most orders are fulfilled and unrefunded, where the stored quantities already agree:
    those skip the allocation (a bulk export reads every order's line items)."""
    if (
        str(order.get("displayFulfillmentStatus")) == "FULFILLED"
        and str(order.get("displayFinancialStatus")) not in ("REFUNDED", "PARTIALLY_REFUNDED")
        and order.get("cancelledAt") is None
        and all(item.get("unfulfilledQuantity") == 0 for item in items)
    ):
        return items
    return _adjust(order, items, allocate(order, items))


def adjusted_pairs(
    order: Mapping[str, Any], pairs: list[tuple[int, dict[str, Any]]]
) -> list[tuple[int, dict[str, Any]]]:
    """``adjusted_line_items`` for ``(numeric id, document)`` pairs."""
    docs = [doc for _, doc in pairs]
    adjusted = adjusted_line_items(order, docs)
    if adjusted is docs:
        return pairs
    return [(number, doc) for (number, _), doc in zip(pairs, adjusted, strict=True)]


def _adjust(
    order: Mapping[str, Any], items: list[dict[str, Any]], allocation: Allocation
) -> list[dict[str, Any]]:
    cancelled = order.get("cancelledAt") is not None
    adjusted = []
    for item in items:
        key = str(item["id"])
        quantity = _quantity(item)
        refunded = allocation.refunded_fulfilled.get(key, 0) + allocation.refunded_unfulfilled.get(
            key, 0
        )
        unfulfilled = (
            0
            if cancelled
            else max(
                0,
                quantity
                - allocation.fulfilled.get(key, 0)
                - allocation.refunded_unfulfilled.get(key, 0),
            )
        )
        current = 0 if cancelled else quantity - refunded
        if (
            item.get("unfulfilledQuantity") == unfulfilled
            and not refunded
            and not cancelled
            and "currentQuantity" not in item
        ):
            adjusted.append(item)
            continue
        adjusted.append(
            {
                **item,
                "unfulfilledQuantity": unfulfilled,
                "currentQuantity": current,
                "refundableQuantity": max(0, quantity - refunded),
            }
        )
    return adjusted


# --------------------------------------------------------------------------- building


class _Builder:
    def __init__(self, order: Mapping[str, Any], items: list[dict[str, Any]]) -> None:
        self.order = order
        self.gid = str(order.get("id"))
        self.allocation = allocate(order, items)
        self.items = _adjust(order, items, self.allocation)
        self.created = _parse(order.get("createdAt")) or datetime(2026, 1, 1)
        self.updated = max(_parse(order.get("updatedAt")) or self.created, self.created)
        self.processed = _parse(order.get("processedAt")) or self.created
        self.cancelled = _parse(order.get("cancelledAt"))
        self.factor = _discount_factor(order, items)
        self.rate = _tax_rate(order)
        gateways = order.get("paymentGatewayNames") or []
        self.gateway = str(gateways[0]) if gateways else "manual"

    def bag(self, shop: Decimal, presentment: Decimal, key: str, at: str) -> dict[str, Any]:
        return bag(shop, presentment, _ctx(self.order, key, at))

    # ------------------------------------------------------------------ transactions

    def transaction(
        self,
        kind: str,
        amount: tuple[Decimal, Decimal],
        at: datetime,
        parent: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        gid, legacy = _gid("OrderTransaction", self.gid, kind, _iso(at))
        when = _iso(at)
        expires = _iso(at + timedelta(days=AUTHORIZATION_DAYS)) if kind == "AUTHORIZATION" else None
        return {
            "__typename": "OrderTransaction",
            "_ctx": _ctx(self.order, gid, when),
            "_orderId": self.gid,
            "id": gid,
            "legacyResourceId": legacy,
            "kind": kind,
            "status": "SUCCESS",
            "test": bool(self.order.get("test")),
            "gateway": self.gateway,
            "formattedGateway": GATEWAY_NAMES.get(self.gateway, self.gateway.title()),
            "manualPaymentGateway": self.gateway in ("cash", "manual"),
            "amountSet": self.bag(amount[0], amount[1], gid, when),
            "createdAt": when,
            "processedAt": when,
            "authorizationCode": None if self.gateway in ("cash", "manual") else legacy[-6:],
            "paymentId": f"r{legacy}",
            "authorizationExpiresAt": expires,
            "errorCode": None,
            "parentTransaction": parent,
            "fees": [],
            "manuallyCapturable": False,
            "multiCapturable": False,
        }

    def payments(self) -> list[dict[str, Any]]:
        status = str(self.order.get("displayFinancialStatus") or "")
        total = _both(self.order, "totalPriceSet")
        if status in PAID_STATUSES:
            return [self.transaction("SALE", total, self.processed)]
        if status == "PARTIALLY_PAID":
            half = (_cents(total[0] / 2), _cents(total[1] / 2))
            return [self.transaction("SALE", half, self.processed)]
        if status in ("AUTHORIZED", "EXPIRED"):
            return [self.transaction("AUTHORIZATION", total, self.processed)]
        if status == "VOIDED":
            authorization = self.transaction("AUTHORIZATION", total, self.processed)
            voided = self.cancelled or self.updated
            return [authorization, self.transaction("VOID", total, voided, authorization)]
        return []

    # ------------------------------------------------------------------ fulfillments

    def fulfillments(self) -> list[dict[str, Any]]:
        fulfilled = self.allocation.fulfilled
        if not fulfilled:
            return []
        offset = timedelta(seconds=3_600 + stable_number(self.gid, "fulfilled") % 169_200)
        moment = min(self.created + offset, self.updated)
        when = _iso(moment)
        gid, legacy = _gid("Fulfillment", self.gid, 1)
        ctx = _ctx(self.order, gid, when)
        lines: list[dict[str, Any]] = []
        for item in self.items:
            count = fulfilled.get(str(item["id"]), 0)
            if not count:
                continue
            line_gid, _ = _gid("FulfillmentLineItem", gid, item["id"])
            unit = _both(item, "originalUnitPriceSet")
            original = (unit[0] * count, unit[1] * count)
            discounted = (
                _cents(original[0] * self.factor[0]),
                _cents(original[1] * self.factor[1]),
            )
            lines.append(
                {
                    "__typename": "FulfillmentLineItem",
                    "_ctx": _ctx(self.order, line_gid, when),
                    "id": line_gid,
                    "quantity": count,
                    "lineItem": item,
                    "originalTotalSet": self.bag(*original, line_gid, when),
                    "discountedTotalSet": self.bag(*discounted, line_gid, when),
                }
            )
        carrier = CARRIERS[stable_number(self.gid, "carrier") % len(CARRIERS)]
        number = str(stable_number(self.gid, "tracking"))
        name = f"{self.order.get('name') or '#'}.1"
        return [
            {
                "__typename": "Fulfillment",
                "_ctx": ctx,
                "_orderId": self.gid,
                "id": gid,
                "legacyResourceId": legacy,
                "name": name,
                "status": "SUCCESS",
                "displayStatus": "FULFILLED",
                "createdAt": when,
                "updatedAt": when,
                "deliveredAt": None,
                "inTransitAt": None,
                "estimatedDeliveryAt": None,
                "requiresShipping": any(
                    bool(line["lineItem"].get("requiresShipping")) for line in lines
                ),
                "totalQuantity": sum(line["quantity"] for line in lines),
                "trackingInfo": [
                    {
                        "__typename": "FulfillmentTrackingInfo",
                        "company": carrier,
                        "number": number,
                        "url": f"https://tracking.example.com/{carrier.replace(' ', '-').lower()}/"
                        f"{number}",
                    }
                ],
                "_fulfillmentLineItems": lines,
            }
        ]

    # ------------------------------------------------------------------ refunds

    def refunds(self, sale: dict[str, Any] | None) -> tuple[list[dict[str, Any]], list[Any]]:
        refunded = _both(self.order, "totalRefundedSet")
        if not refunded[0] and not refunded[1]:
            return [], []
        moment = self.cancelled or self.updated
        when = _iso(moment)
        gid, legacy = _gid("Refund", self.gid, 1)
        lines: list[dict[str, Any]] = []
        for item in self.items:
            key = str(item["id"])
            unit = _both(item, "originalUnitPriceSet")
            for restock, count in (
                ("NO_RESTOCK", self.allocation.refunded_fulfilled.get(key, 0)),
                ("CANCEL", self.allocation.refunded_unfulfilled.get(key, 0)),
            ):
                if not count:
                    continue
                line_gid, _ = _gid("RefundLineItem", gid, key, restock)
                price = (_cents(unit[0] * self.factor[0]), _cents(unit[1] * self.factor[1]))
                subtotal = (price[0] * count, price[1] * count)
                tax = (_cents(subtotal[0] * self.rate), _cents(subtotal[1] * self.rate))
                lines.append(
                    {
                        "__typename": "RefundLineItem",
                        "_ctx": _ctx(self.order, line_gid, when),
                        "id": line_gid,
                        "lineItem": item,
                        "quantity": count,
                        "restockType": restock,
                        "restocked": restock == "CANCEL",
                        "location": None,
                        "priceSet": self.bag(*price, line_gid, when),
                        "subtotalSet": self.bag(*subtotal, line_gid, when),
                        "totalTaxSet": self.bag(*tax, line_gid, when),
                    }
                )
        transaction = self.transaction("REFUND", refunded, moment, sale)
        refund = {
            "__typename": "Refund",
            "_ctx": _ctx(self.order, gid, when),
            "_orderId": self.gid,
            "id": gid,
            "legacyResourceId": legacy,
            "note": "Order cancelled" if self.cancelled else None,
            "createdAt": when,
            "processedAt": when,
            "updatedAt": when,
            "totalRefundedSet": self.bag(*refunded, gid, when),
            "duties": [],
            "_refundLineItems": lines,
            "_transactions": [transaction],
            "_refundShippingLines": [],
            "_orderAdjustments": [],
        }
        return [refund], [transaction]

    def build(self) -> History:
        transactions = self.payments()
        sale = next((t for t in transactions if t["kind"] == "SALE"), None)
        refunds, refund_transactions = self.refunds(sale)
        transactions.extend(refund_transactions)
        transactions.sort(key=lambda t: (t["createdAt"], t["kind"] != "AUTHORIZATION"))
        return History(self.fulfillments(), refunds, transactions, self.items)


_cache: OrderedDict[tuple[Any, ...], History] = OrderedDict()
_lock = threading.Lock()


def _key(order: Mapping[str, Any], items: list[dict[str, Any]]) -> tuple[Any, ...]:
    """Everything the history depends on (stores built from other seeds reuse ids)."""
    return (
        *(
            str(order.get(name))
            for name in (
                "id",
                "createdAt",
                "updatedAt",
                "processedAt",
                "cancelledAt",
                "displayFinancialStatus",
                "displayFulfillmentStatus",
                "name",
            )
        ),
        *(_both(order, name) for name in HISTORY_TOTALS),
        tuple(
            (item.get("id"), _quantity(item), _both(item, "originalUnitPriceSet")) for item in items
        ),
    )


def order_history(order: Mapping[str, Any], items: list[dict[str, Any]]) -> History:
    """The history of ``order`` (cached per order id and ``updatedAt``)."""
    key = _key(order, items)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    built = _Builder(order, items).build()
    with _lock:
        _cache[key] = built
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return built
