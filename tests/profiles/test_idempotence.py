"""Property: loading once, twice, or in any batch split yields the same store and cost.

Records are generated the way extraction yields them: each Shopify customer has one
current state (extraction reads customers as of now), and orders embed that same
customer or none (guests). Emails and phones are drawn from small pools so customers,
guests and pre-existing profiles collide often: the cases where identity resolution
could depend on batch boundaries.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from conftest import Store, make_store
from shopify_backfill.profiles import (
    datapoint_total,
    ensure_subscription_groups,
    export_profiles,
    identity,
    insert_profile,
    set_subscription,
)
from shopify_backfill.shopify.records import Customer, Order

EMAILS = ["ann@example.com", " Ann@Example.com", "bob@example.com", "not-an-email"]
PHONES = ["+16135550101", "(613) 555-0101", "+16135550102", "12"]
NAMES = ["Ann", "Bob", "Émile", ""]
CONSENT = ["SUBSCRIBED", "UNSUBSCRIBED", "PENDING", "NOT_SUBSCRIBED", None]
CUSTOMER_IDS = range(1, 6)
ORDER_IDS = range(1, 8)


def money(amount: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": amount, "currencyCode": "CAD"}}


customer_state = st.fixed_dictionaries(
    {
        "email": st.sampled_from([*EMAILS, None]),
        "email_state": st.sampled_from(CONSENT),
        "phone": st.sampled_from([*PHONES, None]),
        "sms_state": st.sampled_from(CONSENT),
        "first_name": st.sampled_from([*NAMES, None]),
        "country": st.sampled_from(["CA", "FR", "ZZ", None]),
        "tags": st.lists(st.sampled_from(["vip", "new", "b2b"]), max_size=2, unique=True),
        "orders": st.integers(0, 30),
        "spent": st.sampled_from(["0.0", "12.50", "99.99", "100"]),
    }
)

line_item = st.fixed_dictionaries(
    {
        "quantity": st.sampled_from([1, 2, 100, 101, 250]),
        "product": st.sampled_from([11, 12, None]),
        "sku": st.sampled_from(["SKU-1", None]),
        "price": st.sampled_from(["1.00", "19.99", "0.01"]),
    }
)

order_state = st.fixed_dictionaries(
    {
        "customer": st.sampled_from([*CUSTOMER_IDS, None, None, None]),
        "email": st.sampled_from([*EMAILS, None]),
        "phone": st.sampled_from([*PHONES, None]),
        "day": st.integers(1, 28),
        "test": st.sampled_from([False] * 7 + [True]),
        "items": st.lists(line_item, min_size=1, max_size=3),
        "bad_total": st.sampled_from([False] * 7 + [True]),
    }
)

existing_profile = st.fixed_dictionaries(
    {
        "external_id": st.sampled_from([None, "crm"]),
        "email": st.sampled_from([EMAILS[0], EMAILS[2], None]),
        "phone": st.sampled_from([PHONES[0], PHONES[2], None]),
        "day": st.sampled_from([None, 1, 15]),
        "subscribed": st.booleans(),
    }
)


def customer_payload(number: int, state: dict[str, Any]) -> dict[str, Any]:
    email = state["email"]
    return {
        "id": f"gid://shopify/Customer/{number}",
        "createdAt": "2026-04-01T00:00:00Z",
        "updatedAt": "2026-06-01T00:00:00Z",
        "firstName": state["first_name"],
        "defaultEmailAddress": (
            {"emailAddress": email, "marketingState": state["email_state"]} if email else None
        ),
        "defaultPhoneNumber": {"phoneNumber": state["phone"]} if state["phone"] else None,
        "smsMarketingConsent": (
            {"marketingState": state["sms_state"]} if state["sms_state"] else None
        ),
        "defaultAddress": {"city": "Ottawa", "countryCodeV2": state["country"]},
        "tags": state["tags"],
        "numberOfOrders": str(state["orders"]),
        "amountSpent": {"amount": state["spent"], "currencyCode": "CAD"},
    }


def order_payload(
    number: int, state: dict[str, Any], customers: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    customer = state["customer"]
    return {
        "id": f"gid://shopify/Order/{number}",
        "name": f"#{number}",
        "number": number,
        "createdAt": f"2026-05-{state['day']:02d}T10:00:00Z",
        "test": state["test"],
        "email": state["email"],
        "phone": state["phone"],
        "currencyCode": "CAD",
        "totalPriceSet": money("x" if state["bad_total"] else "10.00"),
        "customer": customer_payload(customer, customers[customer]) if customer else None,
        "lineItems": [
            {
                "id": f"gid://shopify/LineItem/{number * 10 + index}",
                "title": "Thing",
                "name": "Thing",
                "quantity": item["quantity"],
                "sku": item["sku"],
                "product": (
                    {"id": f"gid://shopify/Product/{item['product']}"} if item["product"] else None
                ),
                "originalUnitPriceSet": money(item["price"]),
            }
            for index, item in enumerate(state["items"])
        ],
    }


scenario = st.fixed_dictionaries(
    {
        "customers": st.fixed_dictionaries({n: customer_state for n in CUSTOMER_IDS}),
        "orders": st.fixed_dictionaries({n: order_state for n in ORDER_IDS}),
        "existing": st.lists(existing_profile, max_size=3),
        "sequence": st.lists(
            st.one_of(
                st.tuples(st.just("customer"), st.sampled_from(list(CUSTOMER_IDS))),
                st.tuples(st.just("order"), st.sampled_from(list(ORDER_IDS))),
            ),
            min_size=1,
            max_size=14,
        ),
        "cuts": st.lists(st.integers(1, 13), max_size=4, unique=True),
    }
)


def build_records(case: dict[str, Any]) -> list[Customer | Order]:
    records: list[Customer | Order] = []
    for kind, number in case["sequence"]:
        if kind == "customer":
            payload = customer_payload(number, case["customers"][number])
            records.append(msgspec.convert(payload, Customer))
        else:
            payload = order_payload(number, case["orders"][number], case["customers"])
            records.append(msgspec.convert(payload, Order))
    return records


def seeded_store(engine: Engine, existing: list[dict[str, Any]]) -> Store:
    store = make_store(engine)
    with engine.begin() as conn:
        groups = ensure_subscription_groups(conn, store.workspace_id, store.connection_id)
        for index, profile in enumerate(existing):
            email = profile["email"]
            user_id = insert_profile(
                conn,
                store.workspace_id,
                external_id=f"{profile['external_id']}-{index}" if profile["external_id"] else None,
                attributes={
                    "email": email,
                    "phone": profile["phone"],
                    "first_name": "Existing",
                },
                last_activity=(
                    datetime(2026, 3, profile["day"], tzinfo=UTC) if profile["day"] else None
                ),
            )
            if profile["subscribed"]:
                set_subscription(conn, store.workspace_id, user_id, groups["email"], "subscribed")
    return store


def snapshot(store: Store) -> tuple[list[dict[str, Any]], int]:
    with store.engine.connect() as conn:
        return (
            export_profiles(conn, store.workspace_id),
            datapoint_total(conn, store.workspace_id),
        )


def split(records: list[Any], cuts: list[int]) -> list[list[Any]]:
    edges = [0, *sorted(c for c in cuts if c < len(records)), len(records)]
    return [records[a:b] for a, b in itertools.pairwise(edges) if b > a]


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=scenario)
def test_loading_is_idempotent_and_split_invariant(engine: Engine, case: dict[str, Any]) -> None:
    records = build_records(case)

    once = seeded_store(engine, case["existing"])
    once.load(records)
    expected_store, expected_points = snapshot(once)

    twice = seeded_store(engine, case["existing"])
    twice.load(records)
    second = twice.load(records)
    assert second.changes == []
    assert second.counts.data_points == 0
    assert snapshot(twice) == (expected_store, expected_points)

    in_parts = seeded_store(engine, case["existing"])
    for batch in split(records, case["cuts"]):
        in_parts.load(batch)
    assert snapshot(in_parts) == (expected_store, expected_points)

    one_by_one = seeded_store(engine, case["existing"])
    for record in records:
        one_by_one.load([record])
    assert snapshot(one_by_one) == (expected_store, expected_points)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=scenario)
def test_keys_resolved_on_demand_give_the_full_preloads_store(
    engine: Engine, case: dict[str, Any]
) -> None:
    """Every email and phone "hot" (read from the store ranked, one candidate a page)
    must resolve exactly as loading every profile that holds it."""
    records = build_records(case)
    full = seeded_store(engine, case["existing"])
    for batch in split(records, case["cuts"]):
        full.load(batch)
    expected = snapshot(full)

    saved = identity.HOT_KEY_LIMIT, identity.HOT_PAGE
    identity.HOT_KEY_LIMIT, identity.HOT_PAGE = 0, 1
    try:
        on_demand = seeded_store(engine, case["existing"])
        for batch in split(records, case["cuts"]):
            on_demand.load(batch)
    finally:
        identity.HOT_KEY_LIMIT, identity.HOT_PAGE = saved
    assert snapshot(on_demand) == expected
