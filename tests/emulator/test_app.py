"""The GraphQL endpoint: auth, versions, body formats, error shapes, scopes, visibility."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from graphql import GraphQLSchema

from emulator_fixtures import STORE_NOW, EmulatorHandle, fixture_config, start_emulator
from shopify_backfill.shopify import queries

pytest_plugins = ["emulator_fixtures"]


def post(handle: EmulatorHandle, path: str, **kwargs: object) -> httpx.Response:
    with handle.client() as client:
        return client.post(path, **kwargs)  # type: ignore[arg-type]


def test_missing_or_wrong_token_gets_shopify_401(emulator: EmulatorHandle) -> None:
    for headers in ({}, {"X-Shopify-Access-Token": "shpat_wrong"}):
        with httpx.Client(transport=emulator.transport, base_url=emulator.base_url) as client:
            response = client.post(
                emulator.graphql_path, json={"query": "{ shop { id } }"}, headers=headers
            )
        assert response.status_code == 401
        assert response.json() == {
            "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
        }


def test_versions(emulator: EmulatorHandle) -> None:
    unknown = post(emulator, "/admin/api/2099-01/graphql.json", json={"query": "{ shop { id } }"})
    garbage = post(emulator, "/admin/api/latest/graphql.json", json={"query": "{ shop { id } }"})
    old = post(emulator, "/admin/api/2019-04/graphql.json", json={"query": "{ shop { id } }"})
    assert unknown.status_code == garbage.status_code == 404
    assert garbage.json() == {"errors": "Not Found"}
    assert old.status_code == 200
    assert old.headers["x-shopify-api-version"] == "2025-07"


def test_application_graphql_body_and_bad_json(emulator: EmulatorHandle) -> None:
    raw = post(
        emulator,
        emulator.graphql_path,
        content=b"{ shop { id } }",
        headers={"Content-Type": "application/graphql"},
    )
    assert raw.json()["data"]["shop"]["id"].startswith("gid://shopify/Shop/")
    broken = post(
        emulator,
        emulator.graphql_path,
        content=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 400


def test_syntax_and_validation_errors_in_graphql_ruby_shape(emulator: EmulatorHandle) -> None:
    syntax = emulator.graphql("{ shop { id }").json()
    assert syntax == {
        "errors": [
            {
                "message": "syntax error, unexpected end of file",
                "locations": [{"line": 1, "column": 14}],
            }
        ]
    }
    invalid = emulator.graphql("query Q { orders(first: 1) { nodes { nope } } }").json()
    assert invalid == {
        "errors": [
            {
                "message": "Field 'nope' doesn't exist on type 'Order'",
                "locations": [{"line": 1, "column": 38}],
                "path": ["query Q", "orders", "nodes", "nope"],
                "extensions": {"code": "undefinedField", "typeName": "Order", "fieldName": "nope"},
            }
        ]
    }
    unused = emulator.graphql("query Q($x: Int) { shop { id } }").json()
    assert unused["errors"][0]["extensions"] == {"code": "variableNotUsed", "variableName": "x"}


def test_search_warnings_reach_extensions(emulator: EmulatorHandle) -> None:
    body = emulator.graphql(
        'query { customers(first: 2, query: "colour:blue") { nodes { id } } }'
    ).json()
    (entry,) = body["extensions"]["search"]
    assert entry["path"] == ["customers"]
    assert entry["query"] == "colour:blue"
    assert entry["warnings"] == [
        {
            "field": "colour",
            "message": "Invalid search field for this query.",
            "code": "invalid_field",
        }
    ]


@pytest.mark.parametrize(("name", "text"), list(queries.all_query_texts()))
def test_every_product_query_runs(emulator: EmulatorHandle, name: str, text: str) -> None:
    variables = {
        "first": 5,
        "query": "",
        "lineItemsFirst": 5,
        "shippingFirst": 5,
        "id": "gid://shopify/Order/1",
        "after": None,
        # A blank address is refused with a userError: the shared store keeps no
        # subscription that would send webhooks from other tests' orders.
        "topic": "ORDERS_CREATE",
        "uri": "",
    }
    if "bulk" in name.lower() and not name.isupper():
        variables = {"query": text}
        text = queries.BULK_RUN_MUTATION
    body = emulator.graphql(text, variables).json()
    assert "errors" not in body or all(
        e.get("extensions", {}).get("code") != "EMULATOR_UNSUPPORTED" for e in body["errors"]
    ), body
    assert body["extensions"]["cost"]["requestedQueryCost"] > 0


def test_missing_scope_is_access_denied(emulator: EmulatorHandle) -> None:
    token = emulator.mint_token(["read_orders"])
    body = emulator.graphql("{ customers(first: 1) { nodes { id } } }", token=token).json()
    (error,) = body["errors"]
    assert body["data"] is None
    assert error["message"] == (
        "Access denied for customers field. Required access: `read_customers` access scope."
    )
    assert error["extensions"]["code"] == "ACCESS_DENIED"
    assert error["path"] == ["customers"]


def test_protected_customer_data_not_approved(admin_schema: GraphQLSchema) -> None:
    config = fixture_config(protected_customer_data_approved=False)
    with start_emulator(admin_schema, customers=3, orders=3, config=config) as handle:
        body = handle.graphql(queries.ACCESS_PROBE_QUERY).json()
        orders = handle.graphql("{ orders(first: 1) { nodes { id } } }").json()
    (error,) = body["errors"]
    assert error["message"].startswith("This app is not approved to access the Customer object.")
    assert error["extensions"]["code"] == "ACCESS_DENIED"
    assert "errors" not in orders


def test_without_read_all_orders_only_sixty_days_are_visible(emulator: EmulatorHandle) -> None:
    limited = emulator.mint_token(["read_orders"])
    query = "{ orders(first: 250) { nodes { createdAt } } ordersCount(limit: null) { count } }"
    everything = emulator.graphql(query).json()["data"]
    recent = emulator.graphql(query, token=limited).json()["data"]
    since = (STORE_NOW - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(everything["orders"]["nodes"]) == 80
    assert all(node["createdAt"] >= since for node in recent["orders"]["nodes"])
    expected = sum(node["createdAt"] >= since for node in everything["orders"]["nodes"])
    assert len(recent["orders"]["nodes"]) == expected < 80


def test_async_client_works(emulator: EmulatorHandle) -> None:
    import asyncio

    async def call() -> int:
        async with emulator.async_client() as client:
            response = await client.post(emulator.graphql_path, json={"query": "{ shop { id } }"})
            return response.status_code

    assert asyncio.run(call()) == 200
