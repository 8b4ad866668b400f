"""The store: files, reopening, threads, ground-truth iterators, keyset pages, counts."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shopify_backfill.errors import ConfigError, InputError
from shopify_emulator.cursors import Cursor, CursorError, decode_cursor, encode_cursor
from shopify_emulator.store import (
    CUSTOMER_SORTS,
    ORDER_SORTS,
    ShopStore,
    count_rows,
    fetch_page,
)

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def store() -> ShopStore:
    with ShopStore.generate(None, customers=60, orders=300, seed=2, now=NOW) as built:
        yield built


def test_file_store_reopens_without_regenerating(tmp_path: Path) -> None:
    path = tmp_path / "shop.sqlite"
    built = ShopStore.generate(path, customers=10, orders=40, seed=9, now=NOW, plan="plus")
    before = list(built.iter_all_orders())
    built.close()
    reopened = ShopStore.open(path)
    assert list(reopened.iter_all_orders()) == before
    assert (reopened.plan, reopened.seed, reopened.now) == ("plus", 9, NOW)
    assert reopened.shop_document()["plan"]["shopifyPlus"] is True
    reopened.close()
    assert path.exists()


def test_throwaway_store_is_deleted_on_close() -> None:
    built = ShopStore.generate(None, customers=5, orders=10, seed=1, now=NOW)
    folder = built.path.parent
    assert folder.exists()
    built.close()
    assert not folder.exists()
    with pytest.raises(ConfigError, match="closed"):
        built.connection()


def test_bad_arguments_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="orders"):
        ShopStore.generate(None, customers=1, orders=-1, seed=1, now=NOW)
    with pytest.raises(InputError, match="plan"):
        ShopStore.generate(None, customers=1, orders=1, seed=1, now=NOW, plan="gold")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="timezone-aware"):
        ShopStore.generate(None, customers=1, orders=1, seed=1, now=datetime(2026, 1, 1))
    existing = tmp_path / "x.sqlite"
    existing.write_bytes(b"")
    with pytest.raises(InputError, match="already exists"):
        ShopStore.generate(existing, customers=1, orders=1, seed=1, now=NOW)
    with pytest.raises(ConfigError, match="does not exist"):
        ShopStore.open(tmp_path / "missing.sqlite")


def test_each_thread_gets_its_own_connection_and_shared_tables(store: ShopStore) -> None:
    main = store.connection()
    main.execute("CREATE TABLE IF NOT EXISTS emu_probe (value TEXT)")
    main.execute("INSERT INTO emu_probe VALUES ('from main')")
    main.commit()
    seen: list[Any] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            connection = store.connection()
            assert connection is not main
            assert connection is store.connection()
            seen.append(connection.execute("SELECT value FROM emu_probe").fetchone()[0])
            seen.append(sum(1 for _ in store.iter_all_orders()))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert seen.count("from main") == 4
    assert seen.count(300) == 4


def test_ground_truth_iterators_agree_with_tables(store: ShopStore) -> None:
    counts = store.counts()
    orders = list(store.iter_all_orders(with_line_items=True))
    assert len(orders) == counts["orders"] == 300
    assert sum(len(o["_lineItems"]) for o in orders) == counts["line_items"]
    assert sum(1 for _ in store.iter_all_customers()) == counts["customers"] == 60
    order = orders[5]
    found = store.order(int(order["legacyResourceId"]))
    assert found is not None
    assert found[0]["id"] == order["id"]


def test_cursors_round_trip_and_reject_garbage() -> None:
    text = encode_cursor(8837991727410, 1782167640000)
    assert text == "eyJsYXN0X2lkIjo4ODM3OTkxNzI3NDEwLCJsYXN0X3ZhbHVlIjoxNzgyMTY3NjQwMDAwfQ=="
    assert decode_cursor(text) == Cursor(8837991727410, 1782167640000)
    for bad in ("not base64!", "e30=", "WzFd"):
        with pytest.raises(CursorError):
            decode_cursor(bad)


def _walk(
    store: ShopStore, resource: str, sort_key: str, size: int, *, reverse: bool, backward: bool
) -> list[int]:
    seen: list[int] = []
    cursor: Cursor | None = None
    while True:
        page = fetch_page(
            store,
            resource,  # type: ignore[arg-type]
            where="1",
            params=[],
            sort_key=sort_key,
            first=None if backward else size,
            last=size if backward else None,
            after=None if backward else cursor,
            before=cursor if backward else None,
            reverse=reverse,
        )
        ids = [int(doc["legacyResourceId"]) for _, doc in page.rows]
        seen.extend(reversed(ids) if backward else ids)
        more = page.has_previous_page if backward else page.has_next_page
        if not more:
            return list(reversed(seen)) if backward else seen
        cursor = decode_cursor(page.rows[0][0] if backward else page.rows[-1][0])


def _expected(store: ShopStore, resource: str, sort_key: str, reverse: bool) -> list[int]:
    specs = ORDER_SORTS if resource == "orders" else CUSTOMER_SORTS
    spec = specs[sort_key]
    alias = "o" if resource == "orders" else "c"
    rows = (
        store.connection()
        .execute(f"SELECT {alias}.id, {spec.column} FROM {resource} {alias}")
        .fetchall()
    )
    rows.sort(key=lambda row: (row[1], row[0]), reverse=reverse)
    return [row[0] for row in rows]


@pytest.mark.parametrize("size", [1, 7, 250])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize(
    ("resource", "sort_key"),
    [
        ("orders", "CREATED_AT"),
        ("orders", "UPDATED_AT"),
        ("orders", "PROCESSED_AT"),
        ("orders", "ID"),
        ("orders", "TOTAL_PRICE"),
        ("orders", "CUSTOMER_NAME"),
        ("customers", "NAME"),
        ("customers", "LOCATION"),
        ("customers", "UPDATED_AT"),
    ],
)
def test_keyset_pages_cover_everything_once_in_order(
    store: ShopStore, resource: str, sort_key: str, reverse: bool, size: int
) -> None:
    expected = _expected(store, resource, sort_key, reverse)
    forward = _walk(store, resource, sort_key, size, reverse=reverse, backward=False)
    assert forward == expected
    backward = _walk(store, resource, sort_key, size, reverse=reverse, backward=True)
    assert backward == expected


def test_page_flags_and_cursor_shapes(store: ShopStore) -> None:
    page = fetch_page(
        store,
        "orders",
        where="1",
        params=[],
        sort_key="CREATED_AT",
        first=2,
        last=None,
        after=None,
        before=None,
        reverse=True,
    )
    assert (page.has_next_page, page.has_previous_page) == (True, False)
    cursor = decode_cursor(page.rows[0][0])
    assert isinstance(cursor.last_value, int) and cursor.last_value % 1000 == 0
    second = fetch_page(
        store,
        "orders",
        where="1",
        params=[],
        sort_key="CREATED_AT",
        first=2,
        last=None,
        after=decode_cursor(page.rows[-1][0]),
        before=None,
        reverse=True,
    )
    assert second.has_previous_page is True
    by_id = fetch_page(
        store,
        "customers",
        where="1",
        params=[],
        sort_key="ID",
        first=1,
        last=None,
        after=None,
        before=None,
        reverse=False,
    )
    cursor = decode_cursor(by_id.rows[0][0])
    assert cursor.last_value == str(cursor.last_id)
    empty = fetch_page(
        store,
        "orders",
        where="0",
        params=[],
        sort_key="ID",
        first=5,
        last=None,
        after=None,
        before=None,
        reverse=False,
    )
    assert (empty.rows, empty.has_next_page, empty.has_previous_page) == ([], False, False)
    with pytest.raises(CursorError):
        fetch_page(
            store,
            "orders",
            where="1",
            params=[],
            sort_key="CREATED_AT",
            first=1,
            last=None,
            after=Cursor(1, "not-a-timestamp"),
            before=None,
            reverse=False,
        )
    with pytest.raises(InputError, match="DESTINATION"):
        fetch_page(
            store,
            "orders",
            where="1",
            params=[],
            sort_key="DESTINATION",
            first=1,
            last=None,
            after=None,
            before=None,
            reverse=False,
        )


def test_counts_with_and_without_limit(store: ShopStore) -> None:
    assert count_rows(store, "orders", where="1", params=[], limit=None) == (300, True)
    assert count_rows(store, "orders", where="1", params=[], limit=10) == (10, False)
    assert count_rows(store, "orders", where="1", params=[], limit=300) == (300, True)
    assert count_rows(store, "customers", where="c.id < 0", params=[], limit=5) == (0, True)


def test_line_item_pages(store: ShopStore) -> None:
    big = max(store.iter_all_orders(with_line_items=True), key=lambda o: len(o["_lineItems"]))
    order_id = int(big["legacyResourceId"])
    expected = [item["id"] for item in big["_lineItems"]]
    assert len(expected) > 250
    seen: list[str] = []
    after = None
    while True:
        rows = store.line_items_page(order_id, after_id=after, limit=250)
        seen.extend(doc["id"] for _, doc in rows)
        if len(rows) < 250:
            break
        after = rows[-1][0]
    assert seen == expected
    prefetched = store.line_items_for_orders([order_id])
    assert [doc["id"] for _, doc in prefetched[order_id]] == expected
