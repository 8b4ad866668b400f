"""The webhook receiver: deliveries per second it takes, and the time to its 200.

``shopify-backfill serve`` runs as its own process on a fresh data folder with one
connected shop, exactly as an operator starts it (access log on, the background
worker applying what it records). A load generator in this process, over keep-alive
connections, sends signed ``orders/create`` deliveries (a real-sized order body, a fresh
``X-Shopify-Webhook-Id`` each), each verified, parsed, looked up and recorded before the
200, then applied in the server's background.

1. **Paced**: an open-loop schedule at ``--rate`` deliveries/s for ``--seconds`` (each
   request leaves at its scheduled time, whatever the previous answers did): the p50,
   p99 and max time to the 200, the goal being p99 under 100 ms at 200/s.
2. **Baseline**, the same schedule against ``GET /favicon.ico`` on the same server: what
   the HTTP stack alone costs on this machine, so (1) minus (2) is the receiver's work.
3. **Throughput**: ``--concurrency`` senders back to back for ``--seconds``: deliveries
   answered 200 per second.

Each runs twice: with the page only recording (``LIVE_APPLY_IN_PAGE=false``, the
receiver's own cost: what Shopify waits for when a worker applies the deliveries) and
with the page also applying them in its background (the embedded default).

    .venv/bin/python bench/webhooks.py
    .venv/bin/python bench/webhooks.py --rate 400 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from shopify_backfill.config import Settings
from shopify_backfill.live.signature import sign
from shopify_backfill.profiles.connections import save_connection
from shopify_backfill.profiles.workspaces import create_workspace
from shopify_backfill.wiring import build_services

SHOP = "bench-shop.myshopify.com"
SECRET = "bench-webhook-secret"  # noqa: S105 - the bench's own app secret
REPO = Path(__file__).resolve().parents[1]


def _order(n: int) -> bytes:
    """An order body of the size Shopify sends (three line items, a customer, addresses)."""
    address = {
        "first_name": "Ana",
        "last_name": "Lopez",
        "address1": "12 Rue de la Paix",
        "city": "Paris",
        "zip": "75002",
        "country": "France",
        "country_code": "FR",
    }
    return orjson.dumps(
        {
            "id": 5_000_000_000 + n,
            "admin_graphql_api_id": f"gid://shopify/Order/{5_000_000_000 + n}",
            "name": f"#{1000 + n}",
            "order_number": 1000 + n,
            "email": f"buyer{n}@example.com",
            "created_at": "2026-12-08T10:00:00-05:00",
            "updated_at": "2026-12-08T10:00:00-05:00",
            "currency": "EUR",
            "total_price": "120.00",
            "total_price_set": {"shop_money": {"amount": "120.00", "currency_code": "EUR"}},
            "tags": "web, first-order",
            "source_name": "web",
            "test": False,
            "customer": {
                "id": 7_000_000_000 + n,
                "email": f"buyer{n}@example.com",
                "first_name": "Ana",
                "last_name": "Lopez",
                "created_at": "2026-12-08T09:58:00-05:00",
                "updated_at": "2026-12-08T10:00:00-05:00",
                "default_address": address,
            },
            "shipping_address": address,
            "billing_address": address,
            "line_items": [
                {
                    "id": 9_000_000_000 + 3 * n + i,
                    "title": f"Product {i}",
                    "quantity": 1 + i,
                    "sku": f"SKU-{i}",
                    "product_id": 8_000_000 + i,
                    "variant_id": 8_100_000 + i,
                    "price": "40.00",
                    "price_set": {"shop_money": {"amount": "40.00", "currency_code": "EUR"}},
                    "properties": [],
                }
                for i in range(3)
            ],
        }
    )


def _headers(body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Hmac-Sha256": sign(SECRET.encode(), body),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _prepare(data: Path) -> None:
    services = build_services(Settings(data_dir=data))
    try:
        with services.engine.begin() as conn:
            workspace_id = create_workspace(conn, "bench")
            save_connection(
                conn,
                services.cipher,
                workspace_id=workspace_id,
                shop_domain=SHOP,
                token=SecretStr("shpat_bench"),
                scopes=("read_orders", "read_all_orders", "read_customers"),
                api_url=f"https://{SHOP}",
                api_version=services.settings.api_version,
            )
    finally:
        services.dispose()


def _serve(data: Path, port: int, *, apply_in_page: bool) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_BACKFILL_")}
    env.update(
        SHOPIFY_BACKFILL_DATA_DIR=str(data),
        SHOPIFY_BACKFILL_APP_SECRET=SECRET,
        SHOPIFY_BACKFILL_LIVE_APPLY_IN_PAGE="true" if apply_in_page else "false",
    )
    command = [sys.executable, "-m", "shopify_backfill", "serve", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/favicon.ico", timeout=1)
            return process
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the partner page did not start") from None
            time.sleep(0.2)


class _Senders:
    """Keep-alive clients, one per sending thread."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._local = threading.local()

    def client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(base_url=self.base, timeout=30)
            self._local.client = client
        return client


def _one(senders: _Senders, n: int, baseline: bool) -> tuple[float, int]:
    started = time.perf_counter()
    if baseline:
        response = senders.client().get("/favicon.ico")
    else:
        body = _order(n)
        response = senders.client().post("/webhooks/shopify", content=body, headers=_headers(body))
    return time.perf_counter() - started, response.status_code


def paced(base: str, rate: float, seconds: float, *, baseline: bool, offset: int) -> dict[str, Any]:
    """Open loop on one event loop: a request leaves at each scheduled instant.

    One asyncio thread rather than a pool of threads, so the generator itself does not
    queue requests behind its own GIL (with 64 threads the static file's p99 was ~600 ms
    on this machine, the generator's delay, not the server's)."""
    return asyncio.run(_paced(base, rate, seconds, baseline=baseline, offset=offset))


async def _paced(
    base: str, rate: float, seconds: float, *, baseline: bool, offset: int
) -> dict[str, Any]:
    total = int(rate * seconds)
    bodies = [_order(offset + i) for i in range(total)] if not baseline else []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def one(i: int) -> tuple[float, int]:
            started = time.perf_counter()
            if baseline:
                response = await client.get("/favicon.ico")
            else:
                body = bodies[i]
                response = await client.post(
                    "/webhooks/shopify", content=body, headers=_headers(body)
                )
            return time.perf_counter() - started, response.status_code

        start = time.perf_counter() + 0.2
        tasks = []
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        results = await asyncio.gather(*tasks)
    times = sorted(t for t, _ in results)
    return {
        "sent": total,
        "ok": sum(1 for _, status in results if status == 200),
        "p50": statistics.median(times),
        "p99": times[int(0.99 * (len(times) - 1))],
        "max": times[-1],
    }


def throughput(base: str, concurrency: int, seconds: float, offset: int) -> dict[str, Any]:
    senders = _Senders(base)
    stop = time.perf_counter() + seconds
    counts = [0] * concurrency
    failures = [0] * concurrency

    def loop(index: int) -> None:
        n = offset + index * 10_000_000
        while time.perf_counter() < stop:
            _, status = _one(senders, n, baseline=False)
            n += 1
            if status == 200:
                counts[index] += 1
            else:
                failures[index] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(loop, range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"per_second": sum(counts) / elapsed, "failed": sum(failures)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="deliveries per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", type=Path, default=Path("var/bench/webhooks.json"))
    args = parser.parse_args()
    runs: dict[str, dict[str, Any]] = {}
    for label, apply_in_page in (("record only", False), ("record + apply in page", True)):
        with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as scratch:
            data = Path(scratch) / "data"
            _prepare(data)
            port = _free_port()
            server = _serve(data, port, apply_in_page=apply_in_page)
            base = f"http://127.0.0.1:{port}"
            try:
                paced(base, 50, 1, baseline=False, offset=0)  # warm-up, not reported
                run = {"paced": paced(base, args.rate, args.seconds, baseline=False, offset=10**5)}
                if not apply_in_page:
                    run["baseline"] = paced(base, args.rate, args.seconds, baseline=True, offset=0)
                run["throughput"] = throughput(base, args.concurrency, args.seconds, 10**6)
            finally:
                server.terminate()
                server.wait(timeout=30)
            runs[label] = run
    print(f"{args.rate:.0f} deliveries/s for {args.seconds:g} s (open loop), time to the answer:")
    print(f"{'':34} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'200s':>12} {'back to back':>14}")
    rows = [(label, run["paced"], run["throughput"]) for label, run in runs.items()]
    rows.append(("baseline GET /favicon.ico", runs["record only"]["baseline"], None))
    for label, row, burst in rows:
        most = f"{burst['per_second']:9.0f} /s" if burst else ""
        print(
            f"{label:34} {row['p50'] * 1000:8.1f} {row['p99'] * 1000:8.1f} "
            f"{row['max'] * 1000:8.1f} {row['ok']:>6}/{row['sent']:<5} {most:>14}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    figures = {"rate": args.rate, "runs": runs}
    args.json.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
