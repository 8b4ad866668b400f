"""End-to-end backfill throughput and peak memory: paginated vs bulk, two store sizes.

Each run is what an operator does: the emulator serves a generated store as its own
process (its memory is not counted), the store is connected to a fresh data folder, and
``shopify-backfill backfill start --yes --json`` runs as a child process whose RSS is
sampled every 10 ms. Records are the customers and orders the backfill went through;
the rate is records over the whole command (preflight, extraction, loading, report).

    .venv/bin/python bench/backfill_e2e.py --sizes 1000x5000,5000x25000
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
from pydantic import SecretStr

from shopify_backfill.backfill import requests
from shopify_backfill.config import Settings
from shopify_backfill.profiles.workspaces import create_workspace
from shopify_backfill.shopify.connections import save_connection, verify_token
from shopify_backfill.wiring import build_services

TOKEN = "shpat_bench_backfill_e2e"  # noqa: S105 - the emulator's seeded test token
NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)
DOMAIN = "emulator-shop.myshopify.com"
REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(folder: Path, customers: int, orders: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shopify_backfill",
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
            "1",
            "--token",
            TOKEN,
            "--plan",
            "enterprise",
            "--now",
            NOW.isoformat(),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while True:
        try:
            httpx.get(base + "/admin/oauth/access_scopes.json", timeout=1)
            return process, base
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start") from None
            time.sleep(0.2)


def _connect(data: Path, base: str) -> None:
    services = build_services(Settings(data_dir=data))
    try:
        token = SecretStr(TOKEN)
        scopes = verify_token(
            shop_domain=DOMAIN, token=token, api_url=base, api_version=services.settings.api_version
        )
        with services.engine.begin() as conn:
            workspace_id = create_workspace(conn, "default")
            save_connection(
                conn,
                services.cipher,
                workspace_id=workspace_id,
                shop_domain=DOMAIN,
                token=token,
                scopes=scopes,
                api_url=base,
                api_version=services.settings.api_version,
                now=NOW,
            )
            requests.open_backfill(conn, workspace_id=workspace_id, shop_domain=DOMAIN, now=NOW)
    finally:
        services.dispose()


def _run(data: Path, mode: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_BACKFILL_")}
    env.update(
        SHOPIFY_BACKFILL_DATA_DIR=str(data),
        SHOPIFY_BACKFILL_EXTRACTION_MODE=mode,
        SHOPIFY_BACKFILL_BULK_POLL_SECONDS="0.5",
        SHOPIFY_BACKFILL_BULK_POLL_MAX_SECONDS="2",
    )
    started = time.perf_counter()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shopify_backfill",
            "backfill",
            "start",
            "--shop",
            DOMAIN,
            "--yes",
            "--json",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    watched = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.01)
    output = child.stdout.read() if child.stdout else b""
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"backfill exited with {child.returncode}")
    view = json.loads(output)
    records = view["customers"]["done"] + view["orders"]["done"]
    return {
        "mode": mode,
        "customers": view["customers"]["done"],
        "orders": view["orders"]["done"],
        "seconds": round(seconds, 2),
        "records_per_second": round(records / seconds, 1),
        "peak_rss_mib": round(peak / 2**20, 1),
        "data_points": view["report"]["data_points"]["total"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000x5000,5000x25000", help="CUSTOMERSxORDERS,...")
    parser.add_argument("--modes", default="paginated,bulk")
    parser.add_argument("--json", type=Path, default=Path("var/bench/backfill_e2e.json"))
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        for size in args.sizes.split(","):
            customers, orders = (int(part) for part in size.split("x"))
            folder = Path(tmp) / size
            folder.mkdir()
            emulator, base = _serve(folder, customers, orders)
            try:
                for mode in args.modes.split(","):
                    data = folder / mode
                    _connect(data, base)
                    row = {"store": size, **_run(data, mode)}
                    rows.append(row)
                    print(
                        f"{row['store']:>12} {mode:>9}: {row['customers']:>6} customers "
                        f"{row['orders']:>7} orders in window, {row['seconds']:>7.2f} s, "
                        f"{row['records_per_second']:>8.1f} records/s, "
                        f"peak RSS {row['peak_rss_mib']:>6.1f} MiB",
                        flush=True,
                    )
            finally:
                emulator.terminate()
                emulator.wait(timeout=60)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
