"""Many stores at once: 20 small shops and one large one, enqueued together (the large one
first) on two real Celery workers over PostgreSQL, all complete; the small ones are not
all kept waiting behind the large one; and no request is throttled.

Why this shape:

* **Fairness** is ``sharded._next``: at most ``SHARD_PARALLELISM`` (here 2) shards of one
  backfill are queued or running, and its next shard is queued only when one finishes,
  behind whatever the other stores queued meanwhile. The large store is cut into 6 slices
  per stream (``SHARD_ORDERS=250`` for the 1,350 of its 3,000 orders in the window; the
  small ones get the minimum, 2), so it needs 18 shards in 9 turns of 2 while a small
  store needs 6 in 3. It is enqueued *first*: a plain FIFO without the cap would queue
  its 12 extraction shards ahead of every small store's. The test also samples the large
  store's shards while it runs and checks no more than 2 were ever in flight.
* **One emulator process per store** (21), each with its own store file, token and cost
  bucket, as 21 shops are. ``emulator serve`` has no shop-domain option (every store is
  ``emulator-shop.myshopify.com``) and a backfill is unique per (workspace, shop), so each
  store is connected in its own workspace. The shared pacer keys a bucket by shop domain
  *and* token digest (``shared_pacing.bucket_key``), so each store gets its own token:
  with one domain and one token, 21 different buckets would share one mirror in Redis.
* **Throttling**: the emulators run Shopify's *standard* plan (a 2,000-point bucket
  refilling 100 points a second, the smallest Shopify has) and the workers share each
  shop's budget through ``SHOPIFY_BACKFILL_PACING_REDIS_URL``. Every emulator counts the
  requests it answered and how many it refused as ``THROTTLED`` (GraphQL) or 429 (REST)
  (``GET /emulator/stats``); the acceptance is zero refused, not "refused, then retried
  after Shopify's advice". Each emulator must also have answered requests, so the zero
  is a count of something. The large store has 1,350 orders in the backfill window,
  under ``bulk_min_orders`` (2,000), so it is read in pages of up to 250: two workers
  paging one shop at once is where the bucket is contended (without the shared pacer,
  each process pacing itself, this test saw 5 ``THROTTLED`` answers from the large
  store; bulk reads spend too little of the budget to tell the two apart).

Wall time is mostly the 21 emulators starting (about 1.5 s of CPU each: imports, the
Admin schema, the store) and the workers' own CPU; the whole test spends about 90 s of
CPU, so about 45-50 s on two idle cores and more on a shared machine. Bulk polling is
set to start at 0.2 s in case a store is ever read in bulk.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import redis

from backfill.served import Served, cli_env, connect_served, serve_emulator
from shopify_backfill.backfill import requests
from shopify_backfill.backfill.shards import list_shards
from shopify_backfill.backfill.store import BackfillRow, get_backfill
from shopify_backfill.config import Settings
from shopify_backfill.wiring import build_services
from shopify_backfill.workers.celery_app import create_celery_app, enqueue_backfill
from shopify_emulator.config import EmulatorConfig

from .sharding import scratch_database, start_workers, stop_workers
from .test_sharded import BROKER

pytestmark = pytest.mark.postgres

SMALL_STORES = 20
SMALL = (10, 40)
"""Customers and orders of each small store."""
LARGE = (300, 3_000)
PARALLELISM = 2
SHARD_ORDERS = 250
"""Orders per slice: 6 slices per stream for the large store (1,350 of its orders are in
the backfill window), the minimum 2 for a small one."""
PLAN = "standard"
ADMIN = {"X-Emulator-Admin": EmulatorConfig().admin_secret}


@dataclass(frozen=True)
class Store:
    name: str
    customers: int
    orders: int
    seed: int


@dataclass
class Outcome:
    store: Store
    backfill_id: int
    status: str = ""
    failure: str | None = None
    finished_at: datetime | None = None
    mode: str | None = None
    orders_imported: int = 0
    orders_accounted: int = 0
    """Orders the report puts under any outcome (imported, already imported, test, ...)."""
    orders_total: int = 0


@contextmanager
def serve_all(folder: Path, stores: list[Store], run: str) -> Iterator[list[Served]]:
    """Start every store's emulator at once (one by one would be 21 startups in a row),
    each with its own token, and stop them all, also at once."""
    contexts: list[AbstractContextManager[Served]] = [
        serve_emulator(
            folder / store.name,
            customers=store.customers,
            orders=store.orders,
            seed=store.seed,
            token=f"shpat_many_{run}_{store.name}",
            plan=PLAN,
        )
        for store in stores
    ]
    with ThreadPoolExecutor(len(contexts)) as pool:
        started = [pool.submit(context.__enter__) for context in contexts]
        try:
            yield [future.result() for future in started]
        finally:
            running = [c for c, f in zip(contexts, started, strict=True) if f.exception() is None]
            list(pool.map(lambda context: context.__exit__(None, None, None), running))


def connect(data: Path, served: Served, url: str, workspace: str) -> BackfillRow:
    """Connect one store in its own workspace and start its backfill (``in_progress``)."""
    row = connect_served(data, served, workspace=workspace)
    services = build_services(Settings(data_dir=data, database_url=url))
    try:
        with services.engine.begin() as conn:
            return requests.start(conn, row, now=datetime.now(UTC))
    finally:
        services.dispose()


def emulator_stats(served: Served) -> dict[str, dict[str, int]]:
    answer = httpx.get(f"{served.api_url}/emulator/stats", headers=ADMIN, timeout=10)
    answer.raise_for_status()
    stats: dict[str, dict[str, int]] = answer.json()
    return stats


def wait_all(data: Path, outcomes: list[Outcome], large: int, logs: Path) -> int:
    """Poll every backfill until each one has finished; returns the most shards of the
    large backfill seen queued or running at one time."""
    services = build_services(Settings(data_dir=data))
    most_in_flight = 0
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            with services.engine.connect() as conn:
                rows = {o.backfill_id: get_backfill(conn, o.backfill_id) for o in outcomes}
                shards = list_shards(conn, large)
            in_flight = sum(1 for shard in shards if shard.state in ("queued", "running"))
            most_in_flight = max(most_in_flight, in_flight)
            if all(_finished(row) for row in rows.values()):
                for outcome in outcomes:
                    _record(outcome, rows[outcome.backfill_id])
                return most_in_flight
            time.sleep(0.25)
    finally:
        services.dispose()
    tails = "\n".join(path.read_text()[-3000:] for path in sorted(logs.glob("worker-*.log")))
    pytest.fail(f"the backfills did not all finish in 240 s:\n{tails}")


def _finished(row: BackfillRow) -> bool:
    return row.status in ("completed", "failed") and row.progress.phase in ("done", "failed")


def _record(outcome: Outcome, row: BackfillRow) -> None:
    outcome.status = row.status
    outcome.failure = row.failure_reason
    outcome.finished_at = row.finished_at
    outcome.mode = row.extraction_mode
    outcome.orders_total = row.progress.orders_total or 0
    orders = (row.report or {}).get("orders", {})
    outcome.orders_imported = int(orders.get("imported", 0))
    outcome.orders_accounted = sum(int(value) for value in orders.values())


def test_twenty_small_stores_and_a_large_one_all_complete_fairly_and_unthrottled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert redis.Redis.from_url(BROKER, socket_timeout=2).ping()
    run = secrets.token_hex(4)
    queue = f"many-{run}"
    large = Store("large", *LARGE, seed=100)
    small = [Store(f"small-{n:02d}", *SMALL, seed=n + 1) for n in range(SMALL_STORES)]
    stores = [large, *small]
    data = tmp_path / "data"
    began = time.monotonic()
    with scratch_database() as url, serve_all(tmp_path / "emu", stores, run) as served:
        serving = time.monotonic()
        env = cli_env(
            data,
            database_url=url,
            celery_broker_url=BROKER,
            celery_queue=queue,
            pacing_redis_url=BROKER,
            shards="0",
            shard_orders=str(SHARD_ORDERS),
            shard_parallelism=str(PARALLELISM),
            lease_seconds="10",
            bulk_poll_seconds="0.2",
            bulk_poll_max_seconds="1",
        )
        monkeypatch.setenv("SHOPIFY_BACKFILL_DATABASE_URL", url)
        first = connect(data, served[0], url, large.name)
        outcomes = [Outcome(large, first.id)]
        for store, shop in zip(small, served[1:], strict=True):
            outcomes.append(Outcome(store, connect(data, shop, url, store.name).id))
        connected = time.monotonic()
        workers = start_workers(2, env, tmp_path)
        try:
            app = create_celery_app(
                Settings(data_dir=data, celery_broker_url=BROKER, celery_queue=queue)
            )
            for outcome in outcomes:
                enqueue_backfill(app, outcome.backfill_id)
            app.close()
            most_in_flight = wait_all(data, outcomes, first.id, tmp_path)
            ran = time.monotonic()
        finally:
            stop_workers(workers)
        stats = {
            store.name: emulator_stats(shop) for store, shop in zip(stores, served, strict=True)
        }
        services = build_services(Settings(data_dir=data))
        try:
            with services.engine.connect() as conn:
                large_shards = list_shards(conn, first.id)
        finally:
            services.dispose()

    failed = [(o.store.name, o.failure) for o in outcomes if o.status != "completed"]
    assert not failed, failed
    for outcome in outcomes:
        assert outcome.orders_accounted == outcome.orders_total > 0, outcome
        assert outcome.orders_imported > 0, outcome
    assert outcomes[0].mode == "paginated", "the large store pages (see the docstring)"
    slices = sum(1 for shard in large_shards if shard.stage == "extract" and shard.kind == "orders")
    assert slices > PARALLELISM, f"the large store needs more shards than {PARALLELISM}"
    assert 0 < most_in_flight <= PARALLELISM, most_in_flight

    large_done = outcomes[0].finished_at
    assert large_done is not None
    before = [o.store.name for o in outcomes[1:] if o.finished_at and o.finished_at < large_done]
    assert before, "every small store finished after the large one, which was enqueued first"

    for name, counts in stats.items():
        assert counts["graphql"]["answered"] > 0, f"{name}'s emulator answered nothing"
    throttled = {
        name: (counts["graphql"]["throttled"], counts["rest"]["throttled"])
        for name, counts in stats.items()
        if counts["graphql"]["throttled"] or counts["rest"]["throttled"]
    }
    assert not throttled, f"THROTTLED / 429 answers (graphql, rest) per store: {throttled}"
    print(
        f"\n{len(before)}/{SMALL_STORES} small stores finished before the large one; "
        f"large store in flight at most {most_in_flight}; GraphQL requests answered: "
        f"{sum(c['graphql']['answered'] for c in stats.values())}, throttled: 0; "
        f"emulators up {serving - began:.1f} s, connected {connected - serving:.1f} s, "
        f"backfills {ran - connected:.1f} s, total {time.monotonic() - began:.1f} s"
    )
