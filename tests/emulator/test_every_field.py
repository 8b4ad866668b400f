"""A client that asks for every field of an order, a customer or a line item gets it all.

Queries are generated from the 2026-07 Admin schema (``schema_queries.every_field``), so a
field added to the schema is asked for too. Shopify answers every field of an object it
returns - nullable ones possibly ``null``, non-null ones never - both in a normal query
and in a bulk export (https://shopify.dev/docs/api/admin-graphql/latest/objects/Order,
https://shopify.dev/docs/api/admin-graphql/latest/objects/Customer,
https://shopify.dev/docs/api/admin-graphql/latest/objects/LineItem,
https://shopify.dev/docs/api/usage/bulk-operations/queries).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from graphql import GraphQLSchema, parse

from emulator_fixtures import EmulatorHandle
from schema_queries import Selection, every_field
from shopify_backfill.shopify.schema import validation_errors
from shopify_emulator.derived import distance_in_words
from shopify_emulator.executor import Executor

pytest_plugins = ["emulator_fixtures"]


def _order_selection(schema: GraphQLSchema) -> Selection:
    line_items = every_field(schema, "LineItem")
    return every_field(
        schema,
        "Order",
        overrides={"lineItems": "{ nodes " + line_items.text + " }"},
    )


def full_query(schema: GraphQLSchema, order_id: str, customer_id: str) -> str:
    order = _order_selection(schema)
    customer = every_field(schema, "Customer")
    return (
        f'query Everything {{ order(id: "{order_id}") {order.text} '
        f'customer(id: "{customer_id}") {customer.text} }}'
    )


def bulk_query(schema: GraphQLSchema) -> tuple[str, Selection, Selection, Selection]:
    """Every field of Order (three of its connections: the root and ``lineItems`` make
    five, Shopify's limit), every field of its line items and of its customer."""
    line_items = every_field(schema, "LineItem", bulk=True, max_connections=0)
    customer = every_field(schema, "Customer", bulk=True, max_connections=0)
    order = every_field(
        schema,
        "Order",
        bulk=True,
        max_connections=3,
        overrides={
            "lineItems": "{ edges { node " + line_items.text + " } }",
            "customer": customer.text,
        },
    )
    return "{ orders { edges { node " + order.text + " } } }", order, line_items, customer


def _ids(handle: EmulatorHandle) -> tuple[str, str]:
    order = next(
        doc
        for doc in handle.store.iter_all_orders()
        if doc.get("_customerId") and doc.get("discountCodes")
    )
    return order["id"], f"gid://shopify/Customer/{order['_customerId']}"


def test_one_query_for_every_field_gets_a_complete_answer(emulator: EmulatorHandle) -> None:
    schema = emulator.runtime.schema
    order_id, customer_id = _ids(emulator)
    text = full_query(schema, order_id, customer_id)
    assert validation_errors(schema, text) == []
    response = emulator.graphql(text)
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body.get("errors")
    order, customer = body["data"]["order"], body["data"]["customer"]
    assert set(order) == _order_selection(schema).names
    assert set(customer) == every_field(schema, "Customer").names
    items = order["lineItems"]["nodes"]
    assert items and all(set(item) == every_field(schema, "LineItem").names for item in items)
    assert body["extensions"]["cost"]["requestedQueryCost"] <= 1000


def test_plans_and_the_generic_walker_fill_identically(
    admin_schema: GraphQLSchema, emulator: EmulatorHandle
) -> None:
    order_id, customer_id = _ids(emulator)
    document = parse(full_query(admin_schema, order_id, customer_id))
    planned, generic = (
        Executor(admin_schema, emulator.store),
        Executor(admin_schema, emulator.store),
    )
    generic.use_plans = False
    first, second = planned.execute(document, {}), generic.execute(document, {})
    assert first.errors == second.errors == []
    assert orjson.dumps(first.data) == orjson.dumps(second.data)


def _download(handle: EmulatorHandle, url: str) -> list[dict[str, Any]]:
    with httpx.Client(transport=handle.transport) as client:
        response = client.get(url)
    response.raise_for_status()
    return [orjson.loads(line) for line in response.content.splitlines()]


def test_one_bulk_query_for_every_field_exports_complete_lines(emulator: EmulatorHandle) -> None:
    schema = emulator.runtime.schema
    text, order, line_items, _ = bulk_query(schema)
    payload = emulator.run_bulk(text)
    assert payload["userErrors"] == []
    done = emulator.wait_bulk(payload["bulkOperation"]["id"])
    assert done["status"] == "COMPLETED", done
    lines = _download(emulator, done["url"])
    roots = [line for line in lines if "__parentId" not in line]
    children = [line for line in lines if "__parentId" in line]
    plain = order.names - {"lineItems", "agreements", "discountApplications", "events"}
    assert len(roots) == emulator.store.counts()["orders"]
    assert all(plain <= set(root) for root in roots)
    line_item_lines = [
        c for c in children if str(c.get("id", "")).startswith("gid://shopify/LineItem/")
    ]
    assert line_item_lines and all(line_items.names <= set(c) for c in line_item_lines)
    assert {root["customer"] is None for root in roots} == {True, False}
    for root in roots:  # the order's history is real, not the empty default (history.py)
        if root["displayFulfillmentStatus"] == "FULFILLED":
            assert root["fulfillments"] and root["fulfillmentsCount"]["count"] == 1
        if root["displayFinancialStatus"] in ("REFUNDED", "PARTIALLY_REFUNDED"):
            assert root["refunds"]
        if root["displayFinancialStatus"] == "PAID":
            assert [t["kind"] for t in root["transactions"]] == ["SALE"]
    applications = [c for c in children if "allocationMethod" in c]
    assert applications and all(c["__typename"] == "DiscountCodeApplication" for c in applications)


QUERY_TOTALS = """
query($id: ID!) { order(id: $id) {
  displayFinancialStatus cancelledAt discountCodes
  totalPriceSet { shopMoney { amount } presentmentMoney { amount } }
  totalRefundedSet { shopMoney { amount } }
  totalTaxSet { shopMoney { amount } presentmentMoney { amount currencyCode } }
  totalReceivedSet { shopMoney { amount } presentmentMoney { amount } }
  netPaymentSet { shopMoney { amount } }
  totalOutstandingSet { shopMoney { amount } }
  totalPrice totalReceived netPayment
  taxLines { title rate priceSet { shopMoney { amount } presentmentMoney { amount currencyCode } } }
  discountApplications(first: 10) { nodes { ... on DiscountCodeApplication { code index } } }
  fulfillable refundable capturable canMarkAsPaid
  lineItems(first: 250) { nodes { quantity unfulfilledQuantity fulfillableQuantity
    originalUnitPriceSet { shopMoney { amount } }
    unfulfilledDiscountedTotalSet { shopMoney { amount } } } }
} }
"""


def _amount(money_bag: dict[str, Any], side: str = "shopMoney") -> Decimal:
    return Decimal(money_bag[side]["amount"])


def test_derived_order_fields_agree_with_the_stored_totals(emulator: EmulatorHandle) -> None:
    """Order money fields as documented on the Order object: received before refunds, net
    payment = received - refunded, tax lines summing to the total tax, one discount
    application per code (https://shopify.dev/docs/api/admin-graphql/latest/objects/Order)."""
    statuses: set[str] = set()
    for doc in list(emulator.store.iter_all_orders())[:120]:
        body = emulator.graphql(QUERY_TOTALS, {"id": doc["id"]}).json()
        assert "errors" not in body, body.get("errors")
        order = body["data"]["order"]
        status = order["displayFinancialStatus"]
        statuses.add(status)
        total, received = _amount(order["totalPriceSet"]), _amount(order["totalReceivedSet"])
        if status in ("PAID", "PARTIALLY_REFUNDED", "REFUNDED"):
            assert received == total
        if status in ("PENDING", "AUTHORIZED", "VOIDED", "EXPIRED"):
            assert received == 0
        refunded = _amount(order["totalRefundedSet"])
        assert _amount(order["netPaymentSet"]) == received - refunded
        assert Decimal(order["totalReceived"]) == received
        assert Decimal(order["totalPrice"]) == total
        assert _amount(order["totalOutstandingSet"]) >= 0
        assert order["capturable"] == (status == "AUTHORIZED" and order["cancelledAt"] is None)
        tax = sum((_amount(line["priceSet"]) for line in order["taxLines"]), Decimal(0))
        assert tax == _amount(order["totalTaxSet"])
        for line in order["taxLines"]:
            currency = line["priceSet"]["presentmentMoney"]["currencyCode"]
            assert currency == order["totalTaxSet"]["presentmentMoney"]["currencyCode"]
        codes = [node["code"] for node in order["discountApplications"]["nodes"]]
        assert codes == order["discountCodes"]
        for item in order["lineItems"]["nodes"]:
            assert item["fulfillableQuantity"] == item["unfulfilledQuantity"]
            expected = _amount(item["originalUnitPriceSet"]) * item["unfulfilledQuantity"]
            assert _amount(item["unfulfilledDiscountedTotalSet"]) == expected
    assert {"PAID", "PENDING"} <= statuses


def test_customer_fields_clients_read_at_start(emulator: EmulatorHandle) -> None:
    """``lifetimeDuration`` reads like "about 1 year" (Rails' distance in words), the
    subscriber status of a shop without subscriptions is ``NEVER_SUBSCRIBED``
    (https://shopify.dev/docs/api/admin-graphql/latest/objects/Customer)."""
    text = """{ customers(first: 50) { nodes { id createdAt lifetimeDuration
        productSubscriberStatus unsubscribeUrl image { url } statistics { predictedSpendTier }
        metafields(first: 3) { nodes { id } pageInfo { hasNextPage } } } } }"""
    body = emulator.graphql(text).json()
    assert "errors" not in body, body.get("errors")
    nodes = body["data"]["customers"]["nodes"]
    assert nodes
    for node in nodes:
        assert node["productSubscriberStatus"] == "NEVER_SUBSCRIBED"
        assert node["lifetimeDuration"] and node["lifetimeDuration"][0].isalnum()
        assert node["unsubscribeUrl"].startswith(f"https://{emulator.shop_domain}/")
        assert node["metafields"] == {"nodes": [], "pageInfo": {"hasNextPage": False}}


def test_current_app_installation_lists_the_tokens_scopes(emulator: EmulatorHandle) -> None:
    """Clients read their granted scopes from ``currentAppInstallation.accessScopes``
    (https://shopify.dev/docs/api/admin-graphql/latest/queries/currentAppInstallation)."""
    scopes = ["read_orders", "read_customers", "read_all_orders"]
    token = emulator.mint_token(scopes)
    text = """{ currentAppInstallation { id accessScopes { handle description }
        app { id apiKey title installation { id } } launchUrl } }"""
    body = emulator.graphql(text, token=token).json()
    assert "errors" not in body, body.get("errors")
    installation = body["data"]["currentAppInstallation"]
    assert [scope["handle"] for scope in installation["accessScopes"]] == scopes
    assert all(scope["description"] for scope in installation["accessScopes"])
    assert installation["app"]["apiKey"] == emulator.runtime.config.client_id
    assert installation["app"]["installation"]["id"] == installation["id"]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("{ products { edges { node { id } } } }", "not 'products'"),
        (
            "{ orders { edges { node { id customer {"
            " metafields { edges { node { id } } } } } } } }",
            "Customer.metafields (inside Order.customer)",
        ),
    ],
)
def test_a_bulk_query_the_emulator_cannot_export_is_refused_when_submitted(
    emulator: EmulatorHandle, query: str, fragment: str
) -> None:
    """Invalid bulk queries are answered in ``userErrors`` and start no job
    (https://shopify.dev/docs/api/admin-graphql/latest/mutations/bulkOperationRunQuery)."""
    payload = emulator.run_bulk(query)
    assert payload["bulkOperation"] is None
    (error,) = payload["userErrors"]
    assert error["field"] == ["query"] and fragment in error["message"]
    body = emulator.graphql("{ currentBulkOperation { id } }").json()
    assert body["data"]["currentBulkOperation"] is None


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (0, "less than a minute"),
        (1, "1 minute"),
        (44, "44 minutes"),
        (60, "about 1 hour"),
        (300, "about 5 hours"),
        (1500, "1 day"),
        (10 * 1440, "10 days"),
        (31 * 1440, "about 1 month"),
        (200 * 1440, "7 months"),
        (400 * 1440, "about 1 year"),
        (550 * 1440, "over 1 year"),
        (700 * 1440, "almost 2 years"),
        (3 * 365 * 1440, "about 3 years"),
    ],
)
def test_lifetime_reads_like_rails_distance_of_time_in_words(minutes: int, words: str) -> None:
    """Thresholds of Rails' ``distance_of_time_in_words``
    (https://api.rubyonrails.org/classes/ActionView/Helpers/DateHelper.html)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert distance_in_words(start, start + timedelta(minutes=minutes)) == words


def test_every_field_of_the_shop_and_the_installation(emulator: EmulatorHandle) -> None:
    """The roots a client reads at start answer every field too
    (https://shopify.dev/docs/api/admin-graphql/latest/objects/Shop,
    https://shopify.dev/docs/api/admin-graphql/latest/objects/AppInstallation)."""
    schema = emulator.runtime.schema
    shop, installation = every_field(schema, "Shop"), every_field(schema, "AppInstallation")
    text = f"{{ shop {shop.text} currentAppInstallation {installation.text} }}"
    assert validation_errors(schema, text) == []
    body = emulator.graphql(text).json()
    assert "errors" not in body, body.get("errors")
    assert set(body["data"]["shop"]) == shop.names
    assert body["data"]["shop"]["myshopifyDomain"] == emulator.shop_domain
    assert set(body["data"]["currentAppInstallation"]) == installation.names
