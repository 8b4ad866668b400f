"""The stand-in as a raw ASGI app: a few routes, bytes in, JSON out.

Raw ASGI rather than a framework because a benchmark pushes about 1,000 requests per
second of 75 objects each through one process: the app reads the body, hands it to the
workspace and writes the answer. A reset fault drops the connection like a network
would: an RST over uvicorn (``shopify_emulator.faults.abort_connection``), the
in-process transport's ``httpx.ReadError`` otherwise.

Admin routes (only with an ``admin_secret``, sent as ``X-Admin-Secret``) let a test or
benchmark drive a stand-in running in another process: ``POST /_admin/faults``,
``GET /_admin/stats``, ``GET /_admin/users``, ``POST /_admin/keys``,
``DELETE /_admin/keys/{key}``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
from typing import Any

import msgspec
import orjson

from braze_emulator.workspace import Answer, BrazeWorkspace
from shopify_emulator.faults import (
    ASGIApp,
    ConnectionResetFault,
    Receive,
    Scope,
    Send,
    abort_connection,
)

_ROUTES = frozenset({"/users/track", "/users/export/ids"})


_encoder = msgspec.json.Encoder(decimal_format="number")
"""Exact numbers out (prices and amounts are ``Decimal`` in the workspace)."""


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(
    send: Send, status: int, body: Any, headers: dict[str, str] | None = None
) -> None:
    payload = _encoder.encode(body)
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw.extend((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def create_app(workspace: BrazeWorkspace, *, admin_secret: str | None = None) -> ASGIApp:
    """The ASGI app of ``workspace``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        path, method = scope["path"], scope["method"]
        raw = await _read(receive)
        if path.startswith("/_admin/"):
            await _admin(workspace, admin_secret, headers, method, path, raw, send)
            return
        if path not in _ROUTES or method != "POST":
            await _respond(send, 404, {"message": "Not Found"})
            return
        if workspace.faults.latency_seconds:
            await asyncio.sleep(workspace.faults.latency_seconds)
        answer: Answer = workspace.handle(path, headers.get("authorization"), raw)
        if answer.reset:
            if not abort_connection(send):
                raise ConnectionResetFault("stand-in reset the connection")
            return
        await _respond(send, answer.status, answer.body, answer.headers)

    return app


async def _admin(
    workspace: BrazeWorkspace,
    secret: str | None,
    headers: dict[str, str],
    method: str,
    path: str,
    raw: bytes,
    send: Send,
) -> None:
    given = headers.get("x-admin-secret", "")
    if secret is None or not hmac.compare_digest(given.encode(), secret.encode()):
        await _respond(send, 404, {"message": "Not Found"})
        return
    if path == "/_admin/faults" and method == "POST":
        for name, value in orjson.loads(raw or b"{}").items():
            if name not in {f.name for f in dataclasses.fields(workspace.faults)}:
                await _respond(send, 400, {"message": f"unknown fault {name!r}"})
                return
            setattr(workspace.faults, name, value)
        await _respond(send, 200, dataclasses.asdict(workspace.faults))
    elif path == "/_admin/stats" and method == "GET":
        await _respond(send, 200, workspace.stats())
    elif path == "/_admin/users" and method == "GET":
        await _respond(send, 200, workspace.users())
    elif path == "/_admin/keys" and method == "POST":
        body = orjson.loads(raw or b"{}")
        permissions = frozenset(body.get("permissions", ["users.track", "users.export.ids"]))
        workspace.add_key(str(body["key"]), permissions)
        await _respond(send, 200, {"key": "added"})
    elif path.startswith("/_admin/keys/") and method == "DELETE":
        workspace.revoke_key(path.removeprefix("/_admin/keys/"))
        await _respond(send, 200, {"key": "revoked"})
    else:
        await _respond(send, 404, {"message": "Not Found"})
