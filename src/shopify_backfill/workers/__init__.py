"""Where backfill jobs run: an in-process thread by default, Celery workers to scale out.

Both call the same plain function, ``backfill.runner.run_backfill``; the worker only
decides which process and thread execute it.
"""

from __future__ import annotations

from shopify_backfill.workers.inprocess import InProcessWorker

__all__ = ["InProcessWorker"]
