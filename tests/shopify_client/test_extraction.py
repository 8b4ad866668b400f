"""Completeness: bulk and paginated extraction return exactly the window, once each.

Ground truth is computed from the emulator's documents (``expected_ids``), never from
the extraction code. Resumes cut the run at every batch boundary and continue from the
checkpoint that batch carried, as a crashed backfill would.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from shopify_backfill.shopify.extract import Batch, ExtractionCheckpoint, ExtractionMode
from shopify_backfill.shopify.records import Customer, Order

from .conftest import expected_ids, extract_all


def _collect(batches: list[Batch]) -> tuple[Counter[str], Counter[str], dict[str, Order]]:
    orders: Counter[str] = Counter()
    customers: Counter[str] = Counter()
    by_id: dict[str, Order] = {}
    for batch in batches:
        for record in batch.records:
            if isinstance(record, Order):
                orders[record.id] += 1
                by_id[record.id] = record
            else:
                assert isinstance(record, Customer)
                customers[record.id] += 1
    return orders, customers, by_id


@pytest.mark.parametrize("mode", ["bulk", "paginated"])
@pytest.mark.parametrize(("seed", "customers", "orders"), [(1, 40, 150), (7, 120, 700)])
def test_window_exactly_once(
    make_emulator: Any, tmp_path: Path, mode: ExtractionMode, seed: int, customers: int, orders: int
) -> None:
    emulator = make_emulator(customers=customers, orders=orders, seed=seed)
    want_orders, want_customers, want_items = expected_ids(emulator.store)
    assert want_orders and want_customers, "the synthetic store must cut through the window"

    got_orders, got_customers, by_id = _collect(extract_all(emulator, mode, tmp_path / "s.db"))

    assert set(got_orders) == want_orders
    assert set(got_customers) == want_customers
    assert max(got_orders.values()) == 1
    assert max(got_customers.values()) == 1
    assert {oid: len(order.line_items) for oid, order in by_id.items()} == want_items
    for order in by_id.values():
        assert order.line_items, f"{order.id} lost its line items"
        assert all(item.id.startswith("gid://shopify/LineItem/") for item in order.line_items)


def test_both_modes_agree_on_record_contents(make_emulator: Any, tmp_path: Path) -> None:
    emulator = make_emulator(customers=60, orders=250, seed=11)
    bulk = _collect(extract_all(emulator, "bulk", tmp_path / "b.db"))[2]
    paged = _collect(extract_all(emulator, "paginated", tmp_path / "p.db"))[2]
    assert bulk.keys() == paged.keys()
    for order_id, order in bulk.items():
        other = paged[order_id]
        assert order.line_items == other.line_items
        assert order.shipping_lines == other.shipping_lines
        assert order.customer == other.customer
        assert order.total_price_set == other.total_price_set


@pytest.mark.parametrize("mode", ["bulk", "paginated"])
def test_resume_at_every_batch_boundary(
    make_emulator: Any, tmp_path: Path, mode: ExtractionMode
) -> None:
    emulator = make_emulator(customers=50, orders=220, seed=5)
    want_orders, want_customers, _ = expected_ids(emulator.store)
    staging = tmp_path / "staging.db"
    full = extract_all(emulator, mode, staging, batch_size=10)
    assert len(full) > 8

    for cut in range(1, len(full)):
        prefix = extract_all(emulator, mode, staging, batch_size=10, stop_after=cut)
        resumed = extract_all(
            emulator, mode, staging, batch_size=10, checkpoint=prefix[-1].checkpoint
        )
        orders, customers, _ = _collect(prefix + resumed)
        assert set(orders) == want_orders, f"cut after batch {cut}"
        assert set(customers) == want_customers, f"cut after batch {cut}"
        assert max(orders.values()) == 1 and max(customers.values()) == 1, f"cut {cut}"


def test_bulk_resume_reuses_staging_without_new_jobs(make_emulator: Any, tmp_path: Path) -> None:
    """Resuming a bulk extraction re-reads the staged file; no bulk job is re-run."""
    emulator = make_emulator(customers=50, orders=220, seed=5)
    want_orders, _, _ = expected_ids(emulator.store)
    staging = tmp_path / "staging.db"
    client = emulator.client()
    prefix = extract_all(emulator, "bulk", staging, batch_size=10, stop_after=4, client=client)
    checkpoint = prefix[-1].checkpoint
    before = client.stats.requests
    rest = extract_all(
        emulator, "bulk", staging, batch_size=10, checkpoint=checkpoint, client=client
    )
    orders, _, _ = _collect(prefix + rest)
    assert set(orders) == want_orders
    # Only polls of the already recorded jobs: no bulkOperationRunQuery was sent again.
    (runs,) = (
        emulator.store.connection().execute("SELECT COUNT(*) FROM emu_bulk_operations").fetchone()
    )
    assert runs == 2
    assert client.stats.requests - before <= 4


def test_checkpoint_round_trips() -> None:
    checkpoint = ExtractionCheckpoint(mode="bulk")
    checkpoint.orders.emitted_seq = 42
    assert ExtractionCheckpoint.decode(checkpoint.encode()) == checkpoint
