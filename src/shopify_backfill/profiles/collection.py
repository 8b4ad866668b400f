"""Pausing CPython's cyclic garbage collector while a batch is planned and written.

A batch allocates tens of thousands of containers (intents, profiles, changes, rows)
that all live until the batch ends and are then freed by reference counting. While they
live, CPython's generational collector sees them survive its young collections, promotes
them, and every ~50,000 promotions runs a full collection over every object in the
process, which frees nothing of the batch's. Measured on the load benchmark: two full
collections per 6,000 records at ~100 ms each, 20-25% of a batch's CPU time.

Pausing automatic collection for the batch's duration removes that work: when
collection resumes the batch's objects are already gone, so none of them is promoted.
Cyclic garbage made meanwhile (by this or another thread) is collected as usual by the
first collection after the pause, so memory stays bounded by one batch.

CPython's switch is process-wide (``gc.disable``), so the pause is counted: concurrent
batches in several threads share it, the last one out resumes collection, and only if
it was enabled when the first one came in.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pause:
    """The process-wide pause, counted across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._resume = False

    def enter(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._holders += 1

    def leave(self) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0 and self._resume:
                gc.enable()


_PAUSE = _Pause()


@contextmanager
def collection_paused() -> Iterator[None]:
    """Automatic cyclic collection off for the block (see the module docstring)."""
    _PAUSE.enter()
    try:
        yield
    finally:
        _PAUSE.leave()
