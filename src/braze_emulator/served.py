"""The Braze stand-in as a real server process (``python -m braze_emulator serve``),
and a small client of its admin routes: for tests and benchmarks that drive a product
process (the CLI) against a stand-in it reaches over the network."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgspec

from braze_emulator import BrazeUser

KEY = "braze-served-key"
SECRET = "braze-served-admin"  # noqa: S105 - the stand-in's test admin secret
_decoder = msgspec.json.Decoder(float_hook=Decimal)


@dataclass(frozen=True)
class ServedBraze:
    url: str

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(
            method, self.url + path, json=body, headers={"X-Admin-Secret": SECRET}, timeout=30
        )
        response.raise_for_status()
        return _decoder.decode(response.content)

    def faults(self, **values: Any) -> None:
        self._admin("POST", "/_admin/faults", values)

    def stats(self) -> dict[str, Any]:
        return dict(self._admin("GET", "/_admin/stats"))

    def users(self) -> list[BrazeUser]:
        return msgspec.convert(self._admin("GET", "/_admin/users"), list[BrazeUser])


@contextmanager
def serve_braze(
    folder: Path, *, limit: int = 3000, window: float = 3.0, max_objects: int = 75
) -> Iterator[ServedBraze]:
    """Serve a stand-in on a free port, logging to ``folder/braze.log``, until exit."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "braze.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "braze_emulator",
                "serve",
                "--port",
                "0",
                "--key",
                KEY,
                "--admin-secret",
                SECRET,
                "--limit",
                str(limit),
                "--window",
                str(window),
                "--max-objects",
                str(max_objects),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        url = None
        while url is None:
            text = log.read_text(encoding="utf-8", errors="replace")
            for line in text.splitlines():
                if line.startswith("Braze stand-in:"):
                    url = line.split(":", 1)[1].strip()
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Braze stand-in did not start: " + text)
            time.sleep(0.05)
        served = ServedBraze(url)
        while True:
            try:
                served.stats()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield served
    finally:
        process.terminate()
        process.wait(timeout=30)
