"""Per-thread SQLite connections: finished threads' connections do not pile up.

The HTTP layer may run each request on a fresh worker thread; a connection kept for
every thread that ever asked leaked ~125 KB a request (a bulk export polled for an hour
grew by hundreds of MB).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from shopify_emulator.store import ShopStore


@pytest.fixture(scope="module")
def store() -> Iterator[ShopStore]:
    with ShopStore.generate(
        None, customers=5, orders=10, seed=3, now=datetime(2026, 7, 1, tzinfo=UTC)
    ) as built:
        yield built


def count_orders(store: ShopStore) -> int:
    row = store.connection().execute("SELECT COUNT(*) FROM orders").fetchone()
    return int(row[0])


def test_connections_of_finished_threads_are_closed(store: ShopStore) -> None:
    results: list[int] = []
    for _ in range(30):
        worker = threading.Thread(target=lambda: results.append(count_orders(store)))
        worker.start()
        worker.join()
    assert results == [10] * 30
    assert count_orders(store) == 10
    assert len(store._connections) <= 2


def test_a_live_thread_keeps_its_connection(store: ShopStore) -> None:
    ready, finish = threading.Event(), threading.Event()
    seen: list[int] = []

    def hold() -> None:
        seen.append(count_orders(store))
        ready.set()
        finish.wait(10)
        seen.append(count_orders(store))

    holder = threading.Thread(target=hold)
    holder.start()
    ready.wait(10)
    for _ in range(5):
        other = threading.Thread(target=lambda: seen.append(count_orders(store)))
        other.start()
        other.join()
    finish.set()
    holder.join()
    assert seen == [10] * 7
