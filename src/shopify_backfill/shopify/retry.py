"""Retry policy as pure functions: which attempt waits how long.

Capped exponential backoff with full jitter (the random draw is injected, so tests pin
it), overridden upward by a server's ``Retry-After``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How persistent the client is before a transient failure becomes the caller's."""

    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(
        self,
        attempt: int,
        retry_after: float | None = None,
        draw: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling: float = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        jittered = ceiling * draw()
        if retry_after is not None:
            return max(retry_after, jittered)
        return jittered

    def gives_up_after(self, attempt: int) -> bool:
        return attempt >= self.max_attempts


@dataclass(frozen=True)
class RetryNotice:
    """A transient failure about to be retried: what someone watching a run wants to know,
    so a slow or failing Shopify is never silent for minutes."""

    failed_attempt: int
    max_attempts: int
    delay: float
    reason: str

    def text(self) -> str:
        return (
            f"Shopify did not answer properly ({self.reason}); retrying in {self.delay:.1f} s "
            f"(attempt {self.failed_attempt + 1} of {self.max_attempts})"
        )


RetryObserver = Callable[[RetryNotice], None]
"""Told about each retry before its wait; the interface decides how to show it."""
