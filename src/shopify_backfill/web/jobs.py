"""Runs started from the partner page, on the backfill module's in-process worker.

The page never runs the job itself: it moves the state machine (``backfill.requests``)
and hands the id to ``InProcessWorker``, with the same run options as the CLI
(``job_options``: the after-batch hooks, the Braze destinations), plus the transports
that reach Shopify and, in tests, Braze.
Progress is then read from the database, by this process or any other. With
``SHOPIFY_BACKFILL_JOB_RUNNER=celery`` the id goes to the broker instead, for the
deployment's ``shopify-backfill worker`` processes.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from typing import Any

import httpx

from shopify_backfill.backfill.runner import RunOutcome
from shopify_backfill.wiring import Services, job_options
from shopify_backfill.wiring.destinations import braze_destinations
from shopify_backfill.workers.inprocess import InProcessWorker

log = logging.getLogger(__name__)


class WebJobs:
    """The web process's worker, created on first use and shut down with the app."""

    def __init__(
        self,
        services: Services,
        transport: httpx.BaseTransport | None,
        *,
        braze_transport: httpx.BaseTransport | None = None,
        max_workers: int = 2,
    ) -> None:
        self._services = services
        self._transport = transport
        self._braze_transport = braze_transport
        self._max_workers = max_workers
        self._worker: InProcessWorker | None = None
        self._lock = threading.Lock()
        self._running: dict[int, Future[RunOutcome]] = {}

    def submit(self, backfill_id: int) -> None:
        """Queue the run on the broker (``job_runner=celery``) or start it in this process."""
        if self._services.settings.job_runner == "celery":
            # Imported here so that a page on the in-process default never loads Celery.
            from shopify_backfill.workers.celery_app import (  # noqa: PLC0415
                enqueue_with_settings,
            )

            enqueue_with_settings(self._services.settings, backfill_id)
            return
        with self._lock:
            if self._worker is None:
                self._worker = InProcessWorker(self._services, max_workers=self._max_workers)
            options = job_options(self._services, **self._overrides())
            future = self._worker.submit(backfill_id, options)
            self._running[backfill_id] = future
        future.add_done_callback(lambda done: self._finished(backfill_id, done))

    def _overrides(self) -> dict[str, Any]:
        overrides: dict[str, Any] = {"transport": self._transport}
        if self._braze_transport is not None:
            overrides["destinations"] = braze_destinations(
                self._services, transport=self._braze_transport
            )
        return overrides

    def _finished(self, backfill_id: int, future: Future[RunOutcome]) -> None:
        error = future.exception()
        if error is not None:
            log.warning("backfill %s stopped: %s", backfill_id, type(error).__name__)

    def running_here(self, backfill_id: int) -> bool:
        """True while this process is running (or about to run) the backfill."""
        with self._lock:
            future = self._running.get(backfill_id)
        return future is not None and not future.done()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every submitted run (tests, and a graceful shutdown)."""
        with self._lock:
            futures = list(self._running.values())
        for future in futures:
            future.exception(timeout=timeout)

    def shutdown(self) -> None:
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.shutdown(wait=True)
