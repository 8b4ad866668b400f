"""One Braze rate limit for every worker of the deployment.

Braze counts ``/users/track`` requests per workspace (3,000 per 3 s by default), not per
client, so N workers each keeping the whole budget would be throttled N times as often.
A moving window of the ``limits`` library counts every request before it is sent, in
Redis when workers share the limit, in memory for one process. Braze's own
``X-RateLimit-Remaining``/``-Reset`` headers then correct what the count cannot know
(another tool using the same workspace): at 0 remaining, nobody sends before the reset.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

KEY_PREFIX = "shopify-backfill:braze:"


def limit_key(rest_endpoint: str, api_key: str) -> str:
    """One counter per Braze workspace as far as we can tell: endpoint and key, hashed."""
    digest = hashlib.sha256(f"{rest_endpoint}\n{api_key}".encode()).hexdigest()[:24]
    return KEY_PREFIX + digest


HEADROOM = 0.03
"""Share of the limit left unused. Braze counts requests when they arrive, we when they
leave; with varying latency, a sender at exactly the limit lands a few requests in the
next window now and then and is throttled. 3% keeps it under while using 97%."""


def paced_rate(requests: int) -> int:
    """The requests per window actually sent: the limit less the headroom, at least 1."""
    return max(1, requests - max(1, math.ceil(requests * HEADROOM)))


class RequestLimiter:
    """``acquire()`` blocks until one more request fits the window, then counts it."""

    def __init__(
        self,
        key: str,
        *,
        requests: int,
        window_seconds: float,
        redis_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        storage: Storage = RedisStorage(redis_url) if redis_url else MemoryStorage()
        self._limiter = MovingWindowRateLimiter(storage)
        seconds = max(1, round(window_seconds))
        self._item = RateLimitItemPerSecond(paced_rate(requests), seconds)
        self._key = key
        self._sleep = sleep
        self._lock = threading.Lock()
        self._not_before = 0.0

    def acquire(self) -> None:
        while True:
            with self._lock:
                pause = self._not_before - time.time()
            if pause > 0:
                self._sleep(pause)
                continue
            if self._limiter.hit(self._item, self._key):
                return
            stats = self._limiter.get_window_stats(self._item, self._key)
            self._sleep(max(0.005, stats.reset_time - time.time()))

    def observe(self, remaining: int | None, reset_epoch: float | None) -> None:
        """Braze's own count: at 0 remaining, wait for its reset."""
        if remaining is None or reset_epoch is None or remaining > 0:
            return
        with self._lock:
            self._not_before = max(self._not_before, reset_epoch)
