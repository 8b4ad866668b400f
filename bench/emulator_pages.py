"""Page through ``orders(first: 250)`` with nested line items over the emulator's HTTP API.

The product's paginated extraction sends ``ORDERS_PAGE_QUERY`` (250 orders a page, up to
250 line items and 10 shipping lines each) until ``hasNextPage`` is false. For each
executor path, in the same run and over the same store, this times every page request
end to end (parse and validation, cost, execution, actual cost, JSON), and checks that
both paths answered every page with the same bytes. The process's CPU time per page is
printed too: on a shared machine it moves less than wall time. The generic walker
(``Executor.use_plans = False``) is the baseline; the cost buckets use a manual clock
advanced before each request, so throttling never waits.

    .venv/bin/python bench/emulator_pages.py --orders 10000 --pages 40
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from shopify_backfill.config import Settings
from shopify_backfill.shopify import queries
from shopify_backfill.shopify.schema import load_schema
from shopify_emulator.app import create_emulator_app
from shopify_emulator.store import ShopStore
from shopify_emulator.throttle import ManualClock
from shopify_emulator.transport import EmulatorTransport

NOW = datetime(2026, 7, 1, tzinfo=UTC)


def page_through(store: ShopStore, schema: Any, *, generic: bool, pages: int) -> dict[str, Any]:
    """Request up to ``pages`` pages on a fresh app; times and a digest of the bodies."""
    clock = ManualClock()
    app = create_emulator_app(store, schema=schema, clock=clock)
    app.state.runtime.executor.use_plans = not generic
    headers = {"X-Shopify-Access-Token": app.state.runtime.seed_grant.token}
    variables: dict[str, Any] = {
        "first": 250,
        "after": None,
        "query": queries.window_filter(datetime(2000, 1, 1, tzinfo=UTC), NOW),
        "lineItemsFirst": 250,
        "shippingFirst": 10,
    }
    digest = hashlib.sha256()
    times: list[float] = []
    cpu_started = time.process_time()
    orders = 0
    transport = EmulatorTransport(app)
    with httpx.Client(transport=transport, base_url="https://emulator", headers=headers) as client:
        for _ in range(pages):
            clock.advance(3600)
            started = time.perf_counter()
            response = client.post(
                "/admin/api/2026-07/graphql.json",
                json={"query": queries.ORDERS_PAGE_QUERY, "variables": variables},
            )
            times.append(time.perf_counter() - started)
            digest.update(response.content)
            body = response.json()
            assert "errors" not in body, body["errors"]
            page = body["data"]["orders"]
            orders += len(page["nodes"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            variables["after"] = page["pageInfo"]["endCursor"]
    cpu = time.process_time() - cpu_started
    app.state.runtime.bulk.shutdown()
    transport.close()
    steady = times[1:] or times
    return {
        "path": "generic" if generic else "plans",
        "pages": len(times),
        "orders": orders,
        "first_page_ms": round(times[0] * 1000, 1),
        "median_page_ms": round(statistics.median(steady) * 1000, 1),
        "mean_page_ms": round(statistics.fmean(steady) * 1000, 1),
        "orders_per_s": round(orders / sum(times)),
        "cpu_ms_per_page": round(cpu / len(times) * 1000, 1),
        "digest": digest.hexdigest(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--store-dir", type=Path, help="keep and reuse generated stores here")
    parser.add_argument("--out", type=Path, default=Path("var/bench/emulator_pages.json"))
    args = parser.parse_args()
    settings = Settings()
    schema = load_schema(settings.schema_path(), settings.cache_dir())
    with tempfile.TemporaryDirectory(prefix="emulator-pages-") as tmp:
        folder = args.store_dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        customers = max(1, args.orders // 5)
        path = folder / f"store-{args.orders}-{customers}.sqlite"
        if path.exists():
            store = ShopStore.open(path)
        else:
            store = ShopStore.generate(
                path, customers=customers, orders=args.orders, seed=1, now=NOW
            )
        rows = [
            page_through(store, schema, generic=True, pages=args.pages),
            page_through(store, schema, generic=False, pages=args.pages),
        ]
        store.close()
    print(" | ".join(f"{key:>16}" for key in ("metric", "generic", "plans")))
    for key in rows[0]:
        if key != "digest":
            print(" | ".join(f"{value!s:>16}" for value in (key, rows[0][key], rows[1][key])))
    speedup = rows[0]["mean_page_ms"] / rows[1]["mean_page_ms"]
    same = rows[0]["digest"] == rows[1]["digest"]
    print(f"mean page time generic/plans: {speedup:.2f}x")
    print(f"byte-identical responses from both paths: {same}")
    assert same, (rows[0]["digest"], rows[1]["digest"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"generic": rows[0], "plans": rows[1]}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
