"""The bulk statements store exactly what SQLAlchemy's own inserts store, on both backends.

``profiles.bulk`` bypasses SQLAlchemy's bind processing for speed, so these tests pin
the stored representation (SQLite's datetime and decimal text, exact JSON numbers,
PostgreSQL's types) to the one SQLAlchemy writes, and check the guards those column
types enforce. They also cover the loader's path for rows a concurrent writer stored
first, which a single-writer test cannot otherwise reach.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from test_load_batch import order

from conftest import Store
from shopify_backfill.profiles import EventAdded, PurchaseAdded, datapoint_total, load_batch
from shopify_backfill.profiles import writes as writes_module
from shopify_backfill.profiles.bulk import BulkInsert, BulkUpdate
from shopify_backfill.profiles.schema import purchases, user_subscriptions, users
from shopify_backfill.profiles.users import insert_profile

PARIS = timezone(timedelta(hours=2))
PURCHASE_COLUMNS = (
    "workspace_id",
    "user_id",
    "product_id",
    "currency",
    "price",
    "quantity",
    "time",
    "properties",
    "source",
    "historical",
    "backfill_id",
    "dedup_key",
    "created_at",
)


def purchase_row(store: Store, user_id: int, key: str) -> dict[str, Any]:
    return {
        "workspace_id": store.workspace_id,
        "user_id": user_id,
        "product_id": "p-1",
        "currency": "CAD",
        "price": Decimal("10.625"),
        "quantity": 3,
        "time": datetime(2026, 5, 3, 14, 30, 15, 120, tzinfo=PARIS),
        "properties": {"price": Decimal("1.50"), "n": 2, "nested": [None, "é", True]},
        "source": "shopify_backfill",
        "historical": True,
        "backfill_id": None,
        "dedup_key": key,
        "created_at": datetime(2026, 7, 2, tzinfo=UTC),
    }


def stored(engine: Engine, key: str) -> tuple[Any, ...]:
    """The row as the database holds it: driver values, no SQLAlchemy processing."""
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT product_id, currency, price, quantity, time, properties, source, "
            "historical, backfill_id, created_at FROM purchases WHERE dedup_key = "
            + ("?" if engine.dialect.name == "sqlite" else "%s"),
            (key,),
        ).one()
    return tuple(row)


def test_bulk_insert_stores_what_sqlalchemy_stores(store: Store) -> None:
    with store.engine.begin() as conn:
        user_id = insert_profile(conn, store.workspace_id)
        conn.execute(sa.insert(purchases), [purchase_row(store, user_id, "by-sqlalchemy")])
        values = purchase_row(store, user_id, "by-bulk")
        BulkInsert(purchases, PURCHASE_COLUMNS).execute(
            conn, [tuple(values[name] for name in PURCHASE_COLUMNS)]
        )
    assert stored(store.engine, "by-bulk") == stored(store.engine, "by-sqlalchemy")
    with store.engine.connect() as conn:
        read = conn.execute(
            sa.select(purchases.c.time, purchases.c.price, purchases.c.properties).where(
                purchases.c.dedup_key == "by-bulk"
            )
        ).one()
    assert read.time == values["time"] and read.time.tzinfo is not None
    assert read.price == Decimal("10.625")
    assert read.properties == values["properties"]
    assert isinstance(read.properties["price"], Decimal)


@pytest.mark.parametrize(
    ("column", "value", "error"),
    [
        ("time", datetime(2026, 5, 3), ValueError),  # naive: refused, not guessed
        ("price", 10.625, TypeError),  # binary float money: refused
    ],
)
def test_bulk_insert_keeps_the_column_types_guards(
    store: Store, column: str, value: Any, error: type[Exception]
) -> None:
    with store.engine.begin() as conn:
        user_id = insert_profile(conn, store.workspace_id)
        values = {**purchase_row(store, user_id, f"bad-{column}"), column: value}
        with pytest.raises(error):
            BulkInsert(purchases, PURCHASE_COLUMNS).execute(
                conn, [tuple(values[name] for name in PURCHASE_COLUMNS)]
            )


def test_conflicts_are_skipped_or_merged_as_declared(store: Store) -> None:
    moment = datetime(2026, 7, 2, tzinfo=UTC)
    with store.engine.begin() as conn:
        user_id = insert_profile(conn, store.workspace_id)
        group = conn.exec_driver_sql("SELECT min(id) FROM subscription_groups").scalar_one()
        columns = ("workspace_id", "user_id", "group_id", "state", "updated_at")
        row = (store.workspace_id, user_id, group, "subscribed", moment)
        skip = BulkInsert(user_subscriptions, columns, conflict=("user_id", "group_id"))
        merge = BulkInsert(
            user_subscriptions,
            columns,
            conflict=("user_id", "group_id"),
            update=("state = excluded.state",),
        )
        assert skip.execute_counted(conn, [row]) == 1
        assert skip.execute_counted(conn, [(*row[:3], "unsubscribed", moment)]) == 0
        state = sa.select(user_subscriptions.c.state).where(user_subscriptions.c.user_id == user_id)
        assert conn.execute(state).scalar_one() == "subscribed"
        merge.execute(conn, [(*row[:3], "unsubscribed", moment)])
        assert conn.execute(state).scalar_one() == "unsubscribed"


def test_bulk_update_sets_each_row_by_key(store: Store) -> None:
    later = datetime(2026, 8, 1, tzinfo=UTC)
    with store.engine.begin() as conn:
        first = insert_profile(conn, store.workspace_id, attributes={"email": "a@e.com"})
        second = insert_profile(conn, store.workspace_id, attributes={"email": "b@e.com"})
        BulkUpdate(users, "id", ("email", "custom_attributes", "last_activity")).execute(
            conn,
            [
                (first, "a2@e.com", {"spent": Decimal("1.10")}, later),
                (second, None, {}, None),
            ],
        )
        rows = {
            row.id: row
            for row in conn.execute(
                sa.select(users).where(users.c.workspace_id == store.workspace_id)
            )
        }
    assert (rows[first].email, rows[first].custom_attributes) == (
        "a2@e.com",
        {"spent": Decimal("1.10")},
    )
    assert rows[first].last_activity == later
    assert rows[second].email is None and rows[second].last_activity is None


def test_rows_a_concurrent_writer_stored_first_are_neither_reported_nor_billed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulates the race the ``ON CONFLICT`` guards exist for: the batch plans an order
    as new, but the rows are already there when it writes (SQLite takes its fallback
    path, PostgreSQL reads ``RETURNING``)."""
    first = store.load([order(1, email="a@e.com")])
    assert first.counts.events_written == 1
    original = writes_module._Batch._preload

    def forgetful(self: Any, mapped: Any) -> None:
        original(self, mapped)
        self.known_events.clear()
        self.known_purchases.clear()

    monkeypatch.setattr(writes_module._Batch, "_preload", forgetful)
    with store.engine.begin() as conn:
        result = load_batch(conn, store.context(), [order(1, email="a@e.com"), order(2)])
    assert result.counts.events_written == 0  # order 2 has no customer, email or phone
    with store.engine.begin() as conn:
        result = load_batch(
            conn, store.context(), [order(1, email="a@e.com"), order(3, email="a@e.com")]
        )
    added = [c for c in result.changes if isinstance(c, EventAdded | PurchaseAdded)]
    assert sorted(c.dedup_key for c in added) == ["3", "3:30:0"]
    assert result.counts.events_written == result.counts.purchases_written == 1
    with store.engine.connect() as conn:
        assert datapoint_total(conn, store.workspace_id) == (
            first.counts.data_points + result.counts.data_points
        )
    assert result.data_points_by_category["events"] == 1  # order 3's, not order 1's again
