"""How long a backfill will take, before it starts (the wizard's "estimated duration").

The model is ``startup + records / rate`` per extraction mode, records being the
window's customers and orders (the preflight's counts). The best rate is this
installation's own: completed backfills' reports give the records they read and how long
they took, start-up removed, so a small run's fixed cost does not slow the estimate of a
big one. Without history the defaults below are used; the page says which.

Calibration (docs/backfill.md "Duration and data-point estimates"): the defaults were
measured against the stand-in on a 2-core machine. The former ones (400 records/s after
a 30 s bulk start-up) predicted 10x the real time on the demo store and 4.5x on a
120,000-order store; ``tests/backfill/test_numbers_agree.py`` holds the new ones within
25% of the measured wall time on two stores of different sizes, first with the defaults,
then with the rate the first run measured. Paginated reads are paced by Shopify's cost
bucket (about 60 records/s on a standard plan), so that default is the bucket's, not the
machine's. A real Shopify bulk operation adds Shopify's own preparation time, which only
a measured run knows: the first backfill on a real store may take longer than the
default says; later previews use its measured rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from shopify_backfill.backfill.states import COMPLETED
from shopify_backfill.backfill.tables import backfills

DEFAULT_RATE = {"paginated": 60.0, "bulk": 2000.0}
"""Records per second when nothing was measured yet (measured on the stand-in)."""
STARTUP_SECONDS = {"paginated": 0.5, "bulk": 1.0}
"""Fixed cost of a run (preflight, bulk submission and polls, completion)."""
HISTORY = 5
"""Completed backfills of the mode whose rate is averaged."""


@dataclass(frozen=True)
class DurationEstimate:
    seconds: float
    records_per_second: float
    measured: bool

    def to_json(self) -> dict[str, object]:
        return {
            "seconds": round(self.seconds),
            "records_per_second": round(self.records_per_second, 1),
            "basis": "measured on earlier backfills" if self.measured else "default rate",
        }


def records_of(report: dict[str, Any]) -> int:
    """Records a completed backfill read: the customers of its window and its orders.

    Reports written before ``records_read`` existed give the orders and the customers
    created (the customers' other figures describe the same people again).
    """
    read = report.get("records_read")
    if read:
        return int(read.get("customers", 0)) + int(read.get("orders", 0))
    orders = sum(int(v) for v in report.get("orders", {}).values())
    return orders + int(report.get("customers", {}).get("created", 0))


def measured_rate(conn: sa.Connection, mode: str) -> float | None:
    """Records per second of the last completed backfills in ``mode``, start-up removed."""
    rows = conn.execute(
        sa.select(backfills.c.report)
        .where(backfills.c.status == COMPLETED, backfills.c.extraction_mode == mode)
        .order_by(backfills.c.finished_at.desc())
        .limit(HISTORY)
    ).scalars()
    records = 0.0
    seconds = 0.0
    startup = STARTUP_SECONDS.get(mode, 0.0)
    for report in rows:
        if not report or not report.get("duration_ms"):
            continue
        records += records_of(report)
        seconds += max(int(report["duration_ms"]) / 1000 - startup, 0.001)
    if records <= 0 or seconds <= 0:
        return None
    return records / seconds


def estimate_duration(
    conn: sa.Connection, *, mode: str, customers: int, orders: int
) -> DurationEstimate:
    measured = measured_rate(conn, mode)
    rate = measured or DEFAULT_RATE.get(mode, DEFAULT_RATE["paginated"])
    return DurationEstimate(
        seconds=STARTUP_SECONDS.get(mode, 0.0) + (customers + orders) / rate,
        records_per_second=rate,
        measured=measured is not None,
    )
