"""A short scripted session against a fresh in-process emulator: the ``emulator check``.

It exercises what the backfill relies on (pagination, counts, a bulk export rebuilt from
its JSONL, throttling) and reports every mismatch, so a broken emulator is caught by one
command before a demo or a benchmark trusts it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from graphql import GraphQLSchema

from shopify_emulator.app import create_emulator_app
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.store import ShopStore
from shopify_emulator.throttle import ManualClock
from shopify_emulator.transport import EmulatorTransport

PAGE = """
query Page($after: String) {
  orders(first: 25, after: $after, sortKey: ID) {
    nodes { id lineItems(first: 50) { nodes { id } pageInfo { hasNextPage endCursor } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
MORE_LINES = """
query More($id: ID!, $after: String) {
  order(id: $id) {
    lineItems(first: 250, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } }
  }
}
"""
COUNTS = "{ ordersCount(limit: null) { count } customersCount(limit: null) { count } }"
BULK = """
mutation Run($query: String!) {
  bulkOperationRunQuery(query: $query) { bulkOperation { id } userErrors { message } }
}
"""
BULK_QUERY = "{ orders { edges { node { id lineItems { edges { node { id } } } } } } }"
POLL = "query($id: ID!) { bulkOperation(id: $id) { status objectCount rootObjectCount url } }"
BURST = """
query Burst {
  a: orders(first: 250) { nodes { id lineItems(first: 250) { nodes { id product { id } } } } }
  b: orders(first: 250) { nodes { id lineItems(first: 250) { nodes { id variant { id } } } } }
}
"""


@dataclass
class CheckReport:
    """What the session saw; ``problems`` empty means every expectation held."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def saw(self, text: str) -> None:
        self.lines.append(text)

    def expect(self, condition: bool, text: str) -> None:
        self.lines.append(("ok   " if condition else "FAIL ") + text)
        if not condition:
            self.problems.append(text)


def run_check(
    schema: GraphQLSchema,
    *,
    customers: int = 60,
    orders: int = 150,
    seed: int = 1,
    echo: Callable[[str], None] | None = None,
) -> CheckReport:
    """Build a store, serve it in-process and walk through the scripted session."""
    report = CheckReport()
    now = datetime.now(UTC).replace(microsecond=0)
    store = ShopStore.generate(None, customers=customers, orders=orders, seed=seed, now=now)
    clock = ManualClock()
    app = create_emulator_app(store, schema=schema, config=EmulatorConfig(), clock=clock)
    token = app.state.runtime.seed_grant.token
    transport = EmulatorTransport(app)
    headers = {"X-Shopify-Access-Token": token}
    base = f"https://{store.shop_domain}"
    try:
        with httpx.Client(transport=transport, base_url=base, headers=headers) as client:
            _session(client, report, clock, orders)
    finally:
        app.state.runtime.bulk.shutdown()
        transport.close()
        store.close()
    if echo is not None:
        for line in report.lines:
            echo(line)
    return report


def _post(client: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = client.post(
        "/admin/api/2026-07/graphql.json", json={"query": query, "variables": variables or {}}
    )
    response.raise_for_status()
    return response.json()


def _count_lines(client: httpx.Client, order: dict[str, Any]) -> int:
    """Line items of one order, following the nested connection past its first page."""
    lines = order["lineItems"]
    total = len(lines["nodes"])
    while lines["pageInfo"]["hasNextPage"]:
        variables = {"id": order["id"], "after": lines["pageInfo"]["endCursor"]}
        lines = _post(client, MORE_LINES, variables)["data"]["order"]["lineItems"]
        total += len(lines["nodes"])
    return total


def _session(client: httpx.Client, report: CheckReport, clock: ManualClock, orders: int) -> None:
    counts = _post(client, COUNTS)["data"]
    report.saw(
        f"counts: {counts['ordersCount']['count']} orders, "
        f"{counts['customersCount']['count']} customers"
    )
    report.expect(counts["ordersCount"]["count"] == orders, f"ordersCount is {orders}")

    seen: list[str] = []
    line_items = 0
    after = None
    pages = 0
    while True:
        body = _post(client, PAGE, {"after": after})
        connection = body["data"]["orders"]
        seen.extend(node["id"] for node in connection["nodes"])
        for node in connection["nodes"]:
            line_items += _count_lines(client, node)
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    report.saw(f"paginated: {len(seen)} orders, {line_items} line items in {pages} pages")
    report.expect(len(seen) == len(set(seen)) == orders, "pagination returns every order once")

    run = _post(client, BULK, {"query": BULK_QUERY})["data"]["bulkOperationRunQuery"]
    report.expect(run["userErrors"] == [], "bulk run accepted")
    gid = run["bulkOperation"]["id"]
    deadline = time.monotonic() + 60
    operation: dict[str, Any] = {}
    while time.monotonic() < deadline:
        operation = _post(client, POLL, {"id": gid})["data"]["bulkOperation"]
        if operation["status"] not in ("CREATED", "RUNNING"):
            break
        time.sleep(0.05)
    report.saw(f"bulk: {operation.get('status')}, objectCount {operation.get('objectCount')}")
    report.expect(operation.get("status") == "COMPLETED", "bulk operation completed")
    if operation.get("url"):
        lines = [orjson.loads(raw) for raw in client.get(operation["url"]).content.splitlines()]
        roots = {line["id"] for line in lines if "__parentId" not in line}
        children = [line for line in lines if "__parentId" in line]
        report.saw(f"bulk file: {len(roots)} orders, {len(children)} line items")
        report.expect(str(len(lines)) == operation["objectCount"], "lines == objectCount")
        report.expect(str(len(roots)) == operation["rootObjectCount"], "roots == rootObjectCount")
        report.expect(roots == set(seen), "bulk orders == paginated orders")
        report.expect(len(children) == line_items, "bulk line items == paginated line items")
        report.expect(all(c["__parentId"] in roots for c in children), "children re-attach")

    throttled_after = None
    for attempt in range(1, 40):
        body = _post(client, BURST)
        if body.get("errors"):
            throttled_after = attempt
            code = body["errors"][0]["extensions"]["code"]
            report.expect(code == "THROTTLED", f"burst throttled after {attempt} queries")
            status = body["extensions"]["cost"]
            wait = (
                status["requestedQueryCost"] - status["throttleStatus"]["currentlyAvailable"]
            ) / status["throttleStatus"]["restoreRate"]
            clock.advance(wait)
            again = _post(client, BURST)
            report.expect("errors" not in again, f"query succeeds after waiting {wait:.1f}s")
            break
    report.expect(throttled_after is not None, "a burst of expensive queries is throttled")
