"""The page's pictures: geometry for small server-rendered SVG charts, no script, no CDN.

The preview's orders per day (vertical bars, with the busiest day and the average said in
words too) and the report's figures (horizontal bars). Templates draw what these return;
the numbers on each bar are the figures themselves, so a test can read them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shopify_backfill.shopify.daily import OrdersPerDay
from shopify_backfill.web.labels import data_point_source

CHART_WIDTH = 720
CHART_HEIGHT = 160
GAP = 1.0


@dataclass(frozen=True)
class DayBar:
    day: str
    """``YYYY-MM-DD`` (UTC)."""
    label: str
    orders: int
    x: float
    y: float
    width: float
    height: float
    partial: bool


@dataclass(frozen=True)
class DayChart:
    bars: tuple[DayBar, ...]
    total: int
    busiest: DayBar | None
    average: float
    """Orders per whole day of the window (partial days weighed by their length)."""
    days_without_orders: int
    exact: bool
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT

    @property
    def peak(self) -> int:
        return self.busiest.orders if self.busiest else 0

    @property
    def summary(self) -> str:
        """The chart in one sentence, for screen readers and for anyone reading words."""
        if not self.bars:
            return "No day in the window."
        if self.busiest is None or self.total == 0:
            return f"No orders on any of the {len(self.bars):,} days of the window."
        return (
            f"{self.total:,} orders over {len(self.bars):,} days: busiest day "
            f"{self.busiest.label} with {self.busiest.orders:,} orders, "
            f"{self.average:,.1f} orders a day on average, "
            f"{self.days_without_orders:,} days without orders."
        )


def day_chart(counts: OrdersPerDay) -> DayChart:
    """Bars of equal width across the chart, heights relative to the busiest day."""
    days = counts.days
    peak = max((day.orders for day in days), default=0)
    slot = CHART_WIDTH / len(days) if days else 0.0
    bars: list[DayBar] = []
    for index, day in enumerate(days):
        height = CHART_HEIGHT * day.orders / peak if peak else 0.0
        if day.orders and height < 1.0:
            height = 1.0  # one order stays visible next to a very busy day
        bars.append(
            DayBar(
                day=day.start.strftime("%Y-%m-%d"),
                label=day.start.strftime("%b %-d"),
                orders=day.orders,
                x=round(index * slot + GAP / 2, 2),
                y=round(CHART_HEIGHT - height, 2),
                width=round(max(slot - GAP, 0.5), 2),
                height=round(height, 2),
                partial=day.partial,
            )
        )
    busiest = max(bars, key=lambda bar: bar.orders, default=None)  # the first of equals
    seconds = sum((day.end - day.start).total_seconds() for day in days)
    average = counts.total / (seconds / 86400) if seconds else 0.0
    return DayChart(
        bars=tuple(bars),
        total=counts.total,
        busiest=busiest if busiest is not None and busiest.orders else None,
        average=average,
        days_without_orders=sum(1 for day in days if day.orders == 0),
        exact=counts.exact,
    )


@dataclass(frozen=True)
class Bar:
    key: str
    label: str
    value: int
    percent: float
    """Length relative to the longest bar of its chart, 0 to 100."""


def bars(rows: list[tuple[str, str, int]]) -> list[Bar]:
    """Horizontal bars of one chart (``key``, label, value), scaled to the largest value."""
    peak = max((value for _, _, value in rows), default=0)
    return [
        Bar(key, label, value, round(100 * value / peak, 2) if peak else 0.0)
        for key, label, value in rows
    ]


def report_bars(report: dict[str, Any]) -> dict[str, list[Bar]]:
    """What the backfill wrote, and the data points per category, as two bar charts."""
    customers = report["customers"]
    written = bars(
        [
            ("customers-created", "Customer profiles created", int(customers["created"])),
            ("customers-updated", "Customer profiles updated", int(customers["updated"])),
            (
                "guests-created",
                "Guest profiles created",
                int(report["guests"]["profiles_created"]),
            ),
            ("events", "Order Created events", int(report["events"])),
            ("purchases", "Purchases", int(report["purchases"])),
        ]
    )
    categories = bars(
        [
            (category, data_point_source(category).capitalize(), int(amount))
            for category, amount in sorted(report["data_points"]["by_category"].items())
        ]
    )
    return {"written": written, "data_points": categories}
