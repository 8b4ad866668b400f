"""The client's schema-less cost estimate against the schema-driven cost.

The emulator's ``requested_cost`` walks the real 2026-07 schema and matches Shopify's
``requestedQueryCost`` on the live captures, so it is the yardstick: the estimate must
never be below it (pacing would send what the bucket cannot hold) and, for the product's
page queries, not far above it (pages would shrink and each record cost more budget).
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    get_named_type,
    parse,
)

from shopify_backfill.shopify import queries
from shopify_backfill.shopify.cost import FREE_OBJECT_FIELDS, estimate_cost
from shopify_backfill.shopify.paginate import (
    MAX_QUERY_COST,
    NESTED_LINE_ITEMS,
    NESTED_SHIPPING_LINES,
    largest_page,
)
from shopify_emulator.cost import ZERO_COST_TYPES, requested_cost

SIZES = (1, 10, 50, 90, 150, 250)
PAGE_VARIABLES: dict[str, dict[str, Any]] = {
    "ORDERS_PAGE_QUERY": {
        "query": "created_at:>=2026-01-01",
        "lineItemsFirst": NESTED_LINE_ITEMS,
        "shippingFirst": NESTED_SHIPPING_LINES,
    },
    "CUSTOMERS_PAGE_QUERY": {"query": "customer_date:>=2026-01-01"},
    "ORDER_LINE_ITEMS_QUERY": {"id": "gid://shopify/Order/1"},
    "ORDER_SHIPPING_LINES_QUERY": {"id": "gid://shopify/Order/1"},
}


def _schema_cost(schema: GraphQLSchema, text: str, variables: dict[str, Any]) -> int:
    document = parse(text)
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return requested_cost(schema, operation, {}, variables)


def test_free_field_names_are_free_under_every_type(admin_schema: GraphQLSchema) -> None:
    returned: dict[str, set[str]] = {name: set() for name in FREE_OBJECT_FIELDS}
    for named in admin_schema.type_map.values():
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for name, field in named.fields.items():
                if name in returned:
                    returned[name].add(get_named_type(field.type).name)
    assert all(returned.values()), "every listed name exists in the schema"
    charged = {name: types - ZERO_COST_TYPES for name, types in returned.items()}
    assert {name: types for name, types in charged.items() if types} == {}


@pytest.mark.parametrize(("name", "text"), list(queries.all_query_texts()))
def test_estimate_never_undercuts_shopify(
    admin_schema: GraphQLSchema, name: str, text: str
) -> None:
    base = PAGE_VARIABLES.get(name, {})
    for size in SIZES:
        variables = {**base, "first": size}
        estimated = estimate_cost(text, variables)
        actual = _schema_cost(admin_schema, text, variables)
        assert estimated >= actual, f"{name} first={size}: estimate {estimated} < {actual}"


@pytest.mark.parametrize("name", sorted(PAGE_VARIABLES))
def test_page_estimates_are_within_four_percent(admin_schema: GraphQLSchema, name: str) -> None:
    text = getattr(queries, name)
    for size in SIZES:
        variables = {**PAGE_VARIABLES[name], "first": size}
        estimated = estimate_cost(text, variables)
        actual = _schema_cost(admin_schema, text, variables)
        assert estimated <= actual * 1.04, f"{name} first={size}: {estimated} vs {actual}"


def test_pages_are_as_large_as_shopify_allows(admin_schema: GraphQLSchema) -> None:
    for name, variables in PAGE_VARIABLES.items():
        text = getattr(queries, name)
        size = largest_page(text, variables)
        largest_real = max(
            n
            for n in range(1, 251)
            if _schema_cost(admin_schema, text, {**variables, "first": n}) <= MAX_QUERY_COST
        )
        assert size == largest_real, f"{name}: {size} per page, Shopify allows {largest_real}"
