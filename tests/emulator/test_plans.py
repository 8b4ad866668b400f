"""Compiled plans against the generic walker: same bytes for reads and bulk exports.

The generic walker (``Executor.use_plans = False``) is the executor as it was before
compiled plans; every answer the fast path gives must be byte for byte the one the
walker gives (same keys, same order, same values, same errors and search warnings).
Also the ungrouped bulk layout (``groupObjects: false``): children after their parent,
possibly interleaved with later roots, reproducibly.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from graphql import (
    FieldNode,
    GraphQLObjectType,
    GraphQLSchema,
    NonNullTypeNode,
    OperationDefinitionNode,
    parse,
)

from emulator_fixtures import EmulatorHandle
from shopify_backfill.shopify import queries
from shopify_backfill.shopify.schema import validation_errors
from shopify_emulator import executor as executor_module
from shopify_emulator.executor import (
    INTERLEAVE_WINDOW,
    BulkQueryError,
    Executor,
    FieldError,
    ResolveContext,
)
from shopify_emulator.plans import SerializedMemo
from shopify_emulator.store import ShopStore

pytest_plugins = ["emulator_fixtures"]

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
WINDOW = queries.window_filter(NOW - timedelta(days=90), NOW)
SINCE = NOW - timedelta(days=60)


@pytest.fixture(scope="module")
def store() -> Iterator[ShopStore]:
    with ShopStore.generate(None, customers=80, orders=400, seed=21, now=NOW) as built:
        yield built


@pytest.fixture(scope="module")
def planned(admin_schema: GraphQLSchema, store: ShopStore) -> Executor:
    return Executor(admin_schema, store)


@pytest.fixture(scope="module")
def generic(admin_schema: GraphQLSchema, store: ShopStore) -> Executor:
    walker = Executor(admin_schema, store)
    walker.use_plans = False
    return walker


def answer(executor: Executor, text: str, variables: dict[str, Any], **kw: Any) -> bytes:
    """Everything a client could see of one execution, as bytes (key order included)."""
    result = executor.execute(parse(text), variables, **kw)
    return orjson.dumps({"data": result.data, "errors": result.errors, "search": result.search})


def sample_variables(text: str, store: ShopStore) -> dict[str, Any]:
    order = next(iter(store.iter_all_orders()))
    operation = parse(text).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions:
        name = definition.variable.name.value
        required = isinstance(definition.type, NonNullTypeNode)
        named = definition.type.type if required else definition.type  # type: ignore[attr-defined]
        type_name = named.name.value  # type: ignore[union-attr]
        if type_name == "ID":
            values[name] = order["id"]
        elif type_name == "Int":
            values[name] = 250
        elif name == "query":
            values[name] = WINDOW
        else:
            values[name] = "" if required else None
    return values


PRODUCT_READS = [
    (name, text)
    for name, text in queries.all_query_texts()
    # Webhook subscriptions are the app's own settings, not store reads; the HTTP layer
    # serves them (tests/emulator/test_webhooks.py).
    if name.endswith("_QUERY") and not name.startswith(("BULK_", "WEBHOOK_"))
]


@pytest.mark.parametrize(("name", "text"), PRODUCT_READS, ids=[n for n, _ in PRODUCT_READS])
@pytest.mark.parametrize("since", [None, SINCE], ids=["all-orders", "sixty-days"])
def test_product_reads_are_byte_identical_and_stay_on_plans(
    planned: Executor,
    generic: Executor,
    store: ShopStore,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    text: str,
    since: datetime | None,
) -> None:
    assert validation_errors(planned.schema, text) == []
    variables = sample_variables(text, store)
    expected = answer(generic, text, variables, orders_visible_since=since)

    def no_walker(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the product's queries must not fall back to the generic walker")

    monkeypatch.setattr(executor_module._Run, "object_fields", no_walker)
    assert answer(planned, text, variables, orders_visible_since=since) == expected


def test_paging_orders_with_nested_line_items_is_byte_identical(
    planned: Executor, generic: Executor
) -> None:
    variables: dict[str, Any] = {
        "first": 37,
        "after": None,
        "query": queries.window_filter(NOW - timedelta(days=400), NOW),
        "lineItemsFirst": 3,
        "shippingFirst": 1,
    }
    pages = 0
    while True:
        expected = answer(generic, queries.ORDERS_PAGE_QUERY, variables)
        assert answer(planned, queries.ORDERS_PAGE_QUERY, variables) == expected
        page = orjson.loads(expected)["data"]["orders"]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        variables["after"] = page["pageInfo"]["endCursor"]
    assert pages > 5


EDGE_QUERIES: list[tuple[str, dict[str, Any]]] = [
    (
        """query Probe($id: ID!, $withName: Boolean = true, $skipTotal: Boolean!) {
          __typename
          one: node(id: $id) { __typename ...OrderBits ... on Customer { displayName } }
          two: order(id: $id) {
            label: name @include(if: $withName)
            totalPriceSet @skip(if: $skipTotal) { shopMoney { amount } }
            ... on Order { number }
            alias1: originalTotalPriceSet { presentmentMoney { amount currencyCode } }
            currentShippingPriceSet { shopMoney { amount } }
          }
        }
        fragment OrderBits on Order { id legacyResourceId kind: __typename }""",
        {"skipTotal": True},
    ),
    ("{ orders(first: 3) { nodes { id risk { assessments { riskLevel } } } } }", {}),
    ("{ orders(first: 3) { nodes { id note poNumber merchantOfRecordApp { id } } } }", {}),
    ('{ orders(query: "test:true") { nodes { id } } }', {}),
    ("{ customers(first: 251) { nodes { id } } }", {}),
    ("{ orders(first: 1) { nodes { lineItems { nodes { id } } } } }", {}),
    ('{ orders(first: 1, after: "garbage") { nodes { id } } }', {}),
    ('{ order(id: "12345") { id } }', {}),
    (
        """query($ids: [ID!]!) { nodes(ids: $ids) { __typename id
            ... on LineItem { quantity currentQuantity discountedTotalSet { shopMoney { amount } } }
            ... on Customer { email tags addresses { city } lastOrder { name } } } }""",
        {"ids": "SAMPLE_IDS"},
    ),
    (
        """{ customers(first: 20, sortKey: NAME, query: "created_at:>2020-01-01") {
            edges { cursor node { id displayName
              orders(first: 3, query: "bogus:1 OR tag:x", reverse: true) {
                nodes { id customer { id } lineItems(last: 2) { nodes { id }
                  pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }
                pageInfo { hasPreviousPage } }
              addressesV2(first: 1) { nodes { city } pageInfo { endCursor } } } }
            pageInfo { hasNextPage endCursor } } }""",
        {},
    ),
    (
        """{ orders(first: 50, sortKey: TOTAL_PRICE, reverse: true) { nodes { id
            billingAddress { city } displayAddress { zip } shippingLine { title }
            shippingLines(first: 2, reverse: true) { edges { cursor node { title } } }
            lineItems(first: 2, reverse: true) { edges { cursor node { id sku
              customAttributes { key value } } } pageInfo { hasNextPage hasPreviousPage } }
            customer { id numberOfOrders amountSpent { amount } } } } }""",
        {},
    ),
    ("{ shop { name plan { displayName shopifyPlus } } ordersCount(limit: 5) { count } }", {}),
]


@pytest.mark.parametrize(("text", "variables"), EDGE_QUERIES)
@pytest.mark.parametrize("since", [None, SINCE], ids=["all-orders", "sixty-days"])
def test_edge_cases_and_errors_are_byte_identical(
    planned: Executor,
    generic: Executor,
    store: ShopStore,
    text: str,
    variables: dict[str, Any],
    since: datetime | None,
) -> None:
    if variables.get("ids") == "SAMPLE_IDS":
        order = next(o for o in store.iter_all_orders(with_line_items=True) if o["_customerId"])
        variables = {
            "ids": [
                order["id"],
                f"gid://shopify/Customer/{order['_customerId']}",
                order["_lineItems"][0]["id"],
                "gid://shopify/Order/1",
            ]
        }
    elif "$id" in text:
        variables = {**variables, "id": next(iter(store.iter_all_orders()))["id"]}
    expected = answer(generic, text, variables, orders_visible_since=since)
    assert answer(planned, text, variables, orders_visible_since=since) == expected


@pytest.mark.parametrize(
    "args", ["first: 100", "first: 7, reverse: true", "last: 3", "last: 300", "first: 0"]
)
def test_line_item_pages_past_250_are_byte_identical(
    planned: Executor, generic: Executor, store: ShopStore, args: str
) -> None:
    big = max(store.iter_all_orders(with_line_items=True), key=lambda o: len(o["_lineItems"]))
    text = (
        "query($id: ID!, $after: String, $before: String) { order(id: $id) { "
        f"lineItems({args}, after: $after, before: $before) {{ nodes {{ id }} "
        "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }"
    )
    variables: dict[str, Any] = {"id": big["id"], "after": None, "before": None}
    first = answer(generic, text, variables)
    assert answer(planned, text, variables) == first
    info = orjson.loads(first)["data"]
    if info is None or not info["order"]["lineItems"]["nodes"]:
        return
    cursor = info["order"]["lineItems"]["pageInfo"]["endCursor"]
    for moved in ({"after": cursor}, {"before": cursor}):
        moved_vars = {**variables, **moved}
        assert answer(planned, text, moved_vars) == answer(generic, text, moved_vars)


# --------------------------------------------------------------------------- bulk

NESTED_BULK = (
    "{ customers(sortKey: UPDATED_AT, reverse: true) { edges { node { id displayName "
    "lastOrder { name } orders { edges { node { id name customer { email } "
    "lineItems { edges { node { id quantity } } } } } } } } } }"
)
FRAGMENT_BULK = """
{ orders(query: "financial_status:paid OR bogus:1", sortKey: UPDATED_AT, reverse: true) {
    edges { node { ...Head label: name billingAddress { city } displayAddress { zip }
      shippingLine { title } totalPriceSet { shopMoney { amount } }
      lineItems { edges { node { __typename id q: quantity currentQuantity
        discountedTotalSet { presentmentMoney { amount currencyCode } } } } }
      shippingLines { edges { node { title discountedPriceSet { shopMoney { amount } } } } }
    } } } }
fragment Head on Order { id __typename customer { id lastOrder { id } } }
"""
BULK_QUERIES = [
    queries.bulk_orders_query(WINDOW),
    queries.bulk_customers_query(WINDOW),
    NESTED_BULK,
    FRAGMENT_BULK,
    "{ customers { edges { node { id addressesV2 { edges { node { city zip } } } } } } }",
    "{ orders(sortKey: TOTAL_PRICE) { edges { node { id totalPriceSet { shopMoney { amount } } }"
    " } } }",
]


def bulk_bytes(executor: Executor, text: str, **kw: Any) -> tuple[bytes, list[dict[str, Any]]]:
    search: list[dict[str, Any]] = []
    data = b"".join(executor.bulk_rows(parse(text), search=search, **kw))
    return data, search


@pytest.mark.parametrize("text", BULK_QUERIES)
@pytest.mark.parametrize("group_objects", [True, False], ids=["grouped", "ungrouped"])
@pytest.mark.parametrize("since", [None, SINCE], ids=["all-orders", "sixty-days"])
def test_bulk_exports_are_byte_identical(
    planned: Executor,
    generic: Executor,
    text: str,
    group_objects: bool,
    since: datetime | None,
) -> None:
    expected = bulk_bytes(generic, text, group_objects=group_objects, orders_visible_since=since)
    assert expected[0].count(b"\n") > 50
    actual = bulk_bytes(planned, text, group_objects=group_objects, orders_visible_since=since)
    assert actual[0] == expected[0]
    assert actual[1] == expected[1]


def test_product_bulk_export_stays_on_plans(
    planned: Executor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_walker(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the product's bulk query must not fall back to the generic walker")

    monkeypatch.setattr(executor_module._Run, "bulk_object", no_walker)
    monkeypatch.setattr(executor_module._Run, "object_fields", no_walker)
    data, _ = bulk_bytes(planned, queries.bulk_orders_query(WINDOW))
    assert data.count(b"\n") > 400


def test_bulk_failures_are_the_generic_ones(planned: Executor, generic: Executor) -> None:
    # Both are refused when submitted (``Executor.bulk_unserved``); run directly, the
    # fast path must still fail exactly as the generic walker.
    unsupported = "{ products { edges { node { id } } } }"
    inside_object = (
        "{ orders { edges { node { id customer { addressesV2(first: 300) { nodes { id } } } } } } }"
    )
    for text in (unsupported, inside_object):
        outcomes = []
        for executor in (generic, planned):
            lines: list[bytes] = []
            with pytest.raises((BulkQueryError, FieldError)) as caught:
                lines.extend(executor.bulk_rows(parse(text), group_objects=True))
            outcomes.append((type(caught.value), str(caught.value), lines))
            assert executor.bulk_unserved(parse(text)) != []
        assert outcomes[0] == outcomes[1]


# --------------------------------------------------------------------------- layout


def layout(data: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in data.splitlines()]


def test_ungrouped_output_interleaves_children_after_their_parents(planned: Executor) -> None:
    text = queries.bulk_orders_query(WINDOW)
    grouped, _ = bulk_bytes(planned, text, group_objects=True)
    ungrouped, _ = bulk_bytes(planned, text)
    assert sorted(grouped.splitlines()) == sorted(ungrouped.splitlines())
    assert grouped != ungrouped
    records = layout(ungrouped)
    seen_at: dict[str, int] = {}
    roots_seen = 0
    root_index: dict[str, int] = {}
    children: dict[str, list[str]] = {}
    not_adjacent = 0
    previous_parent: str | None = None
    for position, record in enumerate(records):
        parent = record.get("__parentId")
        if parent is None:
            seen_at[record["id"]] = position
            root_index[record["id"]] = roots_seen
            roots_seen += 1
            previous_parent = record["id"]
            continue
        assert parent in seen_at, "a child never precedes its parent"
        assert roots_seen - 1 - root_index[parent] <= INTERLEAVE_WINDOW
        if parent != previous_parent:
            not_adjacent += 1
        label = record["id"] if record["__typename"] == "LineItem" else record["title"]
        children.setdefault(parent, []).append(label)
    assert not_adjacent > 10, "ungrouped output must not always keep children adjacent"
    grouped_children: dict[str, list[str]] = {}
    current = ""
    for record in layout(grouped):
        if "__parentId" not in record:
            current = record["id"]
            continue
        assert record["__parentId"] == current
        label = record["id"] if record["__typename"] == "LineItem" else record["title"]
        grouped_children.setdefault(current, []).append(label)
    assert children == grouped_children, "siblings keep their order"


def test_ungrouped_output_is_reproducible_and_seeded(planned: Executor) -> None:
    text = queries.bulk_orders_query(WINDOW)
    first, _ = bulk_bytes(planned, text)
    assert bulk_bytes(planned, text)[0] == first
    other, _ = bulk_bytes(planned, text, interleave_seed=12345)
    assert other != first
    assert sorted(other.splitlines()) == sorted(first.splitlines())


def test_nested_ungrouped_output_keeps_every_parent_first(planned: Executor) -> None:
    records = layout(bulk_bytes(planned, NESTED_BULK)[0])
    seen: set[str] = set()
    kinds: dict[str, int] = {}
    for record in records:
        parent = record.get("__parentId")
        assert parent is None or parent in seen
        seen.add(record["id"])
        kind = record["id"].split("/")[3]
        kinds[kind] = kinds.get(kind, 0) + 1
    assert set(kinds) == {"Customer", "Order", "LineItem"}


def test_chunks_count_objects_and_roots(planned: Executor) -> None:
    chunks = list(planned.bulk_chunks(parse(queries.bulk_orders_query(WINDOW))))
    data = b"".join(chunk.data for chunk in chunks)
    records = layout(data)
    assert sum(chunk.objects for chunk in chunks) == len(records)
    assert sum(chunk.roots for chunk in chunks) == sum(
        1 for record in records if "__parentId" not in record
    )
    assert all(chunk.data.endswith(b"\n") for chunk in chunks)


# --------------------------------------------------------------------------- HTTP

RUN_GROUPED = """
mutation Run($query: String!, $group: Boolean!) {
  bulkOperationRunQuery(query: $query, groupObjects: $group) {
    bulkOperation { id } userErrors { message } } }
"""


@pytest.mark.parametrize("group", [True, False, None], ids=["true", "false", "default"])
def test_group_objects_is_recorded_and_decides_the_layout(
    emulator: EmulatorHandle, group: bool | None
) -> None:
    query = queries.bulk_orders_query(queries.window_filter(NOW - timedelta(days=400), NOW))
    if group is None:
        payload = emulator.run_bulk(query)
    else:
        body = emulator.graphql(RUN_GROUPED, {"query": query, "group": group}).json()
        payload = body["data"]["bulkOperationRunQuery"]
    gid = payload["bulkOperation"]["id"]
    done = emulator.wait_bulk(gid)
    assert done["status"] == "COMPLETED"
    (recorded,) = (
        emulator.store.connection()
        .execute(
            "SELECT group_objects FROM emu_bulk_operations WHERE id = ?",
            (int(gid.rsplit("/", 1)[1]),),
        )
        .fetchone()
    )
    assert recorded == (1 if group else 0)
    with emulator.client() as client:
        records = layout(client.get(done["url"]).content)
    current = None
    adjacent = True
    for record in records:
        if "__parentId" not in record:
            current = record["id"]
        elif record["__parentId"] != current:
            adjacent = False
    assert adjacent is bool(group)
    assert str(len(records)) == done["objectCount"]


# --------------------------------------------------------------------------- memo


def test_serialized_memo_is_exact_and_bounded() -> None:
    memo = SerializedMemo(limit=100)
    memo.put(1, b'{"a":1}')
    memo.put(2, b'{"b":"x"}')
    assert 1 in memo and 3 not in memo
    assert orjson.dumps({"c": memo.get(2)}) == b'{"c":{"b":"x"}}'
    memo.put(3, b"[" + b"0," * 48 + b"0]")
    assert 1 not in memo and 3 in memo, "a full buffer starts over"
    assert memo.get(1) is None


@pytest.mark.parametrize(
    ("selection", "memoised"),
    [
        (
            "customer { id email tags numberOfOrders amountSpent { amount } defaultAddress "
            "{ city } }",
            True,
        ),
        ("customer { id lastOrder { id } }", False),
        ("customer { id orders(first: 2) { nodes { id } } }", False),
    ],
)
def test_only_pure_buyer_selections_are_serialised_once(
    planned: Executor, generic: Executor, store: ShopStore, selection: str, memoised: bool
) -> None:
    order = next(o for o in store.iter_all_orders() if o["_customerId"])
    text = f'{{ order(id: "{order["id"]}") {{ {selection} }} }}'
    expected = orjson.dumps(generic.execute(parse(text)).data)
    ctx = ResolveContext(
        store=store, variables={}, orders_visible_since=None, search=[], errors=[], extras={}
    )
    compiler = planned._compiler(ctx, {})
    compiler.serialized = {("Order", "customer"): "_customerId"}
    operation = parse(text).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    (order_node,) = operation.selection_set.selections
    order_type = planned.schema.get_type("Order")
    assert isinstance(order_type, GraphQLObjectType) and isinstance(order_node, FieldNode)
    plan = compiler.object_plan(order_type, [order_node])
    for _ in range(2):
        assert orjson.dumps({"order": plan.run(order, None)}) == expected
    assert (order["_customerId"] in compiler.serialized_memo) is memoised
