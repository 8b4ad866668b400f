"""The executor: GraphQL semantics, Shopify's connection rules, visibility, bulk JSONL."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from graphql import FieldNode, GraphQLSchema, NonNullTypeNode, OperationDefinitionNode, parse

from shopify_backfill.shopify import queries
from shopify_backfill.shopify.schema import validation_errors
from shopify_emulator.executor import (
    BulkQueryError,
    Executor,
    ResolveContext,
    parse_gid,
)
from shopify_emulator.store import ShopStore

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
WINDOW = queries.window_filter(NOW - timedelta(days=90), NOW)


@pytest.fixture(scope="module")
def store() -> Iterator[ShopStore]:
    with ShopStore.generate(None, customers=80, orders=400, seed=21, now=NOW) as built:
        yield built


@pytest.fixture(scope="module")
def executor(admin_schema: GraphQLSchema, store: ShopStore) -> Executor:
    return Executor(admin_schema, store)


_VALIDATED: dict[str, Any] = {}


def run(executor: Executor, text: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
    """Validate once per text (as the HTTP layer does), then execute."""
    if text not in _VALIDATED:
        assert validation_errors(executor.schema, text) == []
        _VALIDATED[text] = parse(text)
    return executor.execute(_VALIDATED[text], variables, **kw)


def window_orders(store: ShopStore) -> list[dict[str, Any]]:
    start = int((NOW - timedelta(days=90)).timestamp())
    return [
        doc
        for doc in store.iter_all_orders(with_line_items=True)
        if start <= int(datetime.fromisoformat(doc["createdAt"][:-1] + "+00:00").timestamp())
    ]


def leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from leaves(inner, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for item in value:
            yield from leaves(item, prefix + "[]")
    else:
        yield prefix, value


def test_gid_parsing() -> None:
    assert parse_gid("gid://shopify/Order/123") == ("Order", 123)
    assert parse_gid("gid://shopify/MailingAddress/9?model_name=Address") == ("MailingAddress", 9)
    assert parse_gid("Order/123") is None
    assert parse_gid(123) is None


def test_product_queries_are_served_with_real_data(executor: Executor, store: ShopStore) -> None:
    """Every field the product asks for has a non-null value somewhere in the window."""
    result = run(
        executor,
        queries.ORDERS_PAGE_QUERY,
        {"first": 250, "query": WINDOW, "lineItemsFirst": 250, "shippingFirst": 5},
    )
    assert result.errors == []
    nodes = result.data["orders"]["nodes"]
    assert len(nodes) == min(250, len(window_orders(store)))
    assert never_filled(nodes) == []
    customers = run(executor, queries.CUSTOMERS_PAGE_QUERY, {"first": 250, "query": ""})
    assert customers.errors == []
    assert never_filled(customers.data["customers"]["nodes"]) == []


def never_filled(nodes: list[dict[str, Any]]) -> list[str]:
    """Selected paths that are null (or empty) in every node."""
    paths: set[str] = set()
    filled: set[str] = set()
    for path, value in leaves(nodes):
        paths.add(path)
        if value not in (None, []):
            parts = path.split(".")
            prefixes = [".".join(parts[: i + 1]) for i in range(len(parts))]
            filled.update(prefixes)
            filled.update(prefix.removesuffix("[]") for prefix in prefixes)
    return sorted(paths - filled)


def test_shop_counts_and_probe(executor: Executor, store: ShopStore) -> None:
    shop = run(executor, queries.SHOP_QUERY).data["shop"]
    assert shop["myshopifyDomain"] == store.shop_domain
    assert shop["plan"] == {"partnerDevelopment": False, "shopifyPlus": False}
    counts = run(executor, queries.COUNTS_QUERY, {"query": WINDOW})
    assert counts.errors == []
    assert counts.data["ordersCount"] == {"count": len(window_orders(store)), "precision": "EXACT"}
    probe = run(executor, queries.ACCESS_PROBE_QUERY)
    assert probe.errors == [] and len(probe.data["customers"]["nodes"]) == 1


def test_customers_created_at_filter_draws_shopifys_warning(executor: Executor) -> None:
    """The 2026-07 schema lists ``customer_date``, not ``created_at``, for ``customers``."""
    result = run(executor, queries.CUSTOMERS_PAGE_QUERY, {"first": 5, "query": WINDOW})
    assert [w["code"] for entry in result.search for w in entry["warnings"]] == ["invalid_field"]
    assert result.search[0]["path"] == ["customers"]
    fixed = WINDOW.replace("created_at", "customer_date")
    assert run(executor, queries.CUSTOMERS_PAGE_QUERY, {"first": 5, "query": fixed}).search == []


def test_aliases_fragments_directives_and_typename(executor: Executor, store: ShopStore) -> None:
    order = next(iter(store.iter_all_orders()))
    text = """
    query Probe($id: ID!, $withName: Boolean = true, $skipTotal: Boolean!) {
      one: node(id: $id) { __typename ...OrderBits ... on Customer { displayName } }
      two: order(id: $id) {
        label: name @include(if: $withName)
        totalPriceSet @skip(if: $skipTotal) { shopMoney { amount } }
        ... on Order { number }
      }
    }
    fragment OrderBits on Order { id legacyResourceId kind: __typename }
    """
    result = run(executor, text, {"id": order["id"], "skipTotal": True})
    assert result.errors == []
    assert result.data == {
        "one": {
            "__typename": "Order",
            "id": order["id"],
            "legacyResourceId": order["legacyResourceId"],
            "kind": "Order",
        },
        "two": {"label": order["name"], "number": order["number"]},
    }


def test_connection_argument_errors_match_shopify(executor: Executor) -> None:
    missing = run(executor, '{ orders(query: "test:true") { nodes { id } } }')
    assert missing.data is None
    assert missing.errors[0]["message"] == "you must provide one of first or last"
    assert missing.errors[0]["path"] == ["orders"]
    assert missing.errors[0]["extensions"] == {"code": "BAD_REQUEST"}
    assert missing.errors[0]["locations"] == [{"line": 1, "column": 3}]
    too_many = run(executor, "{ customers(first: 251) { nodes { id } } }")
    assert too_many.data is None and "250" in too_many.errors[0]["message"]
    both = run(executor, "{ customers(first: 1, last: 1) { nodes { id } } }")
    assert both.errors[0]["message"] == "providing both first and last is not supported"
    nested = run(executor, "{ orders(first: 1) { nodes { lineItems { nodes { id } } } } }")
    assert nested.data is None and nested.errors[0]["path"] == ["orders", "nodes", 0, "lineItems"]
    cursor = run(executor, '{ orders(first: 1, after: "garbage") { nodes { id } } }')
    assert cursor.data is None and "cursor" in cursor.errors[0]["message"]


def test_empty_connection_has_null_cursors(executor: Executor) -> None:
    text = """{ orders(first: 3, query: "id:999999999999999999") {
        edges { cursor } nodes { id }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    result = run(executor, text)
    assert result.data["orders"] == {
        "edges": [],
        "nodes": [],
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
    }


def test_cursors_are_base64_json_like_shopify(executor: Executor) -> None:
    text = """{ orders(first: 2, sortKey: CREATED_AT, reverse: true) {
        edges { cursor node { id createdAt } } pageInfo { endCursor } } }"""
    edges = run(executor, text).data["orders"]["edges"]
    payload = orjson.loads(base64.b64decode(edges[0]["cursor"]))
    assert list(payload) == ["last_id", "last_value"]
    assert edges[0]["node"]["id"].endswith(f"/{payload['last_id']}")
    created = datetime.fromisoformat(edges[0]["node"]["createdAt"][:-1] + "+00:00")
    assert payload["last_value"] == int(created.timestamp()) * 1000


@pytest.mark.parametrize("size", [1, 7, 250])
@pytest.mark.parametrize("sort_key", ["CREATED_AT", "UPDATED_AT", "ID", "PROCESSED_AT"])
@pytest.mark.parametrize("reverse", [False, True])
def test_paging_through_all_orders(
    executor: Executor, store: ShopStore, size: int, sort_key: str, reverse: bool
) -> None:
    text = """query Page($first: Int!, $after: String, $sortKey: OrderSortKeys, $reverse: Boolean) {
      orders(first: $first, after: $after, sortKey: $sortKey, reverse: $reverse) {
        nodes { id createdAt updatedAt processedAt } pageInfo { hasNextPage endCursor } } }"""
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        variables = {"first": size, "after": after, "sortKey": sort_key, "reverse": reverse}
        page = run(executor, text, variables).data["orders"]
        seen.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    ids = [node["id"] for node in seen]
    assert len(ids) == len(set(ids)) == 400
    field = {"CREATED_AT": "createdAt", "UPDATED_AT": "updatedAt", "PROCESSED_AT": "processedAt"}

    def key(node: dict[str, Any]) -> tuple[Any, int]:
        number = int(node["id"].rsplit("/", 1)[1])
        return (node[field[sort_key]] if sort_key in field else number, number)

    assert seen == sorted(seen, key=key, reverse=reverse)


def test_nested_line_items_page_past_250(executor: Executor, store: ShopStore) -> None:
    big = max(store.iter_all_orders(with_line_items=True), key=lambda o: len(o["_lineItems"]))
    expected = [item["id"] for item in big["_lineItems"]]
    assert len(expected) > 250
    seen: list[str] = []
    after = None
    while True:
        result = run(
            executor,
            queries.ORDER_LINE_ITEMS_QUERY,
            {"id": big["id"], "first": 100, "after": after},
        )
        connection = result.data["order"]["lineItems"]
        seen.extend(node["id"] for node in connection["nodes"])
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == expected
    last = run(
        executor,
        "query($id: ID!) { order(id: $id) { lineItems(last: 3) { nodes { id } "
        "pageInfo { hasNextPage hasPreviousPage } } } }",
        {"id": big["id"]},
    ).data["order"]["lineItems"]
    assert [n["id"] for n in last["nodes"]] == expected[-3:]
    assert last["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}


def test_nodes_lookups(executor: Executor, store: ShopStore) -> None:
    order = next(o for o in store.iter_all_orders(with_line_items=True) if o["_customerId"])
    customer_gid = f"gid://shopify/Customer/{order['_customerId']}"
    item = order["_lineItems"][0]
    text = """query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"""
    ids = [
        order["id"],
        customer_gid,
        item["id"],
        "gid://shopify/Order/1",
        "gid://shopify/Product/1",
    ]
    result = run(executor, text, {"ids": ids})
    assert result.data["nodes"] == [
        {"__typename": "Order", "id": order["id"]},
        {"__typename": "Customer", "id": customer_gid},
        {"__typename": "LineItem", "id": item["id"]},
        None,
        None,
    ]
    wrong_kind = run(executor, "query($id: ID!) { customer(id: $id) { id } }", {"id": order["id"]})
    assert wrong_kind.data == {"customer": None}
    bad = run(executor, '{ order(id: "12345") { id } }')
    assert bad.data == {"order": None}
    assert bad.errors[0]["message"] == "Invalid global id '12345'"


def test_customer_orders_and_order_customer_links(executor: Executor, store: ShopStore) -> None:
    customer = max(store.iter_all_customers(), key=lambda c: int(c["numberOfOrders"]))
    text = """query($id: ID!) { customer(id: $id) {
        numberOfOrders
        lastOrder { id }
        orders(first: 250, sortKey: CREATED_AT) { nodes { id test customer { id } } } } }"""
    result = run(executor, text, {"id": customer["id"]})
    assert result.errors == []
    data = result.data["customer"]
    non_test = [o for o in data["orders"]["nodes"] if not o["test"]]
    assert len(non_test) == int(data["numberOfOrders"])
    assert {o["customer"]["id"] for o in data["orders"]["nodes"]} == {customer["id"]}
    assert data["lastOrder"]["id"] in {o["id"] for o in non_test}


def test_orders_visible_since_hides_old_orders_everywhere(
    executor: Executor, store: ShopStore
) -> None:
    since = NOW - timedelta(days=60)
    cut = int(since.timestamp())

    def created(doc: dict[str, Any]) -> int:
        return int(datetime.fromisoformat(doc["createdAt"][:-1] + "+00:00").timestamp())

    visible = [o for o in store.iter_all_orders() if created(o) >= cut]
    hidden = next(o for o in store.iter_all_orders() if created(o) < cut and o["_customerId"])
    count = run(executor, "{ ordersCount(limit: null) { count } }", orders_visible_since=since)
    assert count.data["ordersCount"]["count"] == len(visible)
    node = run(
        executor,
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": hidden["id"]},
        orders_visible_since=since,
    )
    assert node.data == {"node": None}
    owner = f"gid://shopify/Customer/{hidden['_customerId']}"
    nested = run(
        executor,
        "query($id: ID!) { customer(id: $id) { orders(first: 250) { nodes { createdAt } } } }",
        {"id": owner},
        orders_visible_since=since,
    )
    dates = [n["createdAt"] for n in nested.data["customer"]["orders"]["nodes"]]
    assert all(created({"createdAt": d}) >= cut for d in dates)
    rows = list(
        executor.bulk_rows(
            parse("{ orders { edges { node { id createdAt } } } }"), orders_visible_since=since
        )
    )
    assert len(rows) == len(visible)


def test_counts_limit_and_precision(executor: Executor) -> None:
    text = """query($limit: Int) {
        capped: ordersCount(limit: $limit) { count precision }
        defaulted: ordersCount { count precision }
        unlimited: ordersCount(limit: null) { count precision } }"""
    data = run(executor, text, {"limit": 5}).data
    assert data["capped"] == {"count": 5, "precision": "AT_LEAST"}
    assert data["defaulted"] == {"count": 400, "precision": "EXACT"}
    assert data["unlimited"] == {"count": 400, "precision": "EXACT"}


def test_fields_the_store_lacks_are_filled_and_unserved_roots_are_named_errors(
    executor: Executor,
) -> None:
    nullable = run(executor, "{ orders(first: 1) { nodes { id clientIp } } }")
    assert nullable.errors == [] and nullable.data["orders"]["nodes"][0]["clientIp"] is None
    required = run(executor, "{ orders(first: 1) { nodes { id risk { recommendation } } } }")
    assert required.errors == []
    assert required.data["orders"]["nodes"][0]["risk"] == {"recommendation": "ACCEPT"}
    root = run(executor, "{ products(first: 1) { nodes { id } } }")
    assert root.errors[0]["extensions"] == {"code": "EMULATOR_UNSUPPORTED"}
    assert "'products'" in root.errors[0]["message"]
    mutation = run(
        executor, 'mutation { tagsAdd(id: "gid://shopify/Order/1", tags: ["x"]) { node { id } } }'
    )
    assert mutation.errors[0]["extensions"] == {"code": "EMULATOR_UNSUPPORTED"}


def test_extra_resolvers_extend_and_override(admin_schema: GraphQLSchema, store: ShopStore) -> None:
    def bulk_operation(
        ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
    ) -> Any:
        return {"id": args["id"], "status": ctx.extras["status"], "objectCount": 12}

    def shop(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
        return {**ctx.store.shop_document(), "name": "Overridden"}

    custom = Executor(
        admin_schema,
        store,
        {("QueryRoot", "bulkOperation"): bulk_operation, ("QueryRoot", "shop"): shop},
    )
    text = """{ bulkOperation(id: "gid://shopify/BulkOperation/1") { id status objectCount }
               shop { name } }"""
    result = custom.execute(parse(text), extras={"status": "RUNNING"})
    assert result.errors == []
    assert result.data == {
        "bulkOperation": {
            "id": "gid://shopify/BulkOperation/1",
            "status": "RUNNING",
            "objectCount": "12",
        },
        "shop": {"name": "Overridden"},
    }


def test_bulk_rows_follow_shopifys_jsonl_layout(executor: Executor, store: ShopStore) -> None:
    """Grouped output (``groupObjects: true``): children directly after their parent."""
    search: list[dict[str, Any]] = []
    lines = list(
        executor.bulk_rows(
            parse(queries.bulk_orders_query(WINDOW)), search=search, group_objects=True
        )
    )
    assert search == []
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in lines)
    assert b"gid:\\/\\/shopify\\/Order\\/" in lines[0]
    records = [orjson.loads(line) for line in lines]
    expected = window_orders(store)
    roots = [r for r in records if "__parentId" not in r]
    assert [r["id"] for r in roots] == [
        o["id"]
        for o in sorted(expected, key=lambda o: (o["createdAt"], int(o["legacyResourceId"])))
    ]
    by_id = {o["id"]: o for o in expected}
    current = None
    children: dict[str, list[str]] = {}
    for record in records:
        if "__parentId" not in record:
            current = record["id"]
            assert "lineItems" not in record and "shippingLines" not in record
            assert record["customer"] is None or "id" in record["customer"]
            continue
        assert record["__parentId"] == current, "children follow their parent"
        label = record["id"] if record["__typename"] == "LineItem" else record["title"]
        children.setdefault(current, []).append(label)
    for order_id, order in by_id.items():
        wanted = [i["id"] for i in order["_lineItems"]] + [
            s["title"] for s in order["_shippingLines"]
        ]
        assert children.get(order_id, []) == wanted


def test_bulk_customers_and_bad_shapes(executor: Executor, store: ShopStore) -> None:
    search: list[dict[str, Any]] = []
    lines = list(executor.bulk_rows(parse(queries.bulk_customers_query(WINDOW)), search=search))
    assert search and search[0]["warnings"][0]["code"] == "invalid_field"
    assert len(lines) == sum(1 for _ in store.iter_all_customers())
    with pytest.raises(BulkQueryError, match="exactly one"):
        list(executor.bulk_rows(parse("{ shop { id } orders { edges { node { id } } } }")))
    with pytest.raises(BulkQueryError, match="products"):
        list(executor.bulk_rows(parse("{ products { edges { node { id } } } }")))
    nested = parse(
        "{ customers { edges { node { id orders { edges { node { id "
        "lineItems { edges { node { id } } } } } } } } } }"
    )
    records = [orjson.loads(line) for line in executor.bulk_rows(nested)]
    kinds = {r["id"].split("/")[3] for r in records}
    assert kinds == {"Customer", "Order", "LineItem"}


def _sample_variables(text: str, store: ShopStore) -> dict[str, Any]:
    """Plausible values for every variable a product query declares."""
    order = next(iter(store.iter_all_orders()))
    operation = parse(text).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions:
        name = definition.variable.name.value
        required = isinstance(definition.type, NonNullTypeNode)
        named = definition.type.type if required else definition.type  # type: ignore[attr-defined]
        type_name = named.name.value
        if type_name == "ID":
            values[name] = order["id"]
        elif type_name == "Int":
            values[name] = 5
        elif name == "query":
            values[name] = WINDOW
        else:
            values[name] = "" if required else None
    return values


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (name, text)
        for name, text in queries.all_query_texts()
        if name.endswith("_QUERY") and not name.startswith(("BULK_", "WEBHOOK_"))
    ],
)
def test_every_product_read_query_runs_cleanly(
    executor: Executor, store: ShopStore, name: str, text: str
) -> None:
    """Bulk polling, webhook subscriptions and mutations belong to the HTTP layer's
    resolvers; the rest is ours."""
    result = run(executor, text, _sample_variables(text, store))
    assert result.errors == [], name
    assert result.data is not None and all(value is not None for value in result.data.values())
