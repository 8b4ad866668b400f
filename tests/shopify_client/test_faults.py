"""Faults: with each emulator failure switch on, extraction is exact or raises a named error.

Never a short result reported as success: each test either checks the full window
against the emulator's own data, or checks the named error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shopify_backfill.shopify.bulk import ReconciliationError
from shopify_backfill.shopify.errors import ScopeError, Throttled
from shopify_backfill.shopify.extract import Batch, ExtractionMode
from shopify_backfill.shopify.records import Order
from shopify_backfill.shopify.retry import RetryPolicy

from .conftest import expected_ids, extract_all


def _ids(batches: list[Batch]) -> tuple[list[str], list[str]]:
    orders = [r.id for b in batches for r in b.records if isinstance(r, Order)]
    customers = [r.id for b in batches for r in b.records if not isinstance(r, Order)]
    return orders, customers


def _assert_exact(emulator: Any, batches: list[Batch]) -> None:
    want_orders, want_customers, want_items = expected_ids(emulator.store)
    orders, customers = _ids(batches)
    assert sorted(orders) == sorted(want_orders)
    assert sorted(customers) == sorted(want_customers)
    items = {
        record.id: len(record.line_items)
        for batch in batches
        for record in batch.records
        if isinstance(record, Order)
    }
    assert items == want_items


@pytest.mark.parametrize("mode", ["bulk", "paginated"])
@pytest.mark.parametrize(
    "switch",
    [
        {"server_error_rate": 0.3, "seed": 3},
        {"reset_rate": 0.3, "seed": 4},
        {"latency_seconds": 0.01},
    ],
    ids=["5xx", "resets", "slow"],
)
def test_request_faults_are_retried_to_an_exact_result(
    make_emulator: Any, tmp_path: Path, mode: ExtractionMode, switch: dict[str, Any]
) -> None:
    emulator = make_emulator(customers=40, orders=160, seed=2)
    emulator.faults(**switch)
    client = emulator.client()
    batches = extract_all(emulator, mode, tmp_path / "s.db", client=client)
    _assert_exact(emulator, batches)
    if "latency_seconds" not in switch:
        assert client.stats.retries > 0, "the fault switch had no effect"
    print(f"{mode} {switch}: {client.stats.requests} requests, {client.stats.errors}")


def test_forced_throttling_raises_throttled(make_emulator: Any, tmp_path: Path) -> None:
    emulator = make_emulator(customers=20, orders=60, seed=2)
    emulator.faults(force_throttle=True)
    client = emulator.client(retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02))
    with pytest.raises(Throttled):
        extract_all(emulator, "paginated", tmp_path / "s.db", client=client)
    assert client.stats.throttled == 3


@pytest.mark.parametrize("outcome", ["FAILED", "TIMEOUT", "EXPIRED", "PARTIAL"])
def test_failed_bulk_jobs_recover_exactly(make_emulator: Any, tmp_path: Path, outcome: str) -> None:
    emulator = make_emulator(customers=50, orders=200, seed=8)
    emulator.faults(bulk_outcomes=(outcome, outcome))
    batches = extract_all(emulator, "bulk", tmp_path / "s.db")
    _assert_exact(emulator, batches)
    (runs,) = (
        emulator.store.connection().execute("SELECT COUNT(*) FROM emu_bulk_operations").fetchone()
    )
    assert runs == 4, "both failed jobs must have been followed by a new one"


def test_access_denied_bulk_job_is_a_scope_error(make_emulator: Any, tmp_path: Path) -> None:
    emulator = make_emulator(customers=20, orders=60, seed=8)
    emulator.faults(bulk_outcomes=("ACCESS_DENIED",))
    with pytest.raises(ScopeError, match="ACCESS_DENIED"):
        extract_all(emulator, "bulk", tmp_path / "s.db")


def test_cut_downloads_resume_to_an_exact_result(make_emulator: Any, tmp_path: Path) -> None:
    emulator = make_emulator(customers=50, orders=300, seed=9)
    emulator.faults(download_cut_after_bytes=40_000)
    client = emulator.client()
    batches = extract_all(emulator, "bulk", tmp_path / "s.db", client=client)
    _assert_exact(emulator, batches)


def test_repeated_failures_end_in_a_named_error(make_emulator: Any, tmp_path: Path) -> None:
    """A job that fails every time is given up loudly, not reported as an empty window."""
    emulator = make_emulator(customers=20, orders=60, seed=8)
    emulator.faults(bulk_outcomes=("FAILED",) * 10)
    with pytest.raises(Exception) as caught:
        extract_all(emulator, "bulk", tmp_path / "s.db")
    assert type(caught.value).__name__ in {"BulkOperationError", ReconciliationError.__name__}
    assert "failed" in str(caught.value)
