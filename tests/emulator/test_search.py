"""Search syntax: parser properties, schema-derived field lists, SQL semantics."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from graphql import GraphQLSchema
from hypothesis import given, settings
from hypothesis import strategies as st

from shopify_emulator.search import (
    CUSTOMER_SEARCH,
    ORDER_SEARCH,
    And,
    Node,
    Not,
    Or,
    SearchContext,
    SearchError,
    Term,
    compile_search,
    fields_from_description,
    has_tag,
    parse_search,
    parsed_json,
    time_interval,
    token_match,
    valid_search_fields,
)
from shopify_emulator.store import ShopStore

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
TZ = ZoneInfo("America/New_York")


def ctx() -> SearchContext:
    return SearchContext(timezone=TZ, now=NOW)


# --------------------------------------------------------------------------- parser


def test_implicit_and_explicit_connectives_and_precedence() -> None:
    node = parse_search("a:1 b:2 OR c:3 AND -d:4")
    assert node == Or(
        (
            And((Term("a", "", "1"), Term("b", "", "2"))),
            And((Term("c", "", "3"), Not(Term("d", "", "4")))),
        )
    )


def test_quotes_comparators_and_spaces_after_colon() -> None:
    node = parse_search("created_at:>='2026-01-01T00:00:00Z' customer_date: >=\"2024-01-01\"")
    assert node == And(
        (
            Term("created_at", ">=", "2026-01-01T00:00:00Z", quoted=True),
            Term("customer_date", ">=", "2024-01-01", quoted=True),
        )
    )


def test_parentheses_not_keyword_and_bare_terms() -> None:
    node = parse_search("state:DISABLED NOT (tag:VIP OR tag:referral) How*")
    assert node == And(
        (
            Term("state", "", "DISABLED"),
            Not(Or((Term("tag", "", "VIP"), Term("tag", "", "referral")))),
            Term(None, "", "How*"),
        )
    )


def test_blank_query_matches_everything() -> None:
    assert parse_search(None) is None
    assert parse_search("   ") is None
    compiled = compile_search("", ORDER_SEARCH, frozenset({"id"}), ctx())
    assert (compiled.where, compiled.params, compiled.warnings) == ("1", [], [])


def test_unbalanced_parentheses_are_tolerated() -> None:
    assert parse_search("(tag:a") == Term("tag", "", "a")
    assert parse_search("tag:a)") == Term("tag", "", "a")


_names = st.sampled_from(["tag", "email", "created_at", "id", "status"])
_values = st.text(alphabet="abcXYZ019-_.@", min_size=1, max_size=8).filter(
    lambda v: v not in {"OR", "AND", "NOT"} and not v.startswith("-")
)
_terms = st.builds(Term, _names, st.sampled_from(["", ">", ">=", "<", "<="]), _values)
_trees = st.recursive(
    _terms,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
    ),
    max_leaves=8,
)


def render(node: Node) -> str:
    if isinstance(node, Term):
        return f"{node.field}:{node.comparator}{node.value}"
    if isinstance(node, Not):
        return f"NOT ({render(node.child)})"
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(render(child) for child in node.children) + ")"


def flatten(node: Node) -> Node:
    """Canonical form: nested And/Or of the same kind merged (the parser flattens)."""
    if isinstance(node, Term):
        return node
    if isinstance(node, Not):
        return Not(flatten(node.child))
    kind = type(node)
    children: list[Node] = []
    for child in node.children:
        flat = flatten(child)
        if isinstance(flat, kind):
            children.extend(flat.children)
        else:
            children.append(flat)
    return kind(tuple(children))


@settings(max_examples=200, deadline=None)
@given(_trees)
def test_rendered_trees_parse_back_to_the_same_tree(tree: Node) -> None:
    assert flatten(parse_search(render(tree))) == flatten(tree)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_parser_never_crashes_and_compiles(text: str) -> None:
    node = parse_search(text)
    parsed_json(node)
    try:
        compiled = compile_search(text, ORDER_SEARCH, frozenset(ORDER_SEARCH.handlers), ctx())
    except SearchError:
        return
    assert compiled.where.count("?") == len(compiled.params)


# --------------------------------------------------------------------------- fields


def test_valid_fields_come_from_the_schema(admin_schema: GraphQLSchema) -> None:
    assert valid_search_fields(admin_schema, "QueryRoot", "customersCount") == {
        "created_at",
        "id",
        "updated_at",
    }
    orders = valid_search_fields(admin_schema, "QueryRoot", "orders")
    assert {"created_at", "updated_at", "processed_at", "id", "test", "status"} <= orders
    assert {"customer_id", "email", "name", "tag", "financial_status"} <= orders
    customers = valid_search_fields(admin_schema, "QueryRoot", "customers")
    assert {"customer_date", "email", "phone", "tag", "country", "state"} <= customers
    assert {"orders_count", "total_spent", "updated_at", "id"} <= customers
    assert "created_at" not in customers  # the 2026-07 table lists customer_date instead
    assert valid_search_fields(admin_schema, "Customer", "orders")


def test_fields_from_description_reads_markdown_rows() -> None:
    text = "| name | type |\n| ---- | ---- |\n| default | string |\n| tag_not | string |"
    assert fields_from_description(text) == {"default", "tag_not"}


def test_invalid_field_warning_has_shopifys_shape_and_is_ignored() -> None:
    compiled = compile_search(
        "email:grace@example.com", CUSTOMER_SEARCH, frozenset({"id", "created_at"}), ctx()
    )
    assert compiled.where == "1"
    assert compiled.parsed == {"field": "email", "match_all": "grace@example.com"}
    assert compiled.warnings == [
        {
            "field": "email",
            "message": "Invalid search field for this query.",
            "code": "invalid_field",
        }
    ]


def test_unsupported_and_invalid_values_are_reported() -> None:
    compiled = compile_search(
        "gateway:bogus status:weird test:maybe id:5",
        ORDER_SEARCH,
        frozenset({"gateway", "status", "test", "id"}),
        ctx(),
    )
    codes = [(w["field"], w["code"]) for w in compiled.warnings]
    assert codes == [
        ("gateway", "emulator_unsupported"),
        ("status", "invalid_value"),
        ("test", "invalid_value"),
    ]
    assert compiled.where == "(o.id = ?)"
    assert compiled.params == [5]


def test_bad_timestamp_is_an_error_naming_the_filter() -> None:
    with pytest.raises(SearchError, match="created_at"):
        compile_search("created_at:>yesterday-ish", ORDER_SEARCH, frozenset({"created_at"}), ctx())


def test_time_values() -> None:
    second = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    assert time_interval("2026-01-01T00:00:00Z", ctx(), "x") == (second, second + 1)
    day_start = int(datetime(2026, 1, 1, tzinfo=TZ).timestamp())
    assert time_interval("2026-01-01", ctx(), "x") == (day_start, day_start + 86_400)
    year = time_interval("2024", ctx(), "x")
    assert year[1] - year[0] == 366 * 86_400
    assert time_interval("now", ctx(), "x")[0] == int(NOW.timestamp())
    offset = time_interval("2026-01-01T02:00:00+02:00", ctx(), "x")
    assert offset[0] == second


def test_token_and_tag_helpers() -> None:
    assert token_match("bo.wang@example.com", "example.com") == 1
    assert token_match("bo.wang@example.com", "wang@example") == 1
    assert token_match("bo.wang@example.com", "ample") == 0
    assert token_match("Howard Stern", "how*") == 1
    assert token_match(None, "x") == 0
    assert has_tag("vip\x1freferral", "VIP") == 1
    assert has_tag("vip\x1freferral", "gold, Referral") == 1
    assert has_tag("vip", "gold") == 0


# --------------------------------------------------------------------------- SQL semantics


@pytest.fixture(scope="module")
def store() -> ShopStore:
    with ShopStore.generate(None, customers=120, orders=600, seed=11, now=NOW) as built:
        yield built


def _ids(store: ShopStore, resource: str, query: str, valid: frozenset[str]) -> set[int]:
    spec = ORDER_SEARCH if resource == "orders" else CUSTOMER_SEARCH
    alias = "o" if resource == "orders" else "c"
    compiled = compile_search(query, spec, valid, SearchContext(timezone=TZ, now=store.now))
    assert compiled.warnings == []
    sql = f"SELECT {alias}.id FROM {resource} {alias} WHERE {compiled.where}"
    return {row[0] for row in store.connection().execute(sql, compiled.params)}


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


ORDER_FIELDS = frozenset(ORDER_SEARCH.handlers)
CUSTOMER_FIELDS = frozenset(CUSTOMER_SEARCH.handlers)


def test_window_filter_matches_python_ground_truth(store: ShopStore) -> None:
    start = _epoch("2026-04-02T12:00:00Z")
    end = _epoch("2026-07-01T12:00:00Z")
    query = "created_at:>='2026-04-02T12:00:00Z' AND created_at:<'2026-07-01T12:00:00Z'"
    expected = {
        int(doc["legacyResourceId"])
        for doc in store.iter_all_orders()
        if start <= _epoch(doc["createdAt"]) < end
    }
    assert _ids(store, "orders", query, ORDER_FIELDS) == expected
    boundary = {doc["createdAt"] for doc in store.iter_all_orders()}
    assert "2026-04-02T12:00:00Z" in boundary  # an order sits exactly on the window start


@pytest.mark.parametrize(
    ("query", "predicate"),
    [
        ("test:true", lambda d: d["test"]),
        ("-test:true", lambda d: not d["test"]),
        ("status:cancelled", lambda d: d["cancelledAt"] is not None),
        ("status:open", lambda d: d["closedAt"] is None and d["cancelledAt"] is None),
        ("financial_status:paid", lambda d: d["displayFinancialStatus"] == "PAID"),
        ("fulfillment_status:shipped", lambda d: d["displayFulfillmentStatus"] == "FULFILLED"),
        ("tag:gift OR tag:Promo", lambda d: {"gift", "Promo"} & set(d["tags"])),
        ("tag_not:gift", lambda d: "gift" not in d["tags"]),
        ("name:1005", lambda d: d["name"] == "#1005"),
        ("name:#1005", lambda d: d["name"] == "#1005"),
        ("source_name:pos", lambda d: d["sourceName"] == "pos"),
        (
            "processed_at:<2026-01-15",
            lambda d: _epoch(d["processedAt"]) < _epoch("2026-01-15T05:00:00Z"),
        ),
    ],
)
def test_order_filters_match_ground_truth(store: ShopStore, query: str, predicate: object) -> None:
    expected = {
        int(d["legacyResourceId"])
        for d in store.iter_all_orders()
        if predicate(d)  # type: ignore[operator]
    }
    assert expected, f"the store has no order for {query}"
    assert _ids(store, "orders", query, ORDER_FIELDS) == expected


def test_id_and_customer_id_filters(store: ShopStore) -> None:
    orders = list(store.iter_all_orders())
    target = orders[10]
    assert _ids(store, "orders", f"id:{target['legacyResourceId']}", ORDER_FIELDS) == {
        int(target["legacyResourceId"])
    }
    assert _ids(store, "orders", f"id:{target['id']}", ORDER_FIELDS) == {
        int(target["legacyResourceId"])
    }
    above = {int(o["legacyResourceId"]) for o in orders[10:]}
    assert _ids(store, "orders", f"id:>={target['legacyResourceId']}", ORDER_FIELDS) == above
    owned = next(o for o in orders if o["_customerId"])
    mine = {int(o["legacyResourceId"]) for o in orders if o["_customerId"] == owned["_customerId"]}
    assert _ids(store, "orders", f"customer_id:{owned['_customerId']}", ORDER_FIELDS) == mine


@pytest.mark.parametrize(
    ("query", "predicate"),
    [
        ("state:DISABLED", lambda c: c["state"] == "DISABLED"),
        ("country:CA", lambda c: (c["defaultAddress"] or {}).get("countryCodeV2") == "CA"),
        ("country:Canada", lambda c: (c["defaultAddress"] or {}).get("country") == "Canada"),
        ("orders_count:>3", lambda c: int(c["numberOfOrders"]) > 3),
        ("total_spent:>=100", lambda c: float(c["amountSpent"]["amount"]) >= 100),
        (
            "accepts_marketing:true",
            lambda c: (c["emailMarketingConsent"] or {}).get("marketingState") == "SUBSCRIBED",
        ),
        ("email:*", lambda c: bool(c["email"])),
        ("-phone:*", lambda c: not c["phone"]),
        ("tag:VIP", lambda c: "vip" in {t.lower() for t in c["tags"]}),
        (
            "customer_date:<2026-01-01",
            lambda c: _epoch(c["createdAt"]) < _epoch("2026-01-01T05:00:00Z"),
        ),
    ],
)
def test_customer_filters_match_ground_truth(
    store: ShopStore, query: str, predicate: object
) -> None:
    expected = {
        int(c["legacyResourceId"])
        for c in store.iter_all_customers()
        if predicate(c)  # type: ignore[operator]
    }
    assert expected, f"the store has no customer for {query}"
    assert _ids(store, "customers", query, CUSTOMER_FIELDS) == expected


def test_default_search_and_email_tokens(store: ShopStore) -> None:
    customer = next(
        c for c in store.iter_all_customers() if c["email"] and "@example.org" in c["email"]
    )
    found = _ids(store, "customers", f'"{customer["email"]}"', CUSTOMER_FIELDS)
    assert int(customer["legacyResourceId"]) in found
    by_email = _ids(store, "customers", f"email:{customer['email']}", CUSTOMER_FIELDS)
    assert int(customer["legacyResourceId"]) in by_email
    assert _ids(store, "customers", "How*", CUSTOMER_FIELDS) == set()
