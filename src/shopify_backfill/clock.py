"""Time as a dependency, so pacing and backoff can be tested without sleeping.

Production code uses ``SystemClock``. Tests that pair the client with the emulator share
one ``VirtualClock`` between both sides: the client's sleeps advance the emulator's
leaky bucket exactly as real time would, and a run that "takes" minutes finishes at once.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """Time that only moves when someone sleeps; thread-safe, starts at ``start``."""

    def __init__(self, start: float = 1_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.slept = 0.0

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._lock:
            self._now += seconds
            self.slept += seconds

    def advance(self, seconds: float) -> None:
        """Let time pass without anyone sleeping (for example, server processing time)."""
        self.sleep(seconds)
