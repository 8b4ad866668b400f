"""How long a backfill will take, before it starts (the wizard's "estimated duration").

The backfill module measures rate during a run; before one there is no rate to read.
The best predictor is this installation's own history: completed backfills' reports
give records per second per extraction mode. Without history, a conservative default
per mode is used (paginated reads are paced by Shopify's cost bucket; a bulk operation
pays a start-up cost, then streams quickly). The page says which one it used.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from shopify_backfill.backfill.states import COMPLETED
from shopify_backfill.backfill.tables import backfills

DEFAULT_RATE = {"paginated": 60.0, "bulk": 400.0}
"""Records per second when nothing was measured yet (deliberately on the slow side)."""
BULK_STARTUP_SECONDS = 30.0


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


def _measured_rate(conn: sa.Connection, mode: str) -> float | None:
    rows = conn.execute(
        sa.select(backfills.c.report)
        .where(backfills.c.status == COMPLETED, backfills.c.extraction_mode == mode)
        .order_by(backfills.c.finished_at.desc())
        .limit(5)
    ).scalars()
    records = 0.0
    seconds = 0.0
    for report in rows:
        if not report or not report.get("duration_ms"):
            continue
        customers = report.get("customers", {})
        orders = report.get("orders", {})
        records += sum(int(v) for v in customers.values()) + sum(int(v) for v in orders.values())
        seconds += int(report["duration_ms"]) / 1000
    if records <= 0 or seconds <= 0:
        return None
    return records / seconds


def estimate_duration(
    conn: sa.Connection, *, mode: str, customers: int, orders: int
) -> DurationEstimate:
    measured = _measured_rate(conn, mode)
    rate = measured or DEFAULT_RATE.get(mode, DEFAULT_RATE["paginated"])
    startup = BULK_STARTUP_SECONDS if mode == "bulk" and measured is None else 0.0
    return DurationEstimate(
        seconds=startup + (customers + orders) / rate,
        records_per_second=rate,
        measured=measured is not None,
    )
