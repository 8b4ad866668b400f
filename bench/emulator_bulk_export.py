"""Serve a bulk export of a large store through the emulator and measure it.

For a baseline store and the target store (default 1,000,000 orders), in the same run:
build the store, run ``bulkOperationRunQuery`` over HTTP (in-process transport), poll
until COMPLETED, then stream the JSONL download. Prints time, throughput and peak RSS
per phase, and writes the figures as JSON.

``--compare-generic`` also exports the baseline store on the executor's generic walker
(``Executor.use_plans = False``, the code path before compiled plans) in the same run,
and checks that both files are byte-identical: the speed-up is measured on the same
machine under the same load, not against a figure from another day.
``--store-dir`` keeps generated stores there and reuses them on the next run.

    .venv/bin/python bench/emulator_bulk_export.py --orders 1000000 --baseline-orders 10000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from shopify_backfill.config import Settings
from shopify_backfill.shopify.queries import bulk_orders_query, window_filter
from shopify_backfill.shopify.schema import load_schema
from shopify_emulator.app import create_emulator_app
from shopify_emulator.store import ShopStore
from shopify_emulator.transport import EmulatorTransport

RUN = """mutation Run($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: false) {
    bulkOperation { id } userErrors { message } } }"""
NOW = datetime(2026, 7, 1, tzinfo=UTC)
POLL = (
    "query($id: ID!) { bulkOperation(id: $id) { status objectCount rootObjectCount fileSize url } }"
)


@contextmanager
def peak_rss() -> Iterator[Callable[[], int]]:
    """Sample this process's RSS every 20 ms; yields a getter for the peak so far."""
    process = psutil.Process()
    peak = [process.memory_info().rss]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            peak[0] = max(peak[0], process.memory_info().rss)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield lambda: peak[0]
    finally:
        stop.set()
        thread.join()


def open_store(orders: int, customers: int, folder: Path) -> tuple[ShopStore, float]:
    """The store for ``orders`` (reused when the folder already holds it) and build time."""
    path = folder / f"store-{orders}-{customers}.sqlite"
    if path.exists():
        return ShopStore.open(path), 0.0
    started = time.perf_counter()
    store = ShopStore.generate(path, customers=customers, orders=orders, seed=1, now=NOW)
    return store, time.perf_counter() - started


def measure(
    orders: int,
    customers: int,
    folder: Path,
    schema: Any,
    *,
    generic: bool = False,
    digest: list[str] | None = None,
) -> dict[str, Any]:
    """Export one store over HTTP; ``digest`` receives the SHA-256 of the file."""
    store, generated = open_store(orders, customers, folder)
    now = NOW
    app = create_emulator_app(store, schema=schema)
    app.state.runtime.executor.use_plans = not generic
    token = app.state.runtime.seed_grant.token
    transport = EmulatorTransport(app)
    headers = {"X-Shopify-Access-Token": token}
    query = bulk_orders_query(window_filter(datetime(2000, 1, 1, tzinfo=UTC), now))
    with (
        httpx.Client(transport=transport, base_url="https://emulator", headers=headers) as client,
        peak_rss() as peak,
    ):
        baseline_rss = psutil.Process().memory_info().rss
        started = time.perf_counter()
        cpu_started = time.process_time()
        body = client.post(
            "/admin/api/2026-07/graphql.json", json={"query": RUN, "variables": {"query": query}}
        ).json()
        gid = body["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]
        while True:
            operation = client.post(
                "/admin/api/2026-07/graphql.json", json={"query": POLL, "variables": {"id": gid}}
            ).json()["data"]["bulkOperation"]
            if operation["status"] not in ("CREATED", "RUNNING"):
                break
            time.sleep(0.2)
        exported = time.perf_counter() - started
        export_cpu = time.process_time() - cpu_started
        export_peak = peak()
        started = time.perf_counter()
        size = lines = 0
        hasher = hashlib.sha256()
        with client.stream("GET", operation["url"]) as response:
            for chunk in response.iter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
                hasher.update(chunk)
        if digest is not None:
            digest.append(hasher.hexdigest())
        downloaded = time.perf_counter() - started
        download_peak = peak()
    app.state.runtime.bulk.shutdown()
    transport.close()
    store.close()
    assert operation["status"] == "COMPLETED", operation
    assert str(lines) == operation["objectCount"], (lines, operation)
    assert str(size) == operation["fileSize"]
    return {
        "path": "generic" if generic else "plans",
        "orders": orders,
        "customers": customers,
        "objects": lines,
        "bytes": size,
        "generate_s": round(generated, 2),
        "export_s": round(exported, 2),
        "export_objects_per_s": round(lines / exported),
        "export_cpu_s": round(export_cpu, 2),
        "download_s": round(downloaded, 2),
        "download_mb_per_s": round(size / downloaded / 1e6, 1),
        "rss_before_mb": round(baseline_rss / 1e6, 1),
        "peak_rss_export_mb": round(export_peak / 1e6, 1),
        "peak_rss_download_mb": round(download_peak / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--baseline-orders", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("var/bench/emulator_bulk_export.json"))
    parser.add_argument(
        "--compare-generic",
        action="store_true",
        help="also export the baseline store on the generic walker and compare",
    )
    parser.add_argument("--store-dir", type=Path, help="keep and reuse generated stores here")
    args = parser.parse_args()
    settings = Settings()
    schema = load_schema(settings.schema_path(), settings.cache_dir())
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="emulator-bench-") as tmp:
        folder = args.store_dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        base = args.baseline_orders, max(1, args.baseline_orders // 5)
        digests: list[str] = []
        if args.compare_generic:
            rows["baseline generic"] = measure(*base, folder, schema, generic=True, digest=digests)
        rows["baseline"] = measure(*base, folder, schema, digest=digests)
        rows["target"] = measure(args.orders, max(1, args.orders // 5), folder, schema)
    names = list(rows)
    print(" | ".join(f"{key:>22}" for key in ("metric", *names)))
    for key in rows["baseline"]:
        print(" | ".join(f"{value!s:>22}" for value in (key, *(rows[n][key] for n in names))))
    ratio = rows["target"]["export_objects_per_s"] / rows["baseline"]["export_objects_per_s"]
    print(f"export throughput target/baseline: {ratio:.2f}")
    if args.compare_generic:
        speedup = (
            rows["baseline"]["export_objects_per_s"]
            / rows["baseline generic"]["export_objects_per_s"]
        )
        same = len(set(digests)) == 1
        print(f"plans vs generic walker on the baseline store: {speedup:.2f}x faster")
        print(f"byte-identical files from both paths: {same}")
        assert same, digests
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
