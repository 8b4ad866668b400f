"""Orders per day across the backfill window, counted by Shopify itself.

The wizard draws them as a bar chart. Reading the window's orders to bucket their
``createdAt`` would cost one page per 250 orders (unbounded for a big store), and a
separate ``ordersCount`` call per day would be 91 round trips. Instead the days are
counted with aliased ``ordersCount`` fields, ``DAYS_PER_COUNTS_QUERY`` per request: at most
91 days -> 3 requests and about 910 points of query cost whatever the store's size,
through the same paced client as every other read (a Standard plan refills that in about
9 s). Days are UTC calendar days clipped to the window, so the first and last are partial.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import msgspec

from shopify_backfill.shopify import queries
from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.errors import PayloadError


class _Count(msgspec.Struct):
    count: int
    precision: str


@dataclass(frozen=True)
class DayCount:
    start: datetime
    end: datetime
    orders: int

    @property
    def partial(self) -> bool:
        """Shorter than a whole day: the window starts or ends within it."""
        return self.end - self.start < timedelta(days=1)


@dataclass(frozen=True)
class OrdersPerDay:
    days: tuple[DayCount, ...]
    exact: bool
    """False when Shopify answered any day with an estimate (``precision`` not EXACT)."""
    requests: int

    @property
    def total(self) -> int:
        return sum(day.orders for day in self.days)


def day_spans(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut at each UTC midnight."""
    spans: list[tuple[datetime, datetime]] = []
    cursor = start.astimezone(UTC)
    end = end.astimezone(UTC)
    while cursor < end:
        midnight = datetime.combine(cursor.date() + timedelta(days=1), time(), tzinfo=UTC)
        upper = min(midnight, end)
        spans.append((cursor, upper))
        cursor = upper
    return spans


def orders_per_day(client: AdminClient, start: datetime, end: datetime) -> OrdersPerDay:
    """Each day's order count, a few aliased ``ordersCount`` requests (see module doc)."""
    spans = day_spans(start, end)
    size = queries.DAYS_PER_COUNTS_QUERY
    days: list[DayCount] = []
    exact = True
    requests = 0
    for offset in range(0, len(spans), size):
        chunk = spans[offset : offset + size]
        answer = client.data(queries.orders_per_day_query(chunk), None, dict[str, _Count])
        requests += 1
        for index, (day_start, day_end) in enumerate(chunk):
            count = answer.get(f"d{index}")
            if count is None:
                raise PayloadError(f"Shopify's answer lacks the count of {day_start:%Y-%m-%d}")
            exact = exact and count.precision == "EXACT"
            days.append(DayCount(day_start, day_end, count.count))
    return OrdersPerDay(tuple(days), exact, requests)
