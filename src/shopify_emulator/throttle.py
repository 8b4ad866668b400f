"""Leaky buckets: GraphQL cost points per access token, and REST request counts.

Shopify's GraphQL bucket must hold the *requested* cost before a query runs; afterwards
the difference between requested and actual cost is refunded. Buckets refill
continuously at the restore rate. Time comes from an injected clock so tests can move it
instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from shopify_emulator.config import Plan

Clock = Callable[[], float]
"""Seconds on a monotonic scale; ``time.monotonic`` in production."""

GRAPHQL_LIMITS: dict[str, tuple[int, int]] = {
    "standard": (2_000, 100),
    "advanced": (4_000, 200),
    "plus": (20_000, 1_000),
    "enterprise": (40_000, 2_000),
}
"""(maximumAvailable, restoreRate) per plan, as Shopify documents them."""

REST_LIMITS: dict[str, tuple[int, float]] = {
    "standard": (40, 2.0),
    "advanced": (40, 2.0),
    "plus": (80, 4.0),
    "enterprise": (80, 4.0),
}
"""(bucket size, leak per second) of the REST Admin API's request-count bucket."""


_EPSILON = 1e-6
"""Float slack so a client that waits exactly (needed / restoreRate) seconds gets in."""


class ManualClock:
    """A clock tests advance by hand; thread-safe so bulk threads may read it."""

    def __init__(self, start: float = 1_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@dataclass(frozen=True, slots=True)
class ThrottleStatus:
    maximum_available: int
    currently_available: int
    restore_rate: int

    def as_json(self) -> dict[str, int]:
        return {
            "maximumAvailable": self.maximum_available,
            "currentlyAvailable": self.currently_available,
            "restoreRate": self.restore_rate,
        }


class _Bucket:
    __slots__ = ("available", "stamp")

    def __init__(self, available: float, stamp: float) -> None:
        self.available = available
        self.stamp = stamp


class CostBuckets:
    """One cost bucket per access token; all operations are atomic."""

    def __init__(self, plan: Plan, clock: Clock = time.monotonic) -> None:
        self.maximum, self.restore_rate = GRAPHQL_LIMITS[plan]
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _refilled(self, token: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(token)
        if bucket is None:
            bucket = self._buckets[token] = _Bucket(float(self.maximum), now)
        elapsed = max(0.0, now - bucket.stamp)
        bucket.available = min(float(self.maximum), bucket.available + elapsed * self.restore_rate)
        bucket.stamp = now
        return bucket

    def take(self, token: str, cost: int) -> bool:
        """Reserve ``cost`` points; ``False`` (nothing taken) when the bucket lacks room."""
        with self._lock:
            bucket = self._refilled(token)
            if cost > bucket.available + _EPSILON:
                return False
            bucket.available -= cost
            return True

    def refund(self, token: str, points: int) -> None:
        """Give back the part of a reservation the query did not use."""
        if points <= 0:
            return
        with self._lock:
            bucket = self._refilled(token)
            bucket.available = min(float(self.maximum), bucket.available + points)

    def drain(self, token: str) -> None:
        """Empty the bucket (forced-throttling fault)."""
        with self._lock:
            self._refilled(token).available = 0.0

    def status(self, token: str) -> ThrottleStatus:
        with self._lock:
            bucket = self._refilled(token)
            return ThrottleStatus(self.maximum, int(bucket.available), self.restore_rate)


class RequestBuckets:
    """REST's bucket: each request adds one; the bucket leaks at a fixed rate."""

    def __init__(self, plan: Plan, clock: Clock = time.monotonic) -> None:
        self.size, self.leak_rate = REST_LIMITS[plan]
        self._clock = clock
        self._levels: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def hit(self, token: str) -> tuple[bool, float, float]:
        """Count one request: (accepted, level after, seconds until one slot frees)."""
        with self._lock:
            now = self._clock()
            bucket = self._levels.get(token)
            if bucket is None:
                bucket = self._levels[token] = _Bucket(0.0, now)
            bucket.available = max(0.0, bucket.available - (now - bucket.stamp) * self.leak_rate)
            bucket.stamp = now
            if bucket.available + 1 > self.size:
                wait = (bucket.available + 1 - self.size) / self.leak_rate
                return False, bucket.available, wait
            bucket.available += 1
            return True, bucket.available, 0.0


Api = Literal["graphql", "rest"]


class AnswerTally:
    """Admin API requests answered and how many of them the bucket refused, per API.

    Read-only for clients (``GET /emulator/stats``): a test of many workers sharing one
    shop's budget reads it to show their pacing kept every request under the bucket,
    which no client-side count can show (a client does not see another's THROTTLED).
    """

    def __init__(self) -> None:
        self._counts: dict[str, int] = {
            "graphql": 0,
            "graphql_throttled": 0,
            "rest": 0,
            "rest_throttled": 0,
        }
        self._lock = threading.Lock()

    def add(self, api: Api, *, throttled: bool) -> None:
        with self._lock:
            self._counts[api] += 1
            if throttled:
                self._counts[f"{api}_throttled"] += 1

    def as_json(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {
                api: {"answered": self._counts[api], "throttled": self._counts[f"{api}_throttled"]}
                for api in ("graphql", "rest")
            }
