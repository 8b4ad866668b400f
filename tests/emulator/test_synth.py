"""The synthetic store is deterministic, nasty in the documented ways, and consistent."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shopify_emulator.store import ShopStore
from shopify_emulator.synth import email_address_state, money_text, sort_tags

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
AMOUNT = re.compile(r"^-?\d+\.\d+$")


@pytest.fixture(scope="module")
def store() -> ShopStore:
    with ShopStore.generate(None, customers=400, orders=2_000, seed=5, now=NOW) as built:
        yield built


@pytest.fixture(scope="module")
def orders(store: ShopStore) -> list[dict[str, Any]]:
    return list(store.iter_all_orders(with_line_items=True))


@pytest.fixture(scope="module")
def customers(store: ShopStore) -> list[dict[str, Any]]:
    return list(store.iter_all_customers())


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def test_money_text_matches_shopify_decimal_format() -> None:
    assert money_text(5500) == "55.0"
    assert money_text(1250) == "12.5"
    assert money_text(123456) == "1234.56"
    assert money_text(0) == "0.0"
    assert money_text(7) == "0.07"
    assert money_text(1500, 0) == "1500.0"
    assert money_text(-250) == "-2.5"


def test_tags_are_deduplicated_and_sorted_case_insensitively() -> None:
    assert sort_tags(["keyedsearch", "VIP", "keyedcanada", "vip"]) == [
        "keyedcanada",
        "keyedsearch",
        "VIP",
    ]


def test_redacted_email_consent_maps_to_an_address_state_that_exists() -> None:
    assert email_address_state("REDACTED") == "UNSUBSCRIBED"
    assert email_address_state("SUBSCRIBED") == "SUBSCRIBED"


def test_same_seed_same_store_other_seed_other_store() -> None:
    def snapshot(seed: int) -> list[dict[str, Any]]:
        with ShopStore.generate(None, customers=30, orders=120, seed=seed, now=NOW) as built:
            return [*built.iter_all_customers(), *built.iter_all_orders(with_line_items=True)]

    first = snapshot(3)
    assert first == snapshot(3)
    assert first != snapshot(4)


def test_ids_look_like_shopify_ids(
    orders: list[dict[str, Any]], customers: list[dict[str, Any]]
) -> None:
    for doc, kind in [(orders[0], "Order"), (customers[0], "Customer")]:
        assert re.fullmatch(rf"gid://shopify/{kind}/\d{{13,14}}", doc["id"])
        assert doc["id"].endswith("/" + doc["legacyResourceId"])
    item = orders[0]["_lineItems"][0]
    assert re.fullmatch(r"gid://shopify/LineItem/\d{13,14}", item["id"])
    ids = [int(o["legacyResourceId"]) for o in orders]
    created = [_epoch(o["createdAt"]) for o in orders]
    assert created == sorted(created), "ids grow with creation time, as in Shopify"
    assert len(set(ids)) == len(ids)


def test_order_dates_span_the_window_with_exact_boundaries(orders: list[dict[str, Any]]) -> None:
    times = {o["createdAt"] for o in orders}
    start = NOW - timedelta(days=90)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    for moment in (start - timedelta(seconds=1), start, start + timedelta(seconds=1)):
        assert moment.strftime(fmt) in times
    assert (NOW - timedelta(days=60)).strftime(fmt) in times
    epochs = [_epoch(t) for t in times]
    assert min(epochs) < int(start.timestamp()) < max(epochs) < int(NOW.timestamp())
    assert min(epochs) >= int((NOW - timedelta(days=200)).timestamp())


def test_customers_created_before_and_within_the_window(customers: list[dict[str, Any]]) -> None:
    start = int((NOW - timedelta(days=90)).timestamp())
    created = [_epoch(c["createdAt"]) for c in customers]
    assert any(t < start for t in created)
    assert any(t >= start for t in created)
    assert start in created


def test_customer_aggregates_match_their_orders(
    orders: list[dict[str, Any]], customers: list[dict[str, Any]]
) -> None:
    counts: Counter[int] = Counter()
    spent: dict[int, Decimal] = {}
    for order in orders:
        owner = order["_customerId"]
        if owner is None or order["test"]:
            continue
        counts[owner] += 1
        amount = Decimal(order["currentTotalPriceSet"]["shopMoney"]["amount"])
        spent[owner] = spent.get(owner, Decimal(0)) + amount
    for customer in customers:
        number = int(customer["legacyResourceId"])
        assert int(customer["numberOfOrders"]) == counts[number]
        assert Decimal(customer["amountSpent"]["amount"]) == spent.get(number, Decimal(0))
        assert _epoch(customer["updatedAt"]) >= _epoch(customer["createdAt"])
    heavy = max(counts.values())
    assert heavy >= 10 * (sum(counts.values()) / len(counts)) / 3, "repeat buyers are skewed"


def test_money_is_exact_and_totals_add_up(orders: list[dict[str, Any]]) -> None:
    currencies = Counter(o["totalPriceSet"]["presentmentMoney"]["currencyCode"] for o in orders)
    assert len(currencies) >= 4
    for order in orders:
        for key in ("totalPriceSet", "subtotalPriceSet", "totalTaxSet", "totalShippingPriceSet"):
            for side in ("shopMoney", "presentmentMoney"):
                assert AMOUNT.match(order[key][side]["amount"]), order[key]
        totals = {
            key: Decimal(order[key]["shopMoney"]["amount"])
            for key in (
                "totalPriceSet",
                "subtotalPriceSet",
                "totalShippingPriceSet",
                "totalTaxSet",
                "totalDiscountsSet",
            )
        }
        assert totals["totalPriceSet"] == (
            totals["subtotalPriceSet"] + totals["totalShippingPriceSet"] + totals["totalTaxSet"]
        )
        lines = sum(
            Decimal(item["originalTotalSet"]["shopMoney"]["amount"]) for item in order["_lineItems"]
        )
        assert totals["subtotalPriceSet"] == lines - totals["totalDiscountsSet"]


def test_nasty_orders_are_present(orders: list[dict[str, Any]]) -> None:
    guests = [o for o in orders if o["_customerId"] is None]
    assert any(o["email"] for o in guests)
    assert any(o["phone"] and not o["email"] for o in guests)
    assert any(not o["email"] and not o["phone"] for o in guests)
    assert any(o["email"] != o["email"].strip() for o in guests if o["email"])
    assert any(o["cancelledAt"] for o in orders)
    assert any(o["test"] for o in orders)
    assert any(o["processedAt"] != o["createdAt"] for o in orders)
    items = [item for o in orders for item in o["_lineItems"]]
    assert any(len(o["_lineItems"]) > 250 for o in orders)
    assert any(item["quantity"] == 250 for item in items)
    assert any(item["quantity"] > 100 for item in items)
    assert any(item["product"] is None and item["variant"] is None for item in items)
    assert any(item["sku"] is None for item in items)
    assert any(o["discountCodes"] for o in orders)
    assert any(o["shippingAddress"] is None for o in orders)
    assert any(not o["_shippingLines"] for o in orders)
    assert any(len(o["_shippingLines"]) == 2 for o in orders)


def _scripts(text: str) -> set[str]:
    names = set()
    for char in text:
        name = unicodedata.name(char, "")
        names.update(
            word for word in ("CJK", "HANGUL", "ARABIC", "HEBREW", "CYRILLIC") if word in name
        )
        if unicodedata.category(char) == "So":
            names.add("EMOJI")
    return names


def test_nasty_customers_are_present(customers: list[dict[str, Any]]) -> None:
    emails = [c["email"] for c in customers if c["email"]]
    assert any(c["email"] is None for c in customers)
    assert any(c["phone"] is None for c in customers)
    assert any(c["email"] is None and c["phone"] is None for c in customers)
    folded = [e.strip().casefold() for e in emails]
    assert len(folded) == len(set(folded)), "Shopify: Email has already been taken"
    assert any("@" not in e or e.count("@") > 1 or e.endswith("@") for e in emails)
    assert any(c["phone"] and not re.fullmatch(r"\+\d{8,15}", c["phone"]) for c in customers)
    assert any(c["firstName"] is None and c["lastName"] is None for c in customers)
    scripts = set().union(*(_scripts(f"{c['firstName']} {c['lastName']}") for c in customers))
    assert {"CJK", "ARABIC", "HEBREW", "EMOJI"} <= scripts
    assert any(re.search(r"[éëøłü]", f"{c['firstName']} {c['lastName']}") for c in customers)
    assert max(len(c["tags"]) for c in customers) == 250
    assert any(
        c["defaultAddress"] and c["defaultAddress"]["countryCodeV2"] is None for c in customers
    )


def test_every_consent_state_appears(customers: list[dict[str, Any]]) -> None:
    email_states = {
        c["emailMarketingConsent"]["marketingState"]
        for c in customers
        if c["emailMarketingConsent"]
    }
    assert email_states == {
        "NOT_SUBSCRIBED",
        "PENDING",
        "SUBSCRIBED",
        "UNSUBSCRIBED",
        "REDACTED",
        "INVALID",
    }
    address_states = {
        c["defaultEmailAddress"]["marketingState"] for c in customers if c["defaultEmailAddress"]
    }
    assert "REDACTED" not in address_states
    assert address_states == {"NOT_SUBSCRIBED", "PENDING", "SUBSCRIBED", "UNSUBSCRIBED", "INVALID"}
    sms_states = {
        c["smsMarketingConsent"]["marketingState"] for c in customers if c["smsMarketingConsent"]
    }
    assert sms_states == {"NOT_SUBSCRIBED", "PENDING", "SUBSCRIBED", "UNSUBSCRIBED", "REDACTED"}
    for customer in customers:
        assert (customer["smsMarketingConsent"] is None) == (customer["phone"] is None)
        assert (customer["defaultEmailAddress"] is None) == (customer["email"] is None)


def test_tiny_stores_still_have_the_edge_cases() -> None:
    with ShopStore.generate(None, customers=50, orders=200, seed=1, now=NOW) as small:
        docs = list(small.iter_all_orders(with_line_items=True))
    assert any(len(o["_lineItems"]) > 250 for o in docs)
    assert any(i["quantity"] == 250 for o in docs for i in o["_lineItems"])
    assert any(i["product"] is None for o in docs for i in o["_lineItems"])
