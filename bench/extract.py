"""Extraction throughput and peak memory, bulk vs paginated, on two store sizes.

The emulator runs as its own server process (so its memory is not counted) and each
extraction runs in a fresh worker process that reports its own peak RSS. The small store
is the baseline measured in the same run: bounded memory means the big store's peak is
about the same, whatever its size.

    .venv/bin/python bench/extract.py --orders 1000000 --baseline-orders 100000
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

from shopify_backfill.clock import SystemClock
from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.extract import ExtractionCheckpoint, Extractor
from shopify_backfill.shopify.records import Order
from shopify_emulator.store import ShopStore

TOKEN = "shpat_bench_extract"  # noqa: S105 - the emulator's seeded test token
NOW = datetime(2026, 11, 1, tzinfo=UTC)


class PeakRss:
    """Samples this process's RSS every 10 ms.

    ``ru_maxrss`` is not used: Linux carries the parent's high-water mark into a forked
    child, so a worker would report the bench process's own peak.
    """

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def worker(url: str, mode: str, staging: Path) -> None:
    """One extraction; prints a JSON line with counts, seconds and peak RSS."""
    rss = PeakRss()
    client = AdminClient(api_url=url, token=TOKEN, timeout=600.0)
    extractor = Extractor(
        client,
        window_start=NOW - timedelta(days=90),
        window_end=NOW,
        staging_path=staging,
        clock=SystemClock(),
        batch_size=500,
    )
    started = time.perf_counter()
    orders = customers = line_items = 0
    for batch in extractor.batches(ExtractionCheckpoint(mode=mode)):  # type: ignore[arg-type]
        for record in batch.records:
            if isinstance(record, Order):
                orders += 1
                line_items += len(record.line_items)
            else:
                customers += 1
    seconds = time.perf_counter() - started
    peak = rss.stop()
    print(
        json.dumps(
            {
                "orders": orders,
                "customers": customers,
                "line_items": line_items,
                "seconds": seconds,
                "peak_rss_mb": peak / 2**20,
                "requests": client.stats.requests,
                "throttled": client.stats.throttled,
            }
        )
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _store(folder: Path, orders: int) -> Path:
    path = folder / f"store-{orders}.sqlite"
    if not path.exists():
        started = time.perf_counter()
        ShopStore.generate(
            path, customers=max(10, orders // 5), orders=orders, seed=1, now=NOW
        ).close()
        print(f"generated {orders:,} orders in {time.perf_counter() - started:.0f} s")
    return path


def measure(folder: Path, orders: int, modes: list[str], plan: str) -> list[dict[str, Any]]:
    store = _store(folder, orders)
    port = _free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "shopify_backfill", "emulator", "serve"),
            *("--db", str(store), "--port", str(port), "--token", TOKEN, "--plan", plan),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(url + "/admin/oauth/access_scopes.json", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        rows = []
        for mode in modes:
            staging = folder / f"staging-{orders}-{mode}-{time.time_ns()}.sqlite"
            output = subprocess.run(
                [sys.executable, __file__, "--worker", url, mode, str(staging)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            row = json.loads(output.strip().splitlines()[-1])
            row.update(store_orders=orders, mode=mode)
            rows.append(row)
            staging.unlink(missing_ok=True)
            print(_line(row), flush=True)
        return rows
    finally:
        server.terminate()
        server.wait(timeout=30)


def _line(row: dict[str, Any]) -> str:
    records = row["orders"] + row["customers"]
    return (
        f"{row['store_orders']:>10,} {row['mode']:>10} {records:>10,} "
        f"{row['seconds']:>9.1f} {records / row['seconds']:>11,.0f} {row['peak_rss_mb']:>9.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--baseline-orders", type=int, default=100_000)
    parser.add_argument("--modes", default="bulk,paginated")
    parser.add_argument("--plan", default="enterprise", help="emulated plan (rate limits)")
    parser.add_argument("--folder", type=Path, default=None, help="keep stores here")
    parser.add_argument("--json", type=Path, default=Path("var/bench/extract.json"))
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], Path(args.worker[2]))
        return
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench-extract-"))
    folder.mkdir(parents=True, exist_ok=True)
    modes = args.modes.split(",")
    print(f"plan {args.plan}; stores in {folder}")
    columns = ("orders", "mode", "records", "seconds", "records/s", "peak MB")
    widths = (10, 10, 10, 9, 11, 9)
    print(" ".join(f"{name:>{width}}" for name, width in zip(columns, widths, strict=True)))
    rows = measure(folder, args.baseline_orders, modes, args.plan)
    rows += measure(folder, args.orders, modes, args.plan)
    for mode in modes:
        small = next(
            r for r in rows if r["mode"] == mode and r["store_orders"] == args.baseline_orders
        )
        big = next(r for r in rows if r["mode"] == mode and r["store_orders"] == args.orders)
        memory = big["peak_rss_mb"] / small["peak_rss_mb"]
        data = args.orders / args.baseline_orders
        print(
            f"{mode}: peak RSS {big['peak_rss_mb']:.0f} MB at {args.orders:,} orders vs "
            f"{small['peak_rss_mb']:.0f} MB at {args.baseline_orders:,} "
            f"(x{memory:.2f} memory for x{data:.0f} data)"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
