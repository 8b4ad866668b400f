"""The default worker: a background thread in the calling process, no broker needed.

The CLI submits the job here and, meanwhile, reads progress from the database exactly
as another process (or the web page) would, so what it shows is what is committed.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from shopify_backfill.backfill.runner import RunOptions, RunOutcome, run_backfill
from shopify_backfill.wiring import Services


class InProcessWorker:
    """Runs backfill jobs on a small thread pool; use as a context manager."""

    def __init__(self, services: Services, *, max_workers: int = 1) -> None:
        self.services = services
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="backfill")

    def submit(self, backfill_id: int, options: RunOptions | None = None) -> Future[RunOutcome]:
        return self._pool.submit(run_backfill, self.services, backfill_id, options)

    def shutdown(self, *, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)

    def __enter__(self) -> InProcessWorker:
        return self

    def __exit__(self, *_: object) -> None:
        self.shutdown()
