"""A real emulator server process and CLI subprocesses, as an operator would run them.

The emulator serves a store file (``--db``) so its bulk jobs live in its own process and
survive the death of any client; the backfill runs as ``shopify-backfill`` subprocesses
sharing one data folder through ``SHOPIFY_BACKFILL_*`` variables.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from pydantic import SecretStr

from shopify_backfill.backfill import requests
from shopify_backfill.backfill.store import BackfillRow
from shopify_backfill.config import Settings
from shopify_backfill.profiles.connections import save_connection
from shopify_backfill.profiles.workspaces import create_workspace
from shopify_backfill.shopify.verify import verify_token
from shopify_backfill.wiring import build_services

from .conftest import RECIPIENTS, STORE_NOW

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "shopify_backfill"]
DOMAIN = "emulator-shop.myshopify.com"
TOKEN = "shpat_backfill_cli_tests"


@dataclass(frozen=True)
class Served:
    api_url: str
    token: str
    domain: str = DOMAIN


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_emulator(
    folder: Path,
    *,
    customers: int,
    orders: int,
    seed: int,
    token: str = TOKEN,
    plan: str = "enterprise",
) -> Iterator[Served]:
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = (folder / "emulator.log").open("wb")
    process = subprocess.Popen(
        [
            *CLI,
            "emulator",
            "serve",
            "--port",
            str(port),
            "--db",
            str(folder / "shop.sqlite"),
            "--customers",
            str(customers),
            "--orders",
            str(orders),
            "--seed",
            str(seed),
            "--token",
            token,
            "--plan",
            plan,
            "--now",
            STORE_NOW.isoformat(),
        ],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{base}/admin/api/2026-07/shop.json", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "emulator did not start: " + (folder / "emulator.log").read_text()
                    ) from None
                time.sleep(0.1)
        yield Served(api_url=base, token=token)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def cli_env(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_BACKFILL_")}
    env["SHOPIFY_BACKFILL_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    for name, value in settings.items():
        env[f"SHOPIFY_BACKFILL_{name.upper()}"] = value
    return env


def connect_served(
    data_dir: Path, served: Served, *, now: datetime = STORE_NOW, workspace: str = "default"
) -> BackfillRow:
    """Connect the served shop to a new ``workspace`` of ``data_dir`` as of ``now``."""
    services = build_services(Settings(data_dir=data_dir))
    try:
        token = SecretStr(served.token)
        scopes = verify_token(
            shop_domain=served.domain,
            token=token,
            api_url=served.api_url,
            api_version=services.settings.api_version,
        )
        with services.engine.begin() as conn:
            workspace_id = create_workspace(conn, workspace, notification_emails=list(RECIPIENTS))
            save_connection(
                conn,
                services.cipher,
                workspace_id=workspace_id,
                shop_domain=served.domain,
                token=token,
                scopes=scopes,
                api_url=served.api_url,
                api_version=services.settings.api_version,
                now=now,
            )
            return requests.open_backfill(
                conn, workspace_id=workspace_id, shop_domain=served.domain, now=now
            )
    finally:
        services.dispose()


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
