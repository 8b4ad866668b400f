"""An ``httpx`` transport that talks to the emulator in-process, network faults included.

``httpx.ASGITransport`` buffers the whole body and re-raises app exceptions as-is, so a
client under test would never see what a dropped socket looks like. This transport
streams the body as the app produces it and translates the emulator's fault markers into
the exceptions ``httpx`` raises on a real connection:

- reset before any response -> ``httpx.ReadError`` (``ECONNRESET``);
- body cut short -> ``httpx.RemoteProtocolError`` ("peer closed connection without sending
  complete message body"), with the bytes received so far delivered first.

It works for both ``httpx.Client`` (the app runs on a private event-loop thread) and
``httpx.AsyncClient`` (the app runs on the caller's loop).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator, MutableMapping
from typing import Any

import httpx

from shopify_emulator.faults import ASGIApp, ConnectionCutFault, ConnectionResetFault

_END = object()
_QUEUE_DEPTH = 32


class _Exchange:
    """One request in flight: the app task and the queue of what it sent."""

    def __init__(self, app: ASGIApp, request: httpx.Request, body: bytes) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(_QUEUE_DEPTH)
        self.body = body
        self.request = request
        self.app = app
        self.task: asyncio.Task[None] | None = None

    def scope(self) -> dict[str, Any]:
        url = self.request.url
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": self.request.method,
            "headers": [(k.lower(), v) for k, v in self.request.headers.raw],
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
            "client": ("127.0.0.1", 50000),
            "root_path": "",
        }

    async def run(self) -> None:
        sent_body = False

        async def receive() -> MutableMapping[str, Any]:
            nonlocal sent_body
            if sent_body:
                await asyncio.Event().wait()
            sent_body = True
            return {"type": "http.request", "body": self.body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            await self.queue.put(message)

        try:
            await self.app(self.scope(), receive, send)
        except BaseException as error:  # forwarded to the client side of the exchange
            await self.queue.put(error)
        else:
            await self.queue.put(_END)

    async def start(self) -> tuple[int, list[tuple[bytes, bytes]]]:
        self.task = asyncio.get_running_loop().create_task(self.run())
        first = await self.queue.get()
        if isinstance(first, ConnectionResetFault):
            raise httpx.ReadError("[Errno 104] Connection reset by peer") from first
        if isinstance(first, BaseException):
            raise first
        if first is _END:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return first["status"], list(first.get("headers", []))

    async def chunks(self, expected: int | None) -> AsyncIterator[bytes]:
        received = 0
        while True:
            item = await self.queue.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise _cut(received, expected) from item
            chunk = item.get("body", b"")
            if chunk:
                received += len(chunk)
                yield chunk
            if not item.get("more_body", False):
                break
        if expected is not None and received < expected:
            raise _cut(received, expected)


def _cut(received: int, expected: int | None) -> httpx.RemoteProtocolError:
    detail = (
        f"received {received} bytes, expected {expected}"
        if expected is not None
        else "incomplete chunked read"
    )
    return httpx.RemoteProtocolError(
        f"peer closed connection without sending complete message body: {detail}"
    )


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for key, value in headers:
        if key.lower() == b"content-length":
            return int(value)
    return None


class _AsyncBody(httpx.AsyncByteStream):
    def __init__(self, chunks: AsyncIterator[bytes], exchange: _Exchange) -> None:
        self._chunks = chunks
        self._exchange = exchange

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            yield chunk

    async def aclose(self) -> None:
        if self._exchange.task is not None and not self._exchange.task.done():
            self._exchange.task.cancel()


class _SyncBody(httpx.SyncByteStream):
    def __init__(
        self, chunks: AsyncIterator[bytes], exchange: _Exchange, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._chunks = chunks
        self._exchange = exchange
        self._loop = loop

    def __iter__(self) -> Iterator[bytes]:
        while True:
            future = asyncio.run_coroutine_threadsafe(_next(self._chunks), self._loop)
            chunk = future.result()
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        task = self._exchange.task
        if task is not None and not task.done():
            self._loop.call_soon_threadsafe(task.cancel)


async def _next(chunks: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await chunks.__anext__()
    except StopAsyncIteration:
        return None


class EmulatorTransport(httpx.AsyncBaseTransport, httpx.BaseTransport):
    """In-process transport to an emulator app, for sync and async ``httpx`` clients."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        exchange = _Exchange(self.app, request, await request.aread())
        status, headers = await exchange.start()
        body = _AsyncBody(exchange.chunks(_content_length(headers)), exchange)
        return httpx.Response(status, headers=headers, stream=body, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        loop = self._background_loop()
        exchange = _Exchange(self.app, request, request.read())
        status, headers = asyncio.run_coroutine_threadsafe(exchange.start(), loop).result()
        body = _SyncBody(exchange.chunks(_content_length(headers)), exchange, loop)
        return httpx.Response(status, headers=headers, stream=body, request=request)

    def _background_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="emulator-transport", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()

    async def aclose(self) -> None:
        self.close()


__all__ = ["ConnectionCutFault", "ConnectionResetFault", "EmulatorTransport"]
