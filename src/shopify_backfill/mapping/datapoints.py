"""Data-point arithmetic (SPEC §3.5), shared by the loader's meter and the preview estimate.

1 per attribute actually changed, 1 per custom event, 1 per purchase, plus 1 per
top-level event or purchase property that carries a value. A property whose value is
null, an empty string, an empty list or an empty object is stored (the property list
stays exact) but sends nothing and costs nothing. Identifiers, aliases and subscription
states are free.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shopify_backfill.mapping.intents import EventIntent, OrderIntent, PurchaseIntent

ATTRIBUTE_POINTS = 1
EVENT_POINTS = 1
PURCHASE_POINTS = 1


def carries_value(value: Any) -> bool:
    """Whether a property value is billable: not null and not empty."""
    if value is None:
        return False
    if isinstance(value, str | list | dict | tuple):
        return len(value) > 0
    return True


_SIZED = (str, list, dict, tuple)


def property_points(properties: Mapping[str, Any]) -> int:
    """``carries_value`` over the values, inlined: it runs for every event and purchase."""
    empty = 0
    for value in properties.values():
        # Only falsy values can be empty; numbers and booleans always carry a value.
        if value is None or (not value and isinstance(value, _SIZED)):
            empty += 1
    return len(properties) - empty


def event_points(event: EventIntent) -> int:
    return EVENT_POINTS + property_points(event.properties)


def purchase_points(purchase: PurchaseIntent) -> int:
    return PURCHASE_POINTS + property_points(purchase.properties)


def order_points(order: OrderIntent) -> int:
    """Event plus purchases of one order, before any deduplication."""
    return event_points(order.event) + sum(purchase_points(p) for p in order.purchases)
