"""Server-Sent Events of a backfill's progress, read from the database.

The stream holds no state of its own: it polls the committed progress (``read_status``)
and sends it whenever it changes, so a page opened in another browser, after a restart,
or while another process runs the job shows the same figures. It ends once the backfill
is no longer in progress; the page then reloads to show the report or the failure.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0


def sse(event: str, data: dict[str, Any]) -> str:
    payload = json.dumps(data, default=str, separators=(",", ":"))
    return f"event: {event}\ndata: {payload}\n\n"


async def progress_stream(
    request: Request, read: Callable[[], dict[str, Any]], *, poll: float = POLL_SECONDS
) -> AsyncIterator[str]:
    """``progress`` events on every change, then one ``end`` event with the final view."""
    yield "retry: 2000\n\n"
    last: str | None = None
    quiet = 0.0
    while True:
        view = await run_in_threadpool(read)
        encoded = json.dumps(view, default=str, sort_keys=True)
        if view["status"] != "in_progress" or view.get("resumable"):
            yield sse("end", view)  # over, or nobody is running it: the page offers Resume
            return
        if encoded != last:
            last = encoded
            quiet = 0.0
            yield sse("progress", view)
        elif quiet >= HEARTBEAT_SECONDS:
            quiet = 0.0
            yield ": keep-alive\n\n"
        if await request.is_disconnected():
            return
        await asyncio.sleep(poll)
        quiet += poll
