"""Cost-aware pacing: never send a query the leaky bucket cannot hold.

Shopify reports ``throttleStatus`` (bucket size, points available, restore rate) with
every response. The pacer projects the bucket forward in time from the last report and
waits just long enough for the next query's requested cost to fit, so a paced client
receives no THROTTLED answers while still spending nearly the whole budget.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from shopify_backfill.clock import Clock
from shopify_backfill.shopify.throttle import ThrottleStatus


@dataclass
class _Snapshot:
    maximum: float
    available: float
    restore_rate: float
    at: float


_MIN_WAIT = 0.001
"""Float rounding can leave a deficit too small to move the clock; never wait less."""


class Pacer(Protocol):
    """What the client needs of a pacer: ``CostPacer`` here, ``RedisCostPacer`` shared."""

    waited_seconds: float

    def projected_available(self) -> float | None: ...

    def acquire(self, cost: float) -> None: ...

    def release(self, cost: float, status: ThrottleStatus | None) -> None: ...


class CostPacer:
    """Shared by every thread using one access token (the bucket is per token)."""

    def __init__(self, clock: Clock, *, safety_margin: float = 0.0) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._reserved = 0.0
        self._safety = safety_margin
        self.waited_seconds = 0.0

    def projected_available(self) -> float | None:
        with self._lock:
            return self._project()

    def _project(self) -> float | None:
        snap = self._snapshot
        if snap is None:
            return None
        elapsed = max(0.0, self._clock.monotonic() - snap.at)
        return min(snap.maximum, snap.available + elapsed * snap.restore_rate) - self._reserved

    def acquire(self, cost: float) -> None:
        """Block until ``cost`` points fit in the projected bucket, then reserve them."""
        while True:
            with self._lock:
                snap = self._snapshot
                available = self._project()
                if snap is None or available is None:
                    self._reserved += cost
                    return
                needed = min(cost, snap.maximum) + self._safety
                if available >= needed:
                    self._reserved += cost
                    return
                wait = max((needed - available) / max(snap.restore_rate, 1e-9), _MIN_WAIT)
            self.waited_seconds += wait
            self._clock.sleep(wait)

    def release(self, cost: float, status: ThrottleStatus | None) -> None:
        """Drop the reservation and, if Shopify reported one, adopt its bucket state."""
        with self._lock:
            self._reserved = max(0.0, self._reserved - cost)
            if status is not None:
                self._snapshot = _Snapshot(
                    maximum=status.maximum_available,
                    available=status.currently_available,
                    restore_rate=status.restore_rate,
                    at=self._clock.monotonic(),
                )
