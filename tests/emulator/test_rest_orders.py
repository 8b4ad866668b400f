"""REST orders: one order, its history (fulfillments, refunds, transactions), every line
item, and the list parameters Shopify clients send.

Each test cites the REST Admin API page whose behaviour it encodes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from graphql import GraphQLSchema

from emulator.rest_pages import NEXT, walk_pages
from emulator_fixtures import STORE_NOW, EmulatorHandle, start_emulator
from shopify_emulator.store import ShopStore

pytest_plugins = ["emulator_fixtures"]


def get(handle: EmulatorHandle, path: str, token: str | None = None) -> Any:
    with handle.client(token) as client:
        return client.get(f"/admin/api/{handle.api_version}/{path}")


def walk(handle: EmulatorHandle, path: str) -> list[dict[str, Any]]:
    return walk_pages(handle, path, "orders")


@pytest.fixture(scope="module")
def big_store() -> Iterator[ShopStore]:
    """A store holding an order of 260 line items (the synthetic generator places one at a
    third of the order count; with seed 3 it is fulfilled and refunded) and one of 251."""
    with ShopStore.generate(None, customers=10, orders=9, seed=3, now=STORE_NOW) as store:
        yield store


@pytest.fixture
def big(admin_schema: GraphQLSchema, big_store: ShopStore) -> Iterator[EmulatorHandle]:
    with start_emulator(admin_schema, store=big_store) as handle:
        yield handle


def test_line_items_are_not_cut_at_250(big: EmulatorHandle) -> None:
    """REST ``line_items`` holds every line of the order - there is no page limit inside
    an order (https://shopify.dev/docs/api/admin-rest/2026-07/resources/order)."""
    sizes = {
        int(doc["legacyResourceId"]): len(big.store.order_line_items(int(doc["legacyResourceId"])))
        for doc in big.store.iter_all_orders()
    }
    assert sorted(sizes.values())[-2:] == [251, 260]
    largest = max(sizes, key=lambda key: sizes[key])
    one = get(big, f"orders/{largest}.json").json()["order"]
    assert len(one["line_items"]) == 260
    assert len({item["id"] for item in one["line_items"]}) == 260
    listed = {order["id"]: order for order in walk(big, "orders.json?status=any&limit=250")}
    assert {key: len(order["line_items"]) for key, order in listed.items()} == sizes
    assert (one["fulfillment_status"], one["financial_status"]) == ("fulfilled", "refunded")
    assert [len(f["line_items"]) for f in one["fulfillments"]] == [260]
    assert [len(r["refund_line_items"]) for r in one["refunds"]] == [260]
    quantities = {item["id"]: item["quantity"] for item in one["line_items"]}
    refunded = {
        line["line_item_id"]: line["quantity"] for line in one["refunds"][0]["refund_line_items"]
    }
    assert refunded == quantities


def test_single_order_equals_the_listed_one_and_404s(emulator: EmulatorHandle) -> None:
    """``GET orders/{id}.json`` returns the order as the list does; an unknown id is 404
    ``{"errors": "Not Found"}``
    (https://shopify.dev/docs/api/admin-rest/2026-07/resources/order#get-orders-order-id)."""
    listed = get(emulator, "orders.json?status=any&limit=5").json()["orders"]
    for order in listed:
        assert get(emulator, f"orders/{order['id']}.json").json() == {"order": order}
    missing = get(emulator, "orders/12345.json")
    assert missing.status_code == 404 and missing.json() == {"errors": "Not Found"}
    for part in ("fulfillments", "refunds", "transactions"):
        assert get(emulator, f"orders/12345/{part}.json").status_code == 404
    limited = emulator.mint_token(["read_customers"])
    assert get(emulator, f"orders/{listed[0]['id']}.json", limited).status_code == 403


def _amount(value: str) -> Decimal:
    return Decimal(value)


def test_order_history_in_rest_agrees_with_the_order(emulator: EmulatorHandle) -> None:
    """An order carries ``fulfillments`` and ``refunds``; ``fulfillments.json``,
    ``refunds.json`` and ``transactions.json`` list the same history: a paid order has a
    sale for its total, refund transactions sum to what was refunded, fulfilled quantities
    never exceed the ordered ones
    (https://shopify.dev/docs/api/admin-rest/2026-07/resources/fulfillment,
    https://shopify.dev/docs/api/admin-rest/2026-07/resources/refund,
    https://shopify.dev/docs/api/admin-rest/2026-07/resources/transaction)."""
    orders = walk(emulator, "orders.json?status=any&limit=250")
    statuses: Counter[str] = Counter()
    for order in orders:
        emulator.clock.advance(5.0)
        statuses[order["financial_status"]] += 1
        fulfillments = get(emulator, f"orders/{order['id']}/fulfillments.json").json()
        refunds = get(emulator, f"orders/{order['id']}/refunds.json").json()
        transactions = get(emulator, f"orders/{order['id']}/transactions.json").json()
        assert fulfillments == {"fulfillments": order["fulfillments"]}
        assert refunds == {"refunds": order["refunds"]}
        kinds = [t["kind"] for t in transactions["transactions"]]
        total = _amount(order["total_price_set"]["presentment_money"]["amount"])
        if order["financial_status"] in ("paid", "refunded", "partially_refunded"):
            sale = [t for t in transactions["transactions"] if t["kind"] == "sale"]
            assert [_amount(t["amount"]) for t in sale] == [total]
        if order["financial_status"] in ("authorized", "voided"):
            assert "authorization" in kinds
        if order["financial_status"] == "pending":
            assert kinds == []
        refunded = sum(
            (_amount(t["amount"]) for t in transactions["transactions"] if t["kind"] == "refund"),
            Decimal(0),
        )
        inner = sum(
            (_amount(t["amount"]) for r in order["refunds"] for t in r["transactions"]),
            Decimal(0),
        )
        assert refunded == inner
        if order["financial_status"] == "refunded":
            assert refunded == total
        if order["financial_status"] == "partially_refunded":
            assert 0 < refunded < total
        ordered = {item["id"]: item["quantity"] for item in order["line_items"]}
        shipped: Counter[int] = Counter()
        for fulfillment in order["fulfillments"]:
            assert fulfillment["order_id"] == order["id"]
            assert fulfillment["status"] == "success" and fulfillment["tracking_number"]
            for item in fulfillment["line_items"]:
                shipped[item["id"]] += item["quantity"]
        assert all(shipped[key] <= quantity for key, quantity in ordered.items())
        if order["fulfillment_status"] == "fulfilled":
            assert dict(shipped) == ordered
        if order["fulfillment_status"] is None:
            assert order["fulfillments"] == []
        for item in order["line_items"]:
            remaining = item["quantity"] - shipped[item["id"]]
            if order["cancelled_at"] is None and not order["refunds"]:
                assert item["fulfillable_quantity"] == remaining
        for refund in order["refunds"]:
            for line in refund["refund_line_items"]:
                assert line["line_item_id"] in ordered
                assert line["quantity"] <= ordered[line["line_item_id"]]
                assert line["restock_type"] in ("no_restock", "cancel")
    assert {"paid", "pending"} <= set(statuses)
    assert statuses["refunded"] + statuses["partially_refunded"] > 0


def test_order_parameter_sorts_and_since_id_filters(emulator: EmulatorHandle) -> None:
    """``order=updated_at asc`` (or ``created_at desc``, ``id asc``) sorts the list and
    its next pages; ``since_id`` keeps ids above it
    (https://shopify.dev/docs/api/admin-rest/2026-07/resources/order#get-orders,
    https://shopify.dev/docs/api/usage/pagination-rest)."""
    for order, key, reverse in (
        ("updated_at asc", "updated_at", False),
        ("updated_at desc", "updated_at", True),
        ("created_at desc", "created_at", True),
        ("id asc", "id", False),
        ("id desc", "id", True),
    ):
        listed = walk(emulator, f"orders.json?status=any&limit=7&order={order}")
        assert len(listed) == 80
        values = [o[key] if key == "id" else datetime.fromisoformat(o[key]) for o in listed]
        assert values == sorted(values, reverse=reverse)
    every = walk(emulator, "orders.json?status=any&limit=250")
    pivot = every[30]["id"]
    after = walk(emulator, f"orders.json?status=any&limit=9&since_id={pivot}")
    assert [o["id"] for o in after] == [o["id"] for o in every if o["id"] > pivot]
    ignored = walk(emulator, "orders.json?status=any&limit=250&order=nonsense")
    assert [o["id"] for o in ignored] == [o["id"] for o in every]


def test_fields_limit_and_page_info_rules(emulator: EmulatorHandle) -> None:
    """``fields`` keeps only the named properties (and is carried into Link pages);
    ``limit`` must be 1-250; a ``page_info`` request takes only ``limit`` and ``fields``
    (https://shopify.dev/docs/api/usage/pagination-rest,
    https://shopify.dev/docs/api/admin-rest/2026-07/resources/order#get-orders)."""
    first = get(emulator, "orders.json?status=any&limit=3&fields=id,name,line_items")
    assert first.status_code == 200
    assert all(set(o) == {"id", "name", "line_items"} for o in first.json()["orders"])
    link = NEXT.search(first.headers["link"])
    assert link is not None and "fields=id%2Cname%2Cline_items" in link.group(1)
    with emulator.client() as client:
        second = client.get(link.group(1))
    assert all(set(o) == {"id", "name", "line_items"} for o in second.json()["orders"])
    for bad in ("0", "251", "-1", "ten"):
        response = get(emulator, f"orders.json?limit={bad}")
        assert response.status_code == 400 and "limit" in response.json()["errors"]
    mixed = get(emulator, "orders.json?page_info=abc&status=any")
    assert mixed.status_code == 400 and "page_info" in mixed.json()["errors"]
    garbage = get(emulator, "orders.json?page_info=%%%")
    assert garbage.status_code == 400
    for name, value in (("financial_status", "rich"), ("fulfillment_status", "lost")):
        assert get(emulator, f"orders.json?{name}={value}").status_code == 400
    assert get(emulator, "orders.json?created_at_min=yesterday").status_code == 400
    # Parameters Shopify does not know are ignored.
    plain = get(emulator, "orders.json?status=any&limit=3").json()
    assert get(emulator, "orders.json?status=any&limit=3&colour=blue").json() == plain
