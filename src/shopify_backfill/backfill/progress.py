"""Live progress of a backfill, stored on its row so any process can read it.

The runner writes it in the same transaction as each batch (so it never runs ahead of
what is committed) and in short transactions while Shopify prepares a bulk file; the
CLI, the web page's Server-Sent Events and ``backfill status`` only read it. Rate and ETA
are derived on read from the current attempt's figures, so a resumed run does not
report the previous attempt's work as instantaneous speed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from shopify_backfill.backfill.states import PHASE_LABELS, Phase
from shopify_backfill.shopify.extract import ExtractionMode


class BulkStatus(msgspec.Struct, frozen=True):
    """What Shopify says about the bulk job being prepared."""

    kind: str
    status: str
    objects: int


class Progress(msgspec.Struct):
    phase: Phase = "not_started"
    mode: ExtractionMode | None = None
    customers_total: int | None = None
    orders_total: int | None = None
    customers_done: int = 0
    orders_done: int = 0
    data_points: int = 0
    bulk: BulkStatus | None = None
    attempt: int = 0
    attempt_started_at: datetime | None = None
    done_at_attempt_start: int = 0
    updated_at: datetime | None = None

    @property
    def records_done(self) -> int:
        return self.customers_done + self.orders_done

    @property
    def records_total(self) -> int | None:
        if self.customers_total is None or self.orders_total is None:
            return None
        return max(self.customers_total, self.customers_done) + max(
            self.orders_total, self.orders_done
        )

    def rate(self, now: datetime | None = None) -> float | None:
        """Records per second over the current attempt."""
        if self.attempt_started_at is None:
            return None
        moment = now or self.updated_at or datetime.now(UTC)
        elapsed = (moment - self.attempt_started_at).total_seconds()
        done = self.records_done - self.done_at_attempt_start
        if elapsed <= 0 or done <= 0:
            return None
        return done / elapsed

    def eta_seconds(self, now: datetime | None = None) -> float | None:
        total = self.records_total
        rate = self.rate(now)
        if total is None or rate is None:
            return None
        return max(0, total - self.records_done) / rate

    def to_json(self) -> dict[str, Any]:
        encoded: dict[str, Any] = msgspec.to_builtins(self)
        return encoded

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> Progress:
        if not raw:
            return cls()
        return msgspec.convert(raw, type=cls, strict=False)


def progress_view(
    progress: Progress,
    *,
    status: str,
    status_label: str,
    failure_reason: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The figures a person (or the web page) wants, as plain JSON values."""
    rate = progress.rate(now)
    eta = progress.eta_seconds(now)
    return {
        "status": status,
        "status_label": status_label,
        "phase": progress.phase,
        "phase_label": PHASE_LABELS[progress.phase],
        "mode": progress.mode,
        "customers": {"done": progress.customers_done, "total": progress.customers_total},
        "orders": {"done": progress.orders_done, "total": progress.orders_total},
        "records_per_second": round(rate, 1) if rate is not None else None,
        "eta_seconds": round(eta, 1) if eta is not None else None,
        "data_points": progress.data_points,
        "bulk": msgspec.to_builtins(progress.bulk) if progress.bulk else None,
        "attempt": progress.attempt,
        "failure_reason": failure_reason,
        "updated_at": progress.updated_at.isoformat() if progress.updated_at else None,
    }


def progress_line(view: dict[str, Any]) -> str:
    """One plain line for logs and non-terminal output."""
    parts = [f"[{view['status_label']}] {view['phase_label']}"]
    for kind in ("customers", "orders"):
        figures = view[kind]
        total = figures["total"]
        parts.append(f"{kind} {figures['done']}/{total if total is not None else '?'}")
    bulk = view["bulk"]
    if bulk and view["phase"].startswith("extracting"):
        parts.append(f"bulk {bulk['kind']} {bulk['status']} ({bulk['objects']} objects)")
    if view["records_per_second"] is not None:
        parts.append(f"{view['records_per_second']:.0f} rec/s")
    if view["eta_seconds"] is not None:
        parts.append(f"ETA {view['eta_seconds']:.0f} s")
    parts.append(f"{view['data_points']} data points")
    if view.get("profiles"):
        parts.append(view["profiles"]["sentence"])
    if view["failure_reason"]:
        parts.append(f"reason: {view['failure_reason']}")
    return " | ".join(parts)
