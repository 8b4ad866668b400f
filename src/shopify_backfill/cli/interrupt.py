"""Ctrl-C during a run: the first stops at the next batch boundary, the second at once.

The job runs on a worker thread while the main thread follows its progress, so Python's
default ``KeyboardInterrupt`` would only stop the display and leave the run going on
silently. Instead the first SIGINT sets the run's stop event (the batch in hand commits,
the run is recorded as interrupted) and says so; the second ends the process at once
with 130, leaving the row ``in_progress`` with a lease nobody renews, which ``status``
shows as interrupted and ``resume`` takes over.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SIGINT_EXIT_CODE = 130


def resume_hint(shop_domain: str) -> str:
    return f"resume it with `shopify-backfill backfill resume --shop {shop_domain}`"


@contextmanager
def stop_on_ctrl_c(stop: threading.Event, shop_domain: str) -> Iterator[None]:
    """Route SIGINT to ``stop`` for the duration; only possible on the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(_signum: int, _frame: FrameType | None) -> None:
        if not stop.is_set():
            stop.set()
            _say(
                "interrupted: stopping after the batch in hand is committed; "
                "press Ctrl-C again to quit at once"
            )
            return
        _say(
            f"interrupted again: quitting now; the last committed batch is kept, "
            f"{resume_hint(shop_domain)}"
        )
        os._exit(SIGINT_EXIT_CODE)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _say(text: str) -> None:
    sys.stdout.flush()
    print(text, file=sys.stderr, flush=True)
