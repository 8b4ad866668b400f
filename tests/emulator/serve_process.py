"""``shopify-backfill emulator serve`` as a real subprocess, for the tests of what it prints.

The command prints its banner (shop, API base, token, admin secret) and then blocks in
uvicorn; ``serve_process`` starts it on a free port, reads the banner up to its last
line and stops the process afterwards, and ``until_listening`` retries a first request
while uvicorn is still binding the port.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

LAST_BANNER_LINE = "admin secret:"
"""What ``serve`` prints last before uvicorn starts (http or https alike)."""


@dataclass(frozen=True)
class ServeBanner:
    """A started ``emulator serve``: its port and everything it printed before serving."""

    port: int
    text: str

    @property
    def token(self) -> str:
        """The seeded ``shpat_`` access token the banner shows."""
        match = re.search(r"access token:\s+(shpat_\w+)", self.text)
        assert match, self.text
        return match.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_process(*args: str, env: dict[str, str] | None = None) -> Iterator[ServeBanner]:
    """``emulator serve --port FREE ARGS...`` with ``env`` added to this environment."""
    port = free_port()
    command = [
        sys.executable,
        "-c",
        "from shopify_backfill.cli import main; main()",
        "emulator",
        "serve",
        "--port",
        str(port),
        *args,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    try:
        seen: list[str] = []
        assert process.stdout is not None
        while not any(line.startswith(LAST_BANNER_LINE) for line in seen):
            line = process.stdout.readline()
            assert line, "".join(seen)  # the process ended before its banner was out
            seen.append(line)
        yield ServeBanner(port=port, text="".join(seen))
    finally:
        process.terminate()
        process.wait(timeout=10)


def until_listening(request: Callable[[], httpx.Response], seconds: float = 20) -> httpx.Response:
    """``request()`` again while the port refuses connections, for at most ``seconds``.

    A certificate failure is not "not yet listening": it is raised at once.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            return request()
        except httpx.ConnectError as error:
            assert "CERTIFICATE" not in str(error), error
            assert time.monotonic() < deadline, error
            time.sleep(0.1)
