"""Webhook bodies (REST JSON) convert to the very records the backfill's GraphQL path reads.

Ground truth on both sides comes from one generated emulator store: the GraphQL records
through the product's own paged reader (``PagedReader``, the real queries, decoded by
msgspec into ``records.Order``/``records.Customer``), the REST bodies from the
stand-in's REST endpoints, which render each node with ``shopify_emulator.rest_shapes``
- the resource JSON Shopify also sends as the ``orders/*`` and ``customers/*`` webhook
bodies. The two are compared record for record (every field ``records.py`` holds is
carried by the REST resource: ``legacyResourceId`` is the numeric ``id``, the GraphQL
``number`` is REST's ``order_number``), and by what the mapping makes of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from graphql import GraphQLSchema
from hypothesis import given
from hypothesis import strategies as st

from emulator.rest_pages import walk_pages
from emulator_fixtures import STORE_NOW, start_emulator
from shopify_backfill.clock import VirtualClock
from shopify_backfill.live.payloads import record_from_webhook
from shopify_backfill.mapping import MappingOptions, Rejected, map_record
from shopify_backfill.shopify import queries
from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.paginate import PagedReader
from shopify_backfill.shopify.records import Customer, Order, UnreadableRecord
from shopify_emulator.store import ShopStore

OPTIONS = (
    MappingOptions(),
    MappingOptions(product_identifier="sku", backfill_counters=False),
)


@dataclass
class Sides:
    """Every order and customer of a store, as GraphQL records and as REST bodies."""

    name: str
    orders: dict[str, Order]
    customers: dict[str, Customer]
    rest_orders: list[dict[str, Any]]
    rest_customers: list[dict[str, Any]]
    store_orders: int
    store_customers: int


def _read_sides(name: str, schema: GraphQLSchema, store: ShopStore) -> Sides:
    with start_emulator(schema, store=store) as handle:
        client = AdminClient(
            api_url=handle.base_url,
            token=handle.token,
            transport=handle.transport,
            clock=VirtualClock(),
        )
        start, end = STORE_NOW - timedelta(days=3650), STORE_NOW + timedelta(days=1)
        reader = PagedReader(
            client,
            orders_search=queries.window_filter(start, end),
            customers_search=queries.customer_window_filter(start, end),
        )
        orders = [o for page in reader.order_pages(None) for o in page.records]
        customers = [c for page in reader.customer_pages(None) for c in page.records]
        client.close()
        sides = Sides(
            name=name,
            orders={order.id: order for order in orders if isinstance(order, Order)},
            customers={c.id: c for c in customers if isinstance(c, Customer)},
            rest_orders=walk_pages(handle, "orders.json?status=any&limit=250", "orders"),
            rest_customers=walk_pages(handle, "customers.json?limit=250", "customers"),
            store_orders=sum(1 for _ in store.iter_all_orders()),
            store_customers=sum(1 for _ in store.iter_all_customers()),
        )
    return sides


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(("mixed-store", {"customers": 60, "orders": 120, "seed": 11}), id="mixed"),
        # seed 3 places an order of 260 line items and one of 251: the GraphQL side pages
        # them past 250, the REST body holds every line in one array.
        pytest.param(("long-orders", {"customers": 10, "orders": 9, "seed": 3}), id="long"),
    ],
)
def sides(request: pytest.FixtureRequest, admin_schema: GraphQLSchema) -> Iterator[Sides]:
    name, sizes = request.param
    with ShopStore.generate(None, now=STORE_NOW, **sizes) as store:
        yield _read_sides(name, admin_schema, store)


def test_both_sides_hold_the_whole_store(sides: Sides) -> None:
    assert len(sides.orders) == len(sides.rest_orders) == sides.store_orders
    assert len(sides.customers) == len(sides.rest_customers) == sides.store_customers


@pytest.mark.parametrize("topic", ["customers/create", "customers/update"])
def test_every_customer_body_is_its_graphql_record(sides: Sides, topic: str) -> None:
    for body in sides.rest_customers:
        record = record_from_webhook(topic, body)
        assert isinstance(record, Customer), record
        graphql = sides.customers[record.id]
        assert msgspec.to_builtins(record) == msgspec.to_builtins(graphql)
        for options in OPTIONS:
            assert map_record(record, options) == map_record(graphql, options)


@pytest.mark.parametrize("topic", ["orders/create", "orders/updated"])
def test_every_order_body_is_its_graphql_record(sides: Sides, topic: str) -> None:
    kinds: set[str] = set()
    for body in sides.rest_orders:
        record = record_from_webhook(topic, body)
        assert isinstance(record, Order), record
        graphql = sides.orders[record.id]
        assert msgspec.to_builtins(record) == msgspec.to_builtins(graphql)
        for options in OPTIONS:
            mapped = map_record(record, options)
            assert mapped == map_record(graphql, options)
            kinds.add(type(mapped).__name__)
    # The comparison is only worth something if it reached every kind of outcome,
    # including the unattributable guest orders whose excerpt is the record's JSON.
    expected = {"OrderIntent", "SkippedTestOrder", "Unattributable"}
    assert kinds >= (expected if sides.name == "mixed-store" else {"OrderIntent"})


def test_the_long_orders_kept_every_line_item(sides: Sides) -> None:
    if sides.name != "long-orders":
        pytest.skip("the mixed store has no order past one page of line items")
    sizes = sorted(len(order.line_items) for order in sides.orders.values())
    assert sizes[-2:] == [251, 260]


# --------------------------------------------------------------------------- spelling


def _order_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": 820982911946154508,
        "created_at": "2026-03-01T09:15:00-05:00",
        "updated_at": "2026-03-01T09:16:30.250000-05:00",
        "currency": "JPY",
        "order_number": 1042,
        "name": "#1042",
        "tags": " vip ,, wholesale,",
        "total_price": "1500",
        "discount_codes": [{"code": "SPRING", "amount": "10.00", "type": "fixed_amount"}],
        "line_items": [
            {
                "id": 466157049,
                "product_id": 632910392,
                "variant_id": 39072856,
                "quantity": 2,
                "title": "IPod Nano",
                "price": "750",
                "properties": [{"name": "engraving", "value": "Hi"}],
            }
        ],
    }
    body.update(overrides)
    return body


def test_rest_spellings_become_graphql_spellings() -> None:
    """Numeric ids become gids, shop-zone times UTC ``Z``, REST money GraphQL's
    ``Decimal`` text, ``tags`` a trimmed list, a body without ``*_set`` bags gets them from
    the plain amount and the order's currency."""
    record = record_from_webhook("orders/create", _order_body())
    assert isinstance(record, Order)
    assert record.id == "gid://shopify/Order/820982911946154508"
    assert record.legacy_resource_id == "820982911946154508"
    assert (record.created_at, record.updated_at) == (
        "2026-03-01T14:15:00Z",
        "2026-03-01T14:16:30.250000Z",
    )
    assert record.number == 1042
    assert record.tags == ["vip", "wholesale"]
    assert record.discount_codes == ["SPRING"]
    assert record.total_price_set is not None
    assert msgspec.to_builtins(record.total_price_set) == {
        "shopMoney": {"amount": "1500.0", "currencyCode": "JPY"}
    }
    item = record.line_items[0]
    assert item.id == "gid://shopify/LineItem/466157049"
    assert item.product is not None and item.product.id == "gid://shopify/Product/632910392"
    assert item.variant is not None and item.variant.id == "gid://shopify/ProductVariant/39072856"
    assert item.original_unit_price_set is not None
    assert item.original_unit_price_set.shop_money.amount == "750.0"
    assert [(a.key, a.value) for a in item.custom_attributes] == [("engraving", "Hi")]


@pytest.mark.parametrize(
    ("rest", "graphql", "subscription"),
    [
        ("subscribed", "SUBSCRIBED", "subscribed"),
        ("not_subscribed", "NOT_SUBSCRIBED", None),
        ("unsubscribed", "UNSUBSCRIBED", "unsubscribed"),
        ("pending", "PENDING", "unsubscribed"),
        ("redacted", "REDACTED", "unsubscribed"),
    ],
)
def test_consent_states_are_the_graphql_enum(
    rest: str, graphql: str, subscription: str | None
) -> None:
    body = {
        "id": 207119551,
        "created_at": "2026-03-01T09:15:00-05:00",
        "email": "bob.norman@example.com",
        "phone": "+16136120707",
        "email_marketing_consent": {"state": rest, "opt_in_level": "single_opt_in"},
        "sms_marketing_consent": {"state": rest, "opt_in_level": "single_opt_in"},
    }
    record = record_from_webhook("customers/create", body)
    assert isinstance(record, Customer)
    assert record.id == "gid://shopify/Customer/207119551"
    assert record.default_email_address is not None
    assert record.default_email_address.marketing_state == graphql
    assert record.sms_marketing_consent is not None
    assert record.sms_marketing_consent.marketing_state == graphql
    mapped = map_record(record, MappingOptions())
    assert not isinstance(mapped, Rejected)
    assert getattr(mapped, "email_subscription") == subscription  # noqa: B009
    assert getattr(mapped, "sms_subscription") == subscription  # noqa: B009


# --------------------------------------------------------------------------- bad bodies


@pytest.mark.parametrize(
    ("topic", "body", "record_id", "reason"),
    [
        ("orders/create", _order_body(id=None), "(no id)", "order.id is missing"),
        ("customers/update", {"email": "a@example.com"}, "(no id)", "customer.id is missing"),
        (
            "orders/updated",
            _order_body(id="82x"),
            "82x",
            "order.id '82x' is not a numeric id",
        ),
        (
            "orders/create",
            _order_body(admin_graphql_api_id="gid://shopify/Customer/5"),
            "gid://shopify/Customer/5",
            "order.admin_graphql_api_id 'gid://shopify/Customer/5' "
            "is not a gid://shopify/Order/ id",
        ),
        (
            "orders/create",
            _order_body(created_at=None),
            "gid://shopify/Order/820982911946154508",
            "order.created_at is missing",
        ),
        (
            "orders/create",
            _order_body(tags=["vip"]),
            "gid://shopify/Order/820982911946154508",
            "order.tags is a list, expected text",
        ),
        (
            "orders/create",
            _order_body(line_items=[{"id": 1, "quantity": "2"}]),
            "gid://shopify/Order/820982911946154508",
            "order.line_items[0].quantity is text, expected an integer",
        ),
        (
            "orders/create",
            _order_body(line_items={"id": 1}),
            "gid://shopify/Order/820982911946154508",
            "order.line_items is an object, expected a list",
        ),
        (
            "orders/create",
            _order_body(total_price_set={"shop_money": {"amount": 15, "currency_code": "JPY"}}),
            "gid://shopify/Order/820982911946154508",
            "order.total_price_set.shop_money.amount is a number, expected text",
        ),
        (
            "orders/create",
            _order_body(customer={"id": 5, "created_at": "2026-01-01T00:00:00Z", "email": 7}),
            "gid://shopify/Order/820982911946154508",
            "order.customer.email is a number, expected text",
        ),
        (
            "customers/create",
            {"id": 5, "created_at": "2026-01-01T00:00:00Z", "email_marketing_consent": "yes"},
            "gid://shopify/Customer/5",
            "customer.email_marketing_consent is text, expected an object",
        ),
        ("customers/create", ["not", "an", "object"], "(no id)", "the body is not a JSON object"),
    ],
)
def test_a_body_of_the_wrong_shape_is_unreadable_not_an_exception(
    topic: str, body: Any, record_id: str, reason: str
) -> None:
    record = record_from_webhook(topic, body)
    assert isinstance(record, UnreadableRecord)
    assert record.kind == ("order" if topic.startswith("orders/") else "customer")
    assert record.id == record_id
    assert record.reason == f"a {topic} webhook has an unexpected shape: {reason}"
    assert record.excerpt and len(record.excerpt) <= 201
    rejected = map_record(record, MappingOptions())
    assert isinstance(rejected, Rejected) and rejected.reason == record.reason


def test_a_long_bad_body_is_excerpted() -> None:
    record = record_from_webhook("orders/create", _order_body(note="x" * 5000, id=None))
    assert isinstance(record, UnreadableRecord)
    assert len(record.excerpt) == 201 and record.excerpt.endswith("…")


def test_bad_values_of_the_right_type_reach_the_mapping_as_they_came() -> None:
    """Text that is no time or no amount is the mapping's to reject, with its messages,
    exactly as for the same bad value read through GraphQL."""
    record = record_from_webhook("orders/create", _order_body(created_at="yesterday"))
    assert isinstance(record, Order) and record.created_at == "yesterday"
    rejected = map_record(record, MappingOptions())
    assert isinstance(rejected, Rejected)
    assert rejected.reason == "order createdAt 'yesterday' is not an ISO 8601 timestamp"


@pytest.mark.parametrize(
    "topic", ["app/uninstalled", "customers/redact", "shop/redact", "products/create", ""]
)
def test_topics_without_a_record_convert_to_none(topic: str) -> None:
    assert record_from_webhook(topic, _order_body()) is None


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["1e999999999", "NaN", "2026-03-01T09:15:00", "12.50", "subscribed"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
ORDER_PATHS = [
    ("id",),
    ("created_at",),
    ("tags",),
    ("total_price_set",),
    ("line_items",),
    ("line_items", 0, "quantity"),
    ("line_items", 0, "price"),
    ("line_items", 0, "properties"),
    ("line_items", 0, "product_id"),
    ("discount_codes",),
    ("customer",),
    ("shipping_address",),
]


@given(st.sampled_from(ORDER_PATHS), JSON, st.sampled_from(["orders/create", "customers/update"]))
def test_no_body_raises(path: tuple[Any, ...], value: Any, topic: str) -> None:
    """Whatever JSON sits anywhere, the answer is a record or an UnreadableRecord, and the
    mapping takes it without raising either."""
    body = _order_body(customer={"id": 5, "created_at": "2026-01-01T00:00:00Z"})
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    record = record_from_webhook(topic, body)
    assert isinstance(record, Order | Customer | UnreadableRecord)
    map_record(record, MappingOptions())
