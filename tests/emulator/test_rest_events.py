"""``events.json``: the shop's events, derived from its orders and customers.

https://shopify.dev/docs/api/admin-rest/2026-07/resources/event documents the list's
parameters (``limit``, ``since_id``, ``created_at_min``/``created_at_max``, ``filter``,
``verb``, ``fields``) and ``events/count.json``; paging follows
https://shopify.dev/docs/api/usage/pagination-rest.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from emulator.rest_pages import NEXT, PREVIOUS, walk_pages
from emulator_fixtures import EmulatorHandle

pytest_plugins = ["emulator_fixtures"]

EVENT_FIELDS = {
    "id", "subject_id", "created_at", "subject_type", "verb", "arguments", "body", "message",
    "author", "description", "path",
}  # fmt: skip


def walk(handle: EmulatorHandle, query: str, token: str | None = None) -> list[dict[str, Any]]:
    return walk_pages(handle, f"events.json?{query}", "events", token)


def count(handle: EmulatorHandle, query: str = "") -> int:
    with handle.client() as client:
        response = client.get(f"/admin/api/{handle.api_version}/events/count.json?{query}")
    assert response.status_code == 200
    value: int = response.json()["count"]
    return value


def test_events_cover_every_customer_and_order(emulator: EmulatorHandle) -> None:
    """One ``create`` per customer, one ``placed`` per order, ``closed``/``cancelled`` for
    the orders that were; ids unique and ascending across pages; the count agrees."""
    events = walk(emulator, "limit=13")
    ids = [event["id"] for event in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(set(event) == EVENT_FIELDS for event in events)
    orders = list(emulator.store.iter_all_orders())
    customers = list(emulator.store.iter_all_customers())
    verbs = Counter((event["subject_type"], event["verb"]) for event in events)
    assert verbs[("Customer", "create")] == len(customers)
    assert verbs[("Order", "placed")] == len(orders)
    assert verbs[("Order", "cancelled")] == sum(1 for o in orders if o["cancelledAt"])
    assert verbs[("Order", "closed")] == sum(
        1 for o in orders if o["closedAt"] and not o["cancelledAt"]
    )
    assert count(emulator) == len(events)
    placed = {e["subject_id"]: e for e in events if e["verb"] == "placed"}
    for order in orders:
        event = placed[int(order["legacyResourceId"])]
        assert datetime.fromisoformat(event["created_at"]) == datetime.fromisoformat(
            order["createdAt"].replace("Z", "+00:00")
        )
        assert event["path"] == f"/admin/orders/{order['legacyResourceId']}"
        assert event["arguments"] == [order["name"]]
    times = [datetime.fromisoformat(event["created_at"]) for event in events]
    assert times == sorted(times)


def test_event_filters(emulator: EmulatorHandle) -> None:
    """``filter`` selects subject types, ``verb`` the action, ``created_at_min`` and
    ``since_id`` bound the list; ``fields`` trims each event."""
    every = walk(emulator, "limit=250")
    orders_only = walk(emulator, "limit=250&filter=Order")
    assert orders_only == [e for e in every if e["subject_type"] == "Order"]
    both = walk(emulator, "limit=250&filter=Order,Customer")
    assert both == every
    cancelled = walk(emulator, "limit=250&verb=cancelled")
    assert cancelled == [e for e in every if e["verb"] == "cancelled"] and cancelled
    middle = every[len(every) // 2]
    since = walk(emulator, f"limit=50&since_id={middle['id']}")
    assert since == [e for e in every if e["id"] > middle["id"]]
    moment = middle["created_at"].replace("+", "%2B")
    later = walk(emulator, f"limit=50&created_at_min={moment}")
    pivot = datetime.fromisoformat(middle["created_at"])
    assert later == [e for e in every if datetime.fromisoformat(e["created_at"]) >= pivot]
    assert count(emulator, f"created_at_min={moment}") == len(later)
    trimmed = walk(emulator, "limit=250&fields=id,verb")
    assert trimmed == [{"id": e["id"], "verb": e["verb"]} for e in every]


def test_event_pages_go_back_and_validate(emulator: EmulatorHandle) -> None:
    """``rel="previous"`` returns the page before; ``page_info`` takes only ``limit`` and
    ``fields``; ``limit`` is 1-250."""
    path = f"/admin/api/{emulator.api_version}/events.json"
    with emulator.client() as client:
        first = client.get(f"{path}?limit=5")
        second = client.get(NEXT.search(first.headers["link"]).group(1))  # type: ignore[union-attr]
        back = client.get(PREVIOUS.search(second.headers["link"]).group(1))  # type: ignore[union-attr]
        assert back.json() == first.json()
        assert 'rel="previous"' not in first.headers["link"]
        assert client.get(f"{path}?limit=251").status_code == 400
        assert client.get(f"{path}?page_info=x&verb=placed").status_code == 400
        assert client.get(f"{path}?page_info=not-a-cursor").status_code == 400


def test_events_follow_the_token_scopes(emulator: EmulatorHandle) -> None:
    """A token reads the events of the resources its scopes cover (order events need
    ``read_orders``, customer events ``read_customers``)."""
    customers_only = emulator.mint_token(["read_customers"])
    events = walk(emulator, "limit=250", customers_only)
    assert events and {e["subject_type"] for e in events} == {"Customer"}
    nothing = emulator.mint_token(["read_products"])
    assert walk(emulator, "limit=250", nothing) == []
