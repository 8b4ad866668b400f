"""load_batch behaviour beyond the golden cases: transactions, tenancy, exact changes."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from conftest import Store, make_store
from shopify_backfill.errors import InputError
from shopify_backfill.profiles import (
    AttributeChanged,
    EmailAdded,
    SubscriptionChanged,
    export_profiles,
    insert_profile,
    list_issues,
    load_batch,
)
from shopify_backfill.profiles.schema import aliases, users
from shopify_backfill.shopify.records import Customer, Order


def customer(number: int, **fields: Any) -> Customer:
    payload: dict[str, Any] = {
        "id": f"gid://shopify/Customer/{number}",
        "createdAt": "2026-05-01T00:00:00Z",
        "updatedAt": "2026-06-01T00:00:00Z",
    }
    payload.update(fields)
    return msgspec.convert(payload, Customer)


def order(number: int, **fields: Any) -> Order:
    payload: dict[str, Any] = {
        "id": f"gid://shopify/Order/{number}",
        "createdAt": "2026-05-03T00:00:00Z",
        "currencyCode": "CAD",
        "lineItems": [
            {
                "id": f"gid://shopify/LineItem/{number}0",
                "title": "Thing",
                "quantity": 1,
                "product": {"id": "gid://shopify/Product/1"},
                "originalUnitPriceSet": {"shopMoney": {"amount": "5.00", "currencyCode": "CAD"}},
            }
        ],
    }
    payload.update(fields)
    return msgspec.convert(payload, Order)


def email(address: str, state: str | None = None) -> dict[str, Any]:
    return {"emailAddress": address, "marketingState": state}


def test_refuses_a_connection_outside_a_transaction(store: Store) -> None:
    with store.engine.connect() as conn, pytest.raises(InputError, match="transaction"):
        load_batch(conn, store.context(), [customer(1)])


def test_writes_belong_to_the_callers_transaction(store: Store) -> None:
    with store.engine.connect() as conn:
        transaction = conn.begin()
        result = load_batch(conn, store.context(), [customer(1, firstName="Rolled")])
        assert result.counts.customers_created == 1
        transaction.rollback()
    with store.engine.connect() as conn:
        assert export_profiles(conn, store.workspace_id) == []


def test_a_connection_of_another_workspace_is_refused(engine: Engine) -> None:
    mine, theirs = make_store(engine), make_store(engine)
    context = mine.context()
    foreign = type(context)(
        workspace_id=mine.workspace_id,
        connection_id=theirs.connection_id,
        backfill_id=1,
        historical=True,
    )
    with engine.begin() as conn, pytest.raises(InputError, match="does not exist in workspace"):
        load_batch(conn, foreign, [customer(1)])


def test_workspaces_never_match_each_others_profiles(engine: Engine) -> None:
    first, second = make_store(engine), make_store(engine)
    with engine.begin() as conn:
        insert_profile(conn, first.workspace_id, external_id="a-1", attributes={"email": "x@e.com"})
    result = second.load([customer(1, defaultEmailAddress=email("x@e.com"))])
    assert result.counts.customers_created == 1
    assert result.counts.customers_matched_by_email == 0
    with engine.connect() as conn:
        (profile,) = export_profiles(conn, first.workspace_id)
    assert profile["aliases"] == {}
    assert "shopify_order_count" not in profile["attributes"]


def test_changes_report_exactly_what_changed(store: Store) -> None:
    store.load([customer(1, firstName="Ann", defaultEmailAddress=email("ann@e.com", "SUBSCRIBED"))])
    result = store.load(
        [customer(1, firstName="Anne", defaultEmailAddress=email("anne@e.com", "UNSUBSCRIBED"))]
    )
    user_id = result.changes[0].user_id
    kinds = [(type(c).__name__, getattr(c, "name", None)) for c in result.changes]
    assert kinds == [
        ("AttributeChanged", "email"),
        ("EmailAdded", None),
        ("AttributeChanged", "first_name"),
        ("SubscriptionChanged", None),
    ]
    email_change, added, name_change, subscription = result.changes
    assert isinstance(email_change, AttributeChanged)
    assert (email_change.old, email_change.new, email_change.custom) == (
        "ann@e.com",
        "anne@e.com",
        False,
    )
    assert isinstance(added, EmailAdded) and added.email == "anne@e.com"
    assert isinstance(name_change, AttributeChanged) and name_change.old == "Ann"
    assert isinstance(subscription, SubscriptionChanged)
    assert (subscription.channel, subscription.old_state, subscription.state) == (
        "email",
        "subscribed",
        "unsubscribed",
    )
    assert all(c.user_id == user_id and c.historical for c in result.changes)
    assert result.counts.data_points == 2  # two attributes; consent is free
    with store.engine.connect() as conn:
        held = dict(
            conn.execute(
                sa.select(aliases.c.label, aliases.c.name).where(aliases.c.user_id == user_id)
            ).all()
        )
    assert held == {"shopify_customer_id": "1", "shopify_email": "anne@e.com"}


def test_another_backfill_never_changes_consent_of_profiles_it_did_not_create(
    store: Store,
) -> None:
    store.load([customer(1, defaultEmailAddress=email("c@e.com", "SUBSCRIBED"))], backfill_id=1)
    later = store.load(
        [customer(1, defaultEmailAddress=email("c@e.com", "UNSUBSCRIBED"))], backfill_id=2
    )
    assert not [c for c in later.changes if isinstance(c, SubscriptionChanged)]
    with store.engine.connect() as conn:
        (profile,) = export_profiles(conn, store.workspace_id)
    assert profile["subscriptions"] == {"test-shop.myshopify.com/email": "subscribed"}


def test_historical_flag_and_source_follow_the_context(store: Store) -> None:
    result = store.load([order(5, email="h@e.com")], backfill_id=None)
    assert result.changes and not any(c.historical for c in result.changes)
    with store.engine.connect() as conn:
        (profile,) = export_profiles(conn, store.workspace_id)
    assert profile["events"][0]["source"] == "shopify"
    assert profile["events"][0]["historical"] is False


def test_issues_are_stored_once_across_reloads(store: Store) -> None:
    bad = order(
        6, email="q@e.com", totalPriceSet={"shopMoney": {"amount": "1,00", "currencyCode": "CAD"}}
    )
    guest = order(7)
    for _ in range(2):
        result = store.load([bad, guest, customer(8, defaultEmailAddress=email("nope"))])
    assert result.counts.orders_quarantined == 1
    assert result.counts.orders_unattributable == 1
    assert [i.shopify_id for i in result.quarantined] == ["6"]
    with store.engine.connect() as conn:
        stored = list_issues(conn, store.workspace_id)
    assert sorted((i.outcome, i.shopify_id) for i in stored) == [
        ("partial", "8"),
        ("quarantined", "6"),
        ("unattributable", "7"),
    ]
    assert "'1,00' is not a decimal amount" in next(i.reason for i in stored if i.shopify_id == "6")
    assert '"gid://shopify/Order/6"' in next(i.excerpt for i in stored if i.shopify_id == "6")


def test_a_batch_takes_a_bounded_number_of_statements(store: Store) -> None:
    records: list[Customer | Order] = []
    for number in range(1, 201):
        records.append(
            customer(number, defaultEmailAddress=email(f"c{number}@e.com", "SUBSCRIBED"))
        )
        records.append(
            order(
                1000 + number,
                customer={
                    "id": f"gid://shopify/Customer/{number}",
                    "createdAt": "2026-05-01T00:00:00Z",
                },
            )
        )
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        result = store.load(records)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)
    assert result.counts.customers_created == 200
    assert result.counts.purchases_written == 200
    # ~20 statements for 400 records: reads by key, one write per table (insertmanyvalues
    # may page a big executemany into a few statements), never one per row.
    assert len(statements) < 40, statements


def test_a_customer_seen_many_times_in_a_batch_is_counted_once(store: Store) -> None:
    embedded = {"id": "gid://shopify/Customer/9", "createdAt": "2026-05-01T00:00:00Z"}
    result = store.load([customer(9), order(91, customer=embedded), order(92, customer=embedded)])
    assert result.counts.customers_created == 1
    assert result.counts.orders_imported == 2
    with store.engine.connect() as conn:
        assert (
            conn.execute(
                sa.select(sa.func.count())
                .select_from(users)
                .where(users.c.workspace_id == store.workspace_id)
            ).scalar_one()
            == 1
        )
