"""Fault injection: server errors, connection resets, latency, throttling, failing bulk jobs.

Faults are switched per run (constructor config or ``POST /emulator/faults``) and every
random draw comes from one seeded generator, so a failing test replays exactly. Network
faults must look like the network: on a real port the socket is aborted with an RST; in
process the request raises ``ConnectionResetFault``/``ConnectionCutFault``, which
``transport.EmulatorTransport`` turns into the ``httpx`` errors a real socket produces.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import orjson

from shopify_emulator.config import BulkOutcome, FaultPlan
from shopify_emulator.shopify_errors import (
    BAD_GATEWAY_HTML,
    INTERNAL_ERROR,
    SERVICE_UNAVAILABLE,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ConnectionResetFault(ConnectionResetError):  # noqa: N818 - it *is* a reset
    """The emulator dropped the connection before answering (in-process marker)."""


class ConnectionCutFault(ConnectionResetError):  # noqa: N818
    """The emulator dropped the connection in the middle of a response body."""


@dataclass(frozen=True, slots=True)
class RequestFault:
    kind: Literal["server_error", "reset"]
    status: int = 500


class FaultInjector:
    """Holds the active plan and its seeded generator; safe to share between threads."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self.replace(plan or FaultPlan())

    def replace(self, plan: FaultPlan) -> None:
        """Switch plans; the generator restarts from the new seed."""
        with self._lock:
            self.plan = plan
            self._rng = random.Random(plan.seed)
            self._bulk: deque[BulkOutcome] = deque(plan.bulk_outcomes)

    def applies_to(self, path: str) -> bool:
        return any(path.startswith(prefix) for prefix in self.plan.paths)

    def draw_request_fault(self) -> RequestFault | None:
        """One draw per request: reset first, then server error, each at its rate."""
        with self._lock:
            plan = self.plan
            if plan.reset_rate and self._rng.random() < plan.reset_rate:
                return RequestFault("reset")
            if plan.server_error_rate and self._rng.random() < plan.server_error_rate:
                return RequestFault("server_error", self._rng.choice((500, 502, 503)))
            return None

    def next_bulk_outcome(self) -> BulkOutcome | None:
        """Outcome forced on the next bulk job, consumed once."""
        with self._lock:
            return self._bulk.popleft() if self._bulk else None


def server_error_response(status: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """Body and headers of the 5xx pages Shopify's edge returns."""
    if status == 502:
        return BAD_GATEWAY_HTML.encode(), [(b"content-type", b"text/html; charset=utf-8")]
    body = orjson.dumps(SERVICE_UNAVAILABLE if status == 503 else INTERNAL_ERROR)
    headers = [(b"content-type", b"application/json; charset=utf-8")]
    if status == 503:
        headers.append((b"retry-after", b"1"))
    return body, headers


def abort_connection(send: Send) -> bool:
    """Reset the client's TCP connection when served by uvicorn (RST, no response).

    uvicorn hands the app its per-request cycle's bound ``send``; the cycle owns the
    asyncio transport. Lingering zero makes ``close`` send an RST, which clients see
    as ``ECONNRESET``. Returns ``False`` when there is no socket (in-process use).
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True


class FaultMiddleware:
    """Outermost ASGI layer: latency, resets and 5xx before the request reaches a route."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.injector.applies_to(scope["path"]):
            await self.app(scope, receive, send)
            return
        plan = self.injector.plan
        if plan.latency_seconds:
            await anyio.sleep(plan.latency_seconds)
        fault = self.injector.draw_request_fault()
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.kind == "reset":
            if not abort_connection(send):
                raise ConnectionResetFault("[Errno 104] Connection reset by peer")
        else:
            body, headers = server_error_response(fault.status)
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": fault.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
