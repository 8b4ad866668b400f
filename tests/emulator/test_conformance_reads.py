"""Every captured customer/order read, replayed through the executor: same data shape.

The captured stores hold other ids, tags and emails, so a few variables are re-pointed at
equivalent objects of the synthetic store (an order that is paid, unfulfilled and tagged;
a tag carried by several orders; a Canadian customer with tags...). Then the response is
compared field by field with the capture: same keys, same JSON types, values where the
capture has values, empty where the capture is empty, and Shopify's string formats (gids,
string-encoded integers and decimals, DateTime, base64-JSON cursors). ``extensions.search``
entries must equal the capture's exactly.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from graphql import GraphQLSchema, parse

from emulator_fixtures import conformance_dir
from shopify_backfill.shopify.schema import validation_errors
from shopify_emulator.executor import Executor
from shopify_emulator.store import ShopStore

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
CAPTURES = sorted(
    [
        *(conformance_dir() / "customers").glob("*.json"),
        *(conformance_dir() / "orders").glob("*.json"),
    ]
)


@dataclass
class Call:
    name: str
    query: str
    variables: dict[str, Any]
    data: dict[str, Any]
    search: list[dict[str, Any]] | None


def captured_reads(path: Path) -> list[Call]:
    """Read operations of a capture, in capture order (mutations are not reads)."""
    raw = orjson.loads(path.read_bytes())
    calls = []
    for upstream in raw.get("upstreamCalls", []):
        body = upstream["response"]["body"]
        calls.append(
            Call(
                upstream["operationName"],
                upstream["query"],
                upstream.get("variables") or {},
                body["data"],
                body.get("extensions", {}).get("search"),
            )
        )
    if "searchRead" in raw:
        read = raw["searchRead"]
        calls.append(
            Call(
                "searchRead",
                read["query"],
                read["variables"],
                read["response"]["data"],
                read["response"].get("extensions", {}).get("search"),
            )
        )
    return [
        c for c in calls if not c.query.lstrip().startswith(("mutation", "#graphql\n  mutation"))
    ]


# --------------------------------------------------------------------------- store


@pytest.fixture(scope="module")
def store() -> Iterator[ShopStore]:
    with ShopStore.generate(None, customers=300, orders=1_500, seed=13, now=NOW) as built:
        yield built


@pytest.fixture(scope="module")
def executor(admin_schema: GraphQLSchema, store: ShopStore) -> Executor:
    return Executor(admin_schema, store)


def _order_variables(store: ShopStore, variables: dict[str, Any]) -> dict[str, Any]:
    orders = list(store.iter_all_orders())
    tag_counts = Counter(tag for order in orders for tag in order["tags"])
    # The captured orders of the tag that the calls read (the two newest, the oldest) all
    # carry an email; not every synthetic order does (guests without one exist on
    # purpose), so pick a tag alike.
    tagged: dict[str, list[dict[str, Any]]] = {}
    for order in orders:
        for tag in order["tags"]:
            tagged.setdefault(tag, []).append(order)

    def like_capture(tag: str) -> bool:
        read = [*tagged[tag][:1], *tagged[tag][-2:]]
        return tag_counts[tag] >= 3 and all(o["email"] is not None for o in read)

    target = next(
        o
        for o in reversed(orders)
        if o["displayFinancialStatus"] == "PAID"
        and o["displayFulfillmentStatus"] == "UNFULFILLED"
        and o["email"] is not None
        and any(like_capture(t) for t in o["tags"])
    )
    tag = next(t for t in target["tags"] if like_capture(t))
    number = target["legacyResourceId"]
    adapted = dict(variables)
    adapted.update(
        tagQuery=f"tag:{tag}",
        nameQuery=f"name:{target['name'].lstrip('#')}",
        idQuery=f"id:{number}",
        combinedQuery=f"id:{number} tag:{tag} financial_status:paid fulfillment_status:unfulfilled",
    )
    return adapted


def _keyed_variables(store: ShopStore, variables: dict[str, Any]) -> dict[str, Any]:
    customers = list(store.iter_all_customers())
    disabled = [c for c in customers if c["state"] == "DISABLED" and c["tags"] and c["email"]]
    canadian = next(c for c in disabled if (c["defaultAddress"] or {}).get("country") == "Canada")
    tag_a = canadian["tags"][0]
    other = next(
        c for c in disabled if c["tags"] and tag_a not in c["tags"] and len(c["tags"]) < 250
    )
    tag_s = other["tags"][0]
    return {
        "countryQuery": f"country:Canada tag:'{tag_a}'",
        "stateQuery": f"state:DISABLED tag:'{tag_a}'",
        "defaultQuery": f'"{canadian["email"]}"',
        "orQuery": f"(tag:'{tag_a}' OR tag:'{tag_s}') state:DISABLED",
        "exclusionQuery": f"tag:'{tag_s}' -tag:'{tag_a}'",
    }


def _detail_variables(store: ShopStore, variables: dict[str, Any]) -> dict[str, Any]:
    customer = next(
        c
        for c in store.iter_all_customers()
        if c["defaultAddress"] and c["phone"] and c["email"] and int(c["numberOfOrders"]) > 0
    )
    return {**variables, "id": customer["id"]}


ADAPTERS: dict[str, Callable[[ShopStore, dict[str, Any]], dict[str, Any]]] = {
    "customer-detail.json": _detail_variables,
    "customers-keyed-search-filters.json": _keyed_variables,
    "order-catalog-count-read.json": _order_variables,
}


# --------------------------------------------------------------------------- shape


GID = re.compile(r"^gid://shopify/([A-Za-z]+)/\d+$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
INTEGER = re.compile(r"^\d+$")
DECIMAL = re.compile(r"^-?\d+\.\d+$")
NUMERIC_KEYS = {"legacyResourceId", "numberOfOrders", "amount"}


def string_kind(key: str, value: str) -> str | None:
    """The format class a string must keep; ``None`` for free text."""
    if key.endswith(("cursor", "Cursor")):
        return "cursor"
    match = GID.match(value)
    if match:
        return f"gid:{match.group(1)}"
    if DATETIME.match(value):
        return "datetime"
    if key in NUMERIC_KEYS:
        return "integer" if INTEGER.match(value) else "decimal" if DECIMAL.match(value) else "text"
    return None


def check_cursor(value: str, where: str) -> None:
    payload = orjson.loads(base64.b64decode(value, validate=True))
    assert isinstance(payload, dict) and isinstance(payload.get("last_id"), int), where


def compare(expected: Any, actual: Any, where: str, key: str = "", *, strict: bool = True) -> None:
    """``actual`` has ``expected``'s shape; ``strict`` also demands its non-null values.

    Items of a connection are compared loosely (a synthetic customer may lack the phone a
    captured one had) and ``present_somewhere`` then demands each captured value in at
    least one returned item.
    """
    if expected is None:
        return  # the capture shows no value here, so any value (or none) is acceptable
    if actual is None:
        assert not strict, f"{where}: capture has a value, emulator returned null"
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        assert set(actual) == set(expected), f"{where}: keys {set(actual) ^ set(expected)}"
        for name, value in expected.items():
            compare(value, actual[name], f"{where}.{name}", name, strict=strict)
        return
    if isinstance(expected, list):
        assert isinstance(actual, list), where
        if key in {"edges", "nodes"}:
            assert bool(actual) == bool(expected), f"{where}: capture has {len(expected)} items"
        if not expected:
            return
        template = _merge(expected)
        for index, item in enumerate(actual):
            compare(template, item, f"{where}[{index}]", key, strict=False)
        if key in {"edges", "nodes"}:
            present_somewhere(template, actual, where)
        return
    assert type(actual) is type(expected), f"{where}: {type(actual)} vs {type(expected)}"
    if isinstance(expected, str):
        kind = string_kind(key, expected)
        if kind is not None:
            assert string_kind(key, actual) == kind, f"{where}: {actual!r} is not {kind}"
        if kind == "cursor":
            check_cursor(actual, where)


def present_somewhere(template: Any, items: list[Any], where: str) -> None:
    """Each value the capture shows appears, non-null, in at least one returned item."""
    if not isinstance(template, dict):
        return
    for name, value in template.items():
        if value is None:
            continue
        filled = [item[name] for item in items if item.get(name) is not None]
        assert filled, f"{where}[*].{name}: null in every returned item"
        if isinstance(value, dict):
            present_somewhere(value, filled, f"{where}[*].{name}")


def _merge(items: list[Any]) -> Any:
    """One template for all captured list items: a value wherever any item has one.

    A key that is null in some captured item stays optional.
    """
    template = items[0]
    if not isinstance(template, dict):
        return template
    merged: dict[str, Any] = {}
    for name in template:
        values = [item[name] for item in items]
        if any(value is None for value in values):
            merged[name] = None
        else:
            merged[name] = _merge(values) if isinstance(values[0], dict | list) else values[0]
    return merged


def empty_connections_have_null_cursors(value: Any, where: str) -> None:
    if isinstance(value, dict):
        if "pageInfo" in value and not (value.get("edges") or value.get("nodes")):
            info = value["pageInfo"]
            assert info.get("startCursor") is None and info.get("endCursor") is None, where
        for name, inner in value.items():
            empty_connections_have_null_cursors(inner, f"{where}.{name}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            empty_connections_have_null_cursors(inner, f"{where}[{index}]")


# --------------------------------------------------------------------------- tests


def test_every_capture_has_reads() -> None:
    assert len(CAPTURES) == 8
    assert all(captured_reads(path) for path in CAPTURES)


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_capture_shape(
    capture: Path, executor: Executor, store: ShopStore, admin_schema: GraphQLSchema
) -> None:
    previous_end_cursor: str | None = None
    for call in captured_reads(capture):
        assert validation_errors(admin_schema, call.query) == [], call.name
        adapt = ADAPTERS.get(capture.name)
        variables = adapt(store, call.variables) if adapt else dict(call.variables)
        if "after" in variables:
            assert previous_end_cursor is not None, "a next-page call follows a first page"
            variables["after"] = previous_end_cursor
        result = executor.execute(parse(call.query), variables)
        assert result.errors == [], f"{capture.name}/{call.name}: {result.errors}"
        assert result.data is not None
        compare(call.data, result.data, f"{capture.name}/{call.name}")
        empty_connections_have_null_cursors(result.data, call.name)
        assert (result.search or None) == (call.search or None), call.name
        for alias in ("recent", "seedCatalog"):
            if alias in result.data and "pageInfo" in result.data[alias]:
                previous_end_cursor = result.data[alias]["pageInfo"]["endCursor"]


def test_count_capture_values_with_invalid_fields(executor: Executor, store: ShopStore) -> None:
    """Invalid filters are ignored: every count equals the total, as in the capture."""
    path = next(p for p in CAPTURES if p.name == "customers-count.json")
    (call,) = captured_reads(path)
    result = executor.execute(parse(call.query), call.variables)
    total = store.counts()["customers"]
    assert result.data == {
        alias: {"count": total, "precision": "EXACT"} for alias in ("total", "matching", "disabled")
    }


def test_order_capture_semantics(executor: Executor, store: ShopStore) -> None:
    """Beyond shape: counts, limits and the combined filter behave like the capture."""
    path = next(p for p in CAPTURES if p.name == "order-catalog-count-read.json")
    call = captured_reads(path)[0]
    variables = _order_variables(store, call.variables)
    data = executor.execute(parse(call.query), variables).data
    assert data is not None
    assert data["limitedTaggedCount"]["precision"] == "AT_LEAST"
    assert data["limitedTaggedCount"]["count"] == 1
    assert data["exactTaggedCount"]["precision"] == "EXACT"
    assert data["exactTaggedCount"]["count"] >= 3
    assert data["idMissCount"] == {"count": 0, "precision": "EXACT"}
    assert data["combinedAndCount"] == {"count": 1, "precision": "EXACT"}
    assert data["byCombinedAnd"]["nodes"][0]["id"].endswith(variables["idQuery"][3:])
    recent = data["recent"]["nodes"][0]["createdAt"]
    oldest = data["oldest"]["nodes"][0]["createdAt"]
    assert recent > oldest
