"""Benchmark: build synthetic emulator stores of two sizes and compare.

Each size is generated in a fresh child process so its peak RSS is its own. The larger
run should take about ``size ratio`` times longer (linear) while peak memory stays flat
(bounded by the number of customers and chunk sizes, not orders).

    .venv/bin/python bench/emulator_generate.py                 # 100k baseline vs 1M
    .venv/bin/python bench/emulator_generate.py --orders 200000 --baseline 20000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from shopify_emulator.store import ShopStore

NOW = datetime(2026, 7, 1, tzinfo=UTC)


def child(orders: int, customers: int, path: Path) -> None:
    start, cpu_start = time.perf_counter(), time.process_time()
    store = ShopStore.generate(path, customers=customers, orders=orders, seed=42, now=NOW)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    counts = store.counts()
    store.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "orders": orders,
                "customers": customers,
                "line_items": counts["line_items"],
                "seconds": round(elapsed, 2),
                "cpu_seconds": round(cpu, 2),
                "peak_rss_mb": round(peak_kib / 1024, 1),
                "file_mb": round(path.stat().st_size / 1e6, 1),
            }
        )
    )


def run(orders: int, customers: int, folder: Path) -> dict[str, float]:
    path = folder / f"store-{orders}.sqlite"
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(orders), str(customers), str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    path.unlink(missing_ok=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=100_000)
    parser.add_argument("--customers-per-order", type=float, default=0.2)
    parser.add_argument("--json", type=Path, default=Path("var/bench/emulator_generate.json"))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), int(args.child[1]), Path(args.child[2]))
        return
    with tempfile.TemporaryDirectory(prefix="emulator-bench-") as tmp:
        rows = [
            run(size, int(size * args.customers_per_order), Path(tmp))
            for size in (args.baseline, args.orders)
        ]
    base, big = rows
    ratio = big["orders"] / base["orders"]
    print(
        f"{'orders':>10} {'customers':>10} {'line items':>11} {'wall s':>8} {'CPU s':>8} "
        f"{'orders/CPU s':>13} {'peak RSS MB':>12} {'file MB':>8}"
    )
    for row in rows:
        print(
            f"{row['orders']:>10,} {row['customers']:>10,} {row['line_items']:>11,} "
            f"{row['seconds']:>8.1f} {row['cpu_seconds']:>8.1f} "
            f"{row['orders'] / row['cpu_seconds']:>13,.0f} "
            f"{row['peak_rss_mb']:>12.1f} {row['file_mb']:>8.1f}"
        )
    time_ratio = big["seconds"] / base["seconds"]
    cpu_ratio = big["cpu_seconds"] / base["cpu_seconds"]
    rss_ratio = big["peak_rss_mb"] / base["peak_rss_mb"]
    print(
        f"size x{ratio:.0f}: CPU time x{cpu_ratio:.2f}, wall time x{time_ratio:.2f} "
        f"(linear = x{ratio:.0f}; wall time also counts other processes on the machine), "
        f"peak RSS x{rss_ratio:.2f} (flat = x1)"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "runs": rows,
                "cpu_ratio": cpu_ratio,
                "time_ratio": time_ratio,
                "rss_ratio": rss_ratio,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
