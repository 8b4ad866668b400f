"""Pacing: a paginated extraction on the standard plan is never throttled yet spends the budget.

Client and emulator share one virtual clock: every wait the pacer decides advances the
emulator's leaky bucket exactly as real time would, so the figures are those of a real
run on a standard-plan store (100 points/s) without the test taking minutes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shopify_backfill.clock import VirtualClock

from .conftest import expected_ids, extract_all


def test_paced_extraction_is_never_throttled_and_uses_the_budget(
    make_emulator: Any, tmp_path: Path
) -> None:
    emulator = make_emulator(customers=400, orders=3_000, seed=21)
    assert emulator.runtime.plan == "standard"
    client = emulator.client()
    batches = extract_all(emulator, "paginated", tmp_path / "s.db", client=client)

    orders = sum(len(b.records) for b in batches if b.kind == "orders")
    assert orders == len(expected_ids(emulator.store)[0])
    used = client.budget_used()
    assert used is not None
    assert isinstance(emulator.clock, VirtualClock)
    print(
        f"\npaginated extraction, standard plan: {client.stats.requests} requests, "
        f"{client.stats.throttled} THROTTLED, budget used {used:.1%} "
        f"({client.stats.actual_cost} points over {emulator.clock.slept:.0f} s of pacing)"
    )
    assert client.stats.throttled == 0
    assert used >= 0.80
