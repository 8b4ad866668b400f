"""An order's fulfillments, refunds and transactions agree with its totals and statuses.

Shopify's Order object: ``totalRefundedSet`` is the sum of the refunds' transactions,
``totalReceivedSet`` what was captured, ``fulfillments`` cover at most the ordered
quantities and ``LineItem.unfulfilledQuantity`` is what remains
(https://shopify.dev/docs/api/admin-graphql/latest/objects/Order,
https://shopify.dev/docs/api/admin-graphql/latest/objects/Fulfillment,
https://shopify.dev/docs/api/admin-graphql/latest/objects/Refund,
https://shopify.dev/docs/api/admin-graphql/latest/objects/OrderTransaction).
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from emulator_fixtures import EmulatorHandle

pytest_plugins = ["emulator_fixtures"]

MONEY = "shopMoney { amount } presentmentMoney { amount }"
HISTORY = f"""
query History($id: ID!) {{ order(id: $id) {{
  id displayFinancialStatus displayFulfillmentStatus cancelledAt
  totalPriceSet {{ {MONEY} }} totalRefundedSet {{ {MONEY} }} totalReceivedSet {{ {MONEY} }}
  fulfillmentsCount {{ count }} transactionsCount {{ count }}
  lineItems(first: 250) {{ nodes {{ id quantity unfulfilledQuantity fulfillableQuantity
    currentQuantity refundableQuantity }} }}
  fulfillments {{ id status createdAt totalQuantity trackingInfo {{ company number }}
    fulfillmentLineItems(first: 250) {{ nodes {{ quantity lineItem {{ id }} }}
      pageInfo {{ hasNextPage }} }} }}
  refunds {{ id createdAt order {{ id }} totalRefundedSet {{ {MONEY} }}
    refundLineItems(first: 250) {{ nodes {{ quantity restockType lineItem {{ id }} }} }}
    transactions(first: 10) {{ nodes {{ id kind amountSet {{ {MONEY} }} }} }} }}
  transactions {{ id kind status amountSet {{ {MONEY} }} parentTransaction {{ id kind }} }}
}} }}
"""


def _amount(bag: dict[str, Any], side: str = "shopMoney") -> Decimal:
    return Decimal(bag[side]["amount"])


def history_of(handle: EmulatorHandle, gid: str) -> dict[str, Any]:
    handle.clock.advance(30)
    body = handle.graphql(HISTORY, {"id": gid}).json()
    assert "errors" not in body, body.get("errors")
    order: dict[str, Any] = body["data"]["order"]
    return order


def test_history_agrees_with_totals_and_quantities(emulator: EmulatorHandle) -> None:
    """Sum of REFUND transactions == totalRefundedSet; SALE/CAPTURE == totalReceivedSet;
    fulfilled + unfulfilled + cancelled == ordered for every line item."""
    seen: Counter[str] = Counter()
    for doc in emulator.store.iter_all_orders():
        order = history_of(emulator, doc["id"])
        seen[order["displayFinancialStatus"]] += 1
        seen[order["displayFulfillmentStatus"]] += 1
        transactions = order["transactions"]
        assert order["transactionsCount"]["count"] == len(transactions)
        assert order["fulfillmentsCount"]["count"] == len(order["fulfillments"])
        for side in ("shopMoney", "presentmentMoney"):
            refunds = [t for t in transactions if t["kind"] == "REFUND"]
            refunded = sum((_amount(t["amountSet"], side) for t in refunds), Decimal(0))
            assert refunded == _amount(order["totalRefundedSet"], side)
            received = sum(
                (_amount(t["amountSet"], side) for t in transactions if t["kind"] == "SALE"),
                Decimal(0),
            )
            assert received == _amount(order["totalReceivedSet"], side)
            per_refund = sum(
                (_amount(r["totalRefundedSet"], side) for r in order["refunds"]), Decimal(0)
            )
            assert per_refund == refunded
        for refund in order["refunds"]:
            assert refund["order"]["id"] == order["id"]
            inner = refund["transactions"]["nodes"]
            assert [t["kind"] for t in inner] == ["REFUND"]
        for transaction in transactions:
            assert transaction["status"] == "SUCCESS"
            if transaction["kind"] in ("REFUND", "VOID"):
                assert transaction["parentTransaction"] is not None
        fulfilled: Counter[str] = Counter()
        for fulfillment in order["fulfillments"]:
            assert fulfillment["status"] == "SUCCESS" and fulfillment["trackingInfo"]
            nodes = fulfillment["fulfillmentLineItems"]["nodes"]
            listed = sum(node["quantity"] for node in nodes)
            if fulfillment["fulfillmentLineItems"]["pageInfo"]["hasNextPage"]:
                assert fulfillment["totalQuantity"] > listed  # an order of 260 line items
            else:
                assert fulfillment["totalQuantity"] == listed
            for node in nodes:
                fulfilled[node["lineItem"]["id"]] += node["quantity"]
        cancelled: Counter[str] = Counter()
        refunded_units: Counter[str] = Counter()
        for refund in order["refunds"]:
            for node in refund["refundLineItems"]["nodes"]:
                refunded_units[node["lineItem"]["id"]] += node["quantity"]
                if node["restockType"] == "CANCEL":
                    cancelled[node["lineItem"]["id"]] += node["quantity"]
        for item in order["lineItems"]["nodes"]:
            quantity = item["quantity"]
            assert fulfilled[item["id"]] <= quantity
            assert refunded_units[item["id"]] <= quantity
            assert item["fulfillableQuantity"] == item["unfulfilledQuantity"]
            assert item["refundableQuantity"] == quantity - refunded_units[item["id"]]
            if order["cancelledAt"] is None:
                expected = quantity - fulfilled[item["id"]] - cancelled[item["id"]]
                assert item["unfulfilledQuantity"] == expected
            else:
                assert item["unfulfilledQuantity"] == 0
        status = order["displayFulfillmentStatus"]
        lines = order["lineItems"]["nodes"]
        if status == "FULFILLED":
            assert all(fulfilled[i["id"]] == i["quantity"] for i in lines)
        elif status == "PARTIALLY_FULFILLED":
            assert 0 < sum(fulfilled.values()) <= sum(i["quantity"] for i in lines)
        else:
            assert not order["fulfillments"]
        if order["displayFinancialStatus"] in ("REFUNDED", "PARTIALLY_REFUNDED"):
            assert order["refunds"]
        if order["displayFinancialStatus"] == "REFUNDED":
            assert all(refunded_units[i["id"]] == i["quantity"] for i in lines)
    assert {"PAID", "FULFILLED", "UNFULFILLED"} <= set(seen)


def test_history_is_stable_between_requests(emulator: EmulatorHandle) -> None:
    """Ids and times are derived, not random: a client that stores them sees them again."""
    doc = next(
        d for d in emulator.store.iter_all_orders() if d["displayFinancialStatus"] == "REFUNDED"
    )
    assert history_of(emulator, doc["id"]) == history_of(emulator, doc["id"])


LINE_ITEM = """
query One($id: ID!) { node(id: $id) { ... on LineItem { id quantity unfulfilledQuantity
  fulfillableQuantity currentQuantity } } }
"""


def test_a_line_item_looked_up_by_id_agrees_with_its_order(emulator: EmulatorHandle) -> None:
    """``node(id:)`` answers a line item with the same quantities as its order's page
    (https://shopify.dev/docs/api/admin-graphql/latest/objects/LineItem)."""
    checked = 0
    for doc in emulator.store.iter_all_orders():
        if doc["displayFulfillmentStatus"] not in ("UNFULFILLED", "PARTIALLY_FULFILLED"):
            continue
        order = history_of(emulator, doc["id"])
        for item in order["lineItems"]["nodes"][:3]:
            emulator.clock.advance(5)
            node = emulator.graphql(LINE_ITEM, {"id": item["id"]}).json()["data"]["node"]
            assert node == {key: item[key] for key in node}
            checked += 1
        if order["cancelledAt"] is None and doc["displayFulfillmentStatus"] == "UNFULFILLED":
            assert any(
                i["unfulfilledQuantity"] == i["quantity"] for i in order["lineItems"]["nodes"]
            )
    assert checked
