"""Applying recorded webhook deliveries in the background of the partner page.

The receiver answers Shopify after one insert; ``kick`` then makes sure a single
background thread applies what is pending (``LiveSync.process``). Kicks that arrive
while it runs only ask for one more pass, so a burst of deliveries costs a few passes,
not one thread each. Failures are logged and retried by the next kick (the deliveries
stay pending, or ``failed`` with their reason).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from shopify_backfill.wiring.live import LiveSync

log = logging.getLogger(__name__)


class LiveWorker:
    def __init__(self, live: LiveSync) -> None:
        self.live = live
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._again = False
        self._running: Future[None] | None = None

    def kick(self) -> None:
        with self._lock:
            if self._running is not None and not self._running.done():
                self._again = True
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="live-sync")
            self._running = self._pool.submit(self._passes)

    def _passes(self) -> None:
        while True:
            with self._lock:
                self._again = False
            try:
                self.live.process()
            except Exception:  # logged; the deliveries stay for the next pass
                log.exception("live sync: applying recorded deliveries failed")
            with self._lock:
                if not self._again:
                    return

    def wait(self, timeout: float | None = None) -> None:
        """Until the current pass (and any it owes) is done: tests, shutdown."""
        running = self._running
        if running is not None:
            running.result(timeout=timeout)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
