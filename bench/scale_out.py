"""Sharded backfills on PostgreSQL: how wall time scales with Celery worker processes.

Part 1, one large store. One emulator process serves a generated store (50,000 customers
and 200,000 orders by default, plan enterprise) with ``--reuse-bulk-results``. The number
of slices is fixed (``SHOPIFY_BACKFILL_SHARDS``, ``--shards``, default 4), so every run
cuts the same slices and sends the same bulk queries: a first, unmeasured sharded run has
the emulator render each slice's file, and the measured runs download files already
rendered, as on Shopify, where the export runs on Shopify's machines. Each measured run
(1, 2 and 4 worker processes by default) writes into a fresh scratch PostgreSQL database
and data folder: connect the shop, ``requests.start``, start K ``shopify-backfill worker
--concurrency 1`` processes on a queue of their own over Redis, wait until each answers
Celery's ``ping``, then enqueue the backfill (``enqueue_backfill``) and time from there
to the backfill's ``finished_at``. Printed per run: workers, wall seconds, the orders in
the backfill's window (the generated history is longer than the window: 20,000 orders
give about 9,000) and their rate, the speed-up over the 1-worker run of the same
invocation, when each stage ended (counted from the enqueue: planned and partitioned as
first seen by polling the shard rows every 0.2 s, extracted and loaded as the last shard
row's ``updated_at`` of that stage, completed as ``finished_at``), and the CPU seconds
spent meanwhile by the workers (their children included), the emulator, the PostgreSQL
server (every ``postgres`` process plus what the postmaster reaped from exited backends:
the whole server, other databases too), the Redis server and this script's polling;
"other" is the rest of the machine's busy time (other tenants of a shared machine: a run
with a large "other" measured the neighbours too), "offered" the cores times the wall
time. A run also says how many bulk files the emulator had to render anew (0 when the
slices were reused). A speed-up above K is possible: one worker waits out each slice's
bulk poll in turn, several overlap those waits.

Part 2, many stores (``--stores``, 0 skips it). As many emulator processes, one store of
``--store-orders`` orders each, with its own shop domain (``bench-store-NN``; the store
file is generated here with that domain and served with ``--db``) and its own token (so
each has its own shared cost bucket). Each is connected in a workspace of its own of ONE
scratch database; all backfills are started and enqueued together onto one queue served
by ``--many-workers`` (default 2) workers. Slices are the automatic ones (``--store-shards
0``). Printed: total wall time, orders/s over all stores, each store's finish time in
finishing order (fairness: a store that waits behind the others shows up last by far),
and the same CPU figures. An unmeasured warm-up of the same part renders the bulk files
first (``--no-many-warmup`` skips it). The emulators' memory is printed (about
150 MiB each); idle, they cost only their start-up CPU. A smaller machine can give
``--stores 8``.

Redis on 127.0.0.1:6379 is the broker (``--broker``, db 9) and the pacing store
(``--pacing``, db 10); PostgreSQL is ``SHOPIFY_BACKFILL_BENCH_POSTGRES_URL`` (default
``postgres@127.0.0.1:5432/test``), where each run's database is created and dropped.

    .venv/bin/python bench/scale_out.py                                   # 200,000 orders
    .venv/bin/python bench/scale_out.py --orders 20000 --stores 4 --store-orders 2000
    .venv/bin/python bench/scale_out.py --workers 1,2 --stores 0 --keep var/bench/scale
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import sqlalchemy as sa
from celery import Celery
from pydantic import SecretStr

from backfill_e2e import NOW, POSTGRES_URL, REPO, _free_port, _scratch_database
from shopify_backfill.backfill import requests
from shopify_backfill.backfill.status import read_status
from shopify_backfill.backfill.store import get_backfill
from shopify_backfill.backfill.tables import backfill_shards, backfills
from shopify_backfill.config import API_VERSION, Settings
from shopify_backfill.profiles.connections import save_connection
from shopify_backfill.profiles.workspaces import create_workspace
from shopify_backfill.shopify.verify import verify_token
from shopify_backfill.wiring import build_services
from shopify_backfill.workers.celery_app import create_celery_app, enqueue_backfill
from shopify_emulator.store import ShopStore

CLI = [sys.executable, "-m", "shopify_backfill"]
BIG_DOMAIN = "bench-scale.myshopify.com"
POLL_SECONDS = 0.2


# ---------------------------------------------------------------------------- emulators


@dataclass
class Emulator:
    """One served store: its process, base URL, shop domain and seeded token."""

    folder: Path
    domain: str
    token: str
    process: subprocess.Popen[bytes]
    base: str

    def rendered(self) -> int:
        """Bulk result files the emulator has rendered and kept so far."""
        return len(list((self.folder / "shop-bulk").glob("rendered-*.jsonl")))

    def cpu(self) -> float:
        return _cpu([self.process.pid])


def _start_emulator(
    folder: Path, *, domain: str, customers: int, orders: int, seed: int, token: str
) -> Emulator:
    """Generate the store file with ``domain`` (once; kept with ``--keep``), then serve it."""
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / "shop.sqlite"
    if not store.exists():
        ShopStore.generate(
            store,
            customers=customers,
            orders=orders,
            seed=seed,
            now=NOW,
            plan="enterprise",
            shop_domain=domain,
        ).close()
    port = _free_port()
    command = [
        *CLI,
        "emulator",
        "serve",
        "--port",
        str(port),
        "--db",
        str(store),
        "--token",
        token,
        "--plan",
        "enterprise",
        "--now",
        NOW.isoformat(),
        "--reuse-bulk-results",
    ]
    log = (folder / "emulator.log").open("wb")
    process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return Emulator(folder, domain, token, process, f"http://127.0.0.1:{port}")


def _wait_served(emulator: Emulator, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(f"{emulator.base}/admin/api/{API_VERSION}/shop.json", timeout=1)
            return
        except httpx.TransportError:
            if emulator.process.poll() is not None or time.monotonic() > deadline:
                log = (emulator.folder / "emulator.log").read_text()[-2000:]
                raise RuntimeError(
                    f"the emulator of {emulator.domain} did not start:\n{log}"
                ) from None
            time.sleep(0.2)


def _stop(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def _served(emulators: list[Emulator]) -> Iterator[list[Emulator]]:
    """Wait until every emulator (started in parallel) answers; stop them all afterwards."""
    try:
        for emulator in emulators:
            _wait_served(emulator)
        yield emulators
    finally:
        _stop([emulator.process for emulator in emulators])


# ---------------------------------------------------------------------------- CPU


def _cpu(pids: Sequence[int]) -> float:
    """CPU seconds of these processes, their live children and the children they reaped."""
    total = 0.0
    for pid in pids:
        try:
            process = psutil.Process(pid)
            family = [process, *process.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for member in family:
            try:
                times = member.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system + times.children_user + times.children_system
    return total


def _own_cpu() -> float:
    """CPU seconds of this script alone (its children are the workers and emulators)."""
    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


def _server_cpu(name: str) -> float | None:
    """CPU seconds of every process called ``name`` (a server and its forked backends).

    A backend that exits takes its CPU time to its parent's reaped-children counters, so
    the sum over live processes plus those counters only grows: a delta over a run is
    what the server spent in it (for every client of the server, not only this bench).
    """
    total, seen = 0.0, False
    for process in psutil.process_iter(["name"]):
        if process.info["name"] != name:
            continue
        try:
            times = process.cpu_times()
            parent = process.parent()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        seen = True
        total += times.user + times.system
        if parent is None or parent.name() != name:
            total += times.children_user + times.children_system
    return total if seen else None


def _machine_busy() -> float:
    """CPU seconds every core of the machine spent busy so far (any process, any user)."""
    times = psutil.cpu_times()._asdict()
    # idle and iowait are not busy; Linux counts guest time inside user time already.
    spare = ("idle", "iowait", "guest", "guest_nice")
    return float(sum(v for k, v in times.items() if k not in spare))


@dataclass
class CpuSample:
    workers: float
    emulators: float
    postgres: float | None
    redis: float | None
    bench: float
    machine: float
    at: float

    @classmethod
    def take(cls, workers: Sequence[int], emulators: Sequence[Emulator]) -> CpuSample:
        return cls(
            workers=_cpu(workers),
            emulators=sum(emulator.cpu() for emulator in emulators),
            postgres=_server_cpu("postgres"),
            redis=_server_cpu("redis-server"),
            bench=_own_cpu(),
            machine=_machine_busy(),
            at=time.monotonic(),
        )

    def since(self, before: CpuSample) -> dict[str, float | None]:
        def delta(after: float | None, start: float | None) -> float | None:
            return None if after is None or start is None else round(after - start, 1)

        spent = {
            "workers": delta(self.workers, before.workers),
            "emulators": delta(self.emulators, before.emulators),
            "postgres": delta(self.postgres, before.postgres),
            "redis": delta(self.redis, before.redis),
            "bench": delta(self.bench, before.bench),
        }
        machine = self.machine - before.machine
        known = sum(value for value in spent.values() if value is not None)
        return {
            **spent,
            "other": round(max(0.0, machine - known), 1),
            "machine": round(machine, 1),
            "offered": round((self.at - before.at) * (psutil.cpu_count() or 1), 1),
        }


# ---------------------------------------------------------------------------- one run


@dataclass(frozen=True)
class RunConfig:
    """What every run of an invocation shares: broker, pacing store, mode, timeout."""

    broker: str
    pacing: str
    mode: str
    timeout: float


@dataclass
class StoreResult:
    """One backfill of a run: when each stage ended, counted from the enqueue."""

    domain: str
    orders: int
    customers: int
    planned: float | None = None
    extracted: float | None = None
    partitioned: float | None = None
    loaded: float | None = None
    completed: float = 0.0


@dataclass
class RunResult:
    label: str
    workers: int
    stores: list[StoreResult]
    wall: float
    orders: int
    cpu: dict[str, float | None]
    rendered: int

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.wall if self.wall else 0.0


def _connect(data: Path, url: str, emulators: Sequence[Emulator]) -> list[int]:
    """Each store in a workspace of its own of one database; returns the started backfills."""
    services = build_services(Settings(data_dir=data, database_url=url))
    started: list[int] = []
    try:
        for index, emulator in enumerate(emulators):
            token = SecretStr(emulator.token)
            scopes = verify_token(
                shop_domain=emulator.domain,
                token=token,
                api_url=emulator.base,
                api_version=services.settings.api_version,
            )
            with services.engine.begin() as conn:
                workspace_id = create_workspace(conn, f"store-{index:02d}")
                save_connection(
                    conn,
                    services.cipher,
                    workspace_id=workspace_id,
                    shop_domain=emulator.domain,
                    token=token,
                    scopes=scopes,
                    api_url=emulator.base,
                    api_version=services.settings.api_version,
                    now=NOW,
                )
                row = requests.open_backfill(
                    conn, workspace_id=workspace_id, shop_domain=emulator.domain, now=NOW
                )
                started.append(requests.start(conn, row, now=datetime.now(UTC)).id)
    finally:
        services.dispose()
    return started


def _worker_env(data: Path, url: str, queue: str, shards: int, config: RunConfig) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_BACKFILL_")}
    env.update(
        PYTHONUNBUFFERED="1",
        SHOPIFY_BACKFILL_DATA_DIR=str(data),
        SHOPIFY_BACKFILL_DATABASE_URL=url,
        SHOPIFY_BACKFILL_CELERY_BROKER_URL=config.broker,
        SHOPIFY_BACKFILL_CELERY_QUEUE=queue,
        SHOPIFY_BACKFILL_SHARDS=str(shards),
        SHOPIFY_BACKFILL_EXTRACTION_MODE=config.mode,
        SHOPIFY_BACKFILL_BULK_POLL_SECONDS="0.5",
        SHOPIFY_BACKFILL_BULK_POLL_MAX_SECONDS="2",
        SHOPIFY_BACKFILL_PACING_REDIS_URL=config.pacing,
    )
    return env


def _start_workers(count: int, env: dict[str, str], data: Path) -> list[subprocess.Popen[bytes]]:
    queue = env["SHOPIFY_BACKFILL_CELERY_QUEUE"]
    workers = []
    for index in range(count):
        log = (data / f"worker-{index}.log").open("wb")
        command = [*CLI, "worker", "--concurrency", "1", "--queues", queue]
        command += ["--hostname", f"{queue}-{index}@%h"]
        workers.append(
            subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        )
        log.close()
    return workers


def _wait_ready(app: Celery, queue: str, workers: Sequence[subprocess.Popen[bytes]]) -> None:
    """Until every worker answers Celery's ``ping`` (it consumes its queue by then)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if any(worker.poll() is not None for worker in workers):
            raise RuntimeError("a worker exited while starting; see its worker-N.log")
        replies = app.control.ping(timeout=1.0) or []
        names = {name for reply in replies for name in reply if name.startswith(f"{queue}-")}
        if len(names) >= len(workers):
            return
    raise RuntimeError(f"the workers did not answer ping within 180 s ({queue})")


def _seconds(moment: datetime | None, origin: datetime) -> float | None:
    return None if moment is None else round((moment - origin).total_seconds(), 2)


def _watch(
    engine: sa.Engine, ids: Sequence[int], origin: datetime, timeout: float, data: Path
) -> dict[int, dict[str, float]]:
    """Poll the backfills and their shard rows until every one completed (or one failed).

    Returns, per backfill, when its shards first appeared (planned) and when its load
    shards first appeared (partitioned), in seconds from ``origin``.
    """
    seen: dict[int, dict[str, float]] = {backfill_id: {} for backfill_id in ids}
    waiting = set(ids)
    deadline = time.monotonic() + timeout
    query = sa.select(backfill_shards.c.backfill_id, backfill_shards.c.stage).distinct()
    while waiting:
        if time.monotonic() > deadline:
            logs = "\n".join(p.read_text()[-3000:] for p in sorted(data.glob("worker-*.log")))
            raise RuntimeError(f"{len(waiting)} backfill(s) unfinished after {timeout} s\n{logs}")
        elapsed = (datetime.now(UTC) - origin).total_seconds()
        with engine.connect() as conn:
            for backfill_id, stage in conn.execute(query):
                mark = "planned" if stage == "extract" else "partitioned"
                if backfill_id in seen:
                    seen[backfill_id].setdefault(mark, round(elapsed, 2))
            statuses = conn.execute(
                sa.select(backfills.c.id, backfills.c.status).where(backfills.c.id.in_(waiting))
            ).all()
            for backfill_id, status in statuses:
                if status not in ("completed", "failed"):
                    continue
                row = get_backfill(conn, backfill_id)
                if row.status == "failed":
                    raise RuntimeError(f"backfill {backfill_id} failed: {row.failure_reason}")
                if row.progress.phase == "done":
                    waiting.discard(backfill_id)
        time.sleep(POLL_SECONDS)
    return seen


def _results(
    engine: sa.Engine, ids: Sequence[int], origin: datetime, seen: dict[int, dict[str, float]]
) -> list[StoreResult]:
    stages = (
        sa.select(backfill_shards.c.stage, sa.func.max(backfill_shards.c.updated_at))
        .where(backfill_shards.c.backfill_id == sa.bindparam("backfill"))
        .group_by(backfill_shards.c.stage)
    )
    results = []
    with engine.connect() as conn:
        for backfill_id in ids:
            row = get_backfill(conn, backfill_id)
            view = read_status(conn, backfill_id)
            orders, customers = view["orders"], view["customers"]
            if orders["done"] != orders["total"] or not orders["total"]:
                raise RuntimeError(f"{row.shop_domain}: {orders['done']} of {orders['total']}")
            ended = {stage: at for stage, at in conn.execute(stages, {"backfill": backfill_id})}
            results.append(
                StoreResult(
                    domain=row.shop_domain,
                    orders=int(orders["total"]),
                    customers=int(customers["done"]),
                    planned=seen[backfill_id].get("planned"),
                    extracted=_seconds(ended.get("extract"), origin),
                    partitioned=seen[backfill_id].get("partitioned"),
                    loaded=_seconds(ended.get("load"), origin),
                    completed=_seconds(row.finished_at, origin) or 0.0,
                )
            )
    return results


def run(
    label: str,
    emulators: Sequence[Emulator],
    workers: int,
    shards: int,
    config: RunConfig,
    root: Path,
) -> RunResult:
    """One measured run: fresh database and data folder, K workers, every store at once."""
    data = root / f"run-{label}"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    queue = f"bench-scale-{label}-{secrets.token_hex(3)}"
    rendered_before = sum(emulator.rendered() for emulator in emulators)
    with _scratch_database(f"scale_{label.replace('-', '_')}") as url, ExitStack() as stack:
        ids = _connect(data, url, emulators)
        engine = sa.create_engine(url)
        stack.callback(engine.dispose)
        processes = _start_workers(workers, _worker_env(data, url, queue, shards, config), data)
        stack.callback(_stop, processes)
        settings = Settings(
            data_dir=data,
            database_url=url,
            celery_broker_url=config.broker,
            celery_queue=queue,
            shards=shards,
        )
        app = create_celery_app(settings)
        stack.callback(app.close)
        _wait_ready(app, queue, processes)
        pids = [process.pid for process in processes]
        before = CpuSample.take(pids, emulators)
        origin = datetime.now(UTC)
        for backfill_id in ids:
            enqueue_backfill(app, backfill_id)
        seen = _watch(engine, ids, origin, config.timeout, data)
        cpu = CpuSample.take(pids, emulators).since(before)
        stores = _results(engine, ids, origin, seen)
    return RunResult(
        label=label,
        workers=workers,
        stores=stores,
        wall=max(store.completed for store in stores),
        orders=sum(store.orders for store in stores),
        cpu=cpu,
        rendered=sum(emulator.rendered() for emulator in emulators) - rendered_before,
    )


# ---------------------------------------------------------------------------- printing


def _fmt(value: float | None, width: int = 7) -> str:
    return f"{value:>{width}.1f}" if value is not None else f"{'-':>{width}}"


def _cpu_line(result: RunResult) -> str:
    cpu = result.cpu
    return (
        f"CPU s: workers {_fmt(cpu['workers'])}  emulator(s) {_fmt(cpu['emulators'])}  "
        f"postgres {_fmt(cpu['postgres'])}  redis {_fmt(cpu['redis'])}  "
        f"bench {_fmt(cpu['bench'], 0)}  other {_fmt(cpu['other'], 0)}  "
        f"= machine {_fmt(cpu['machine'], 0)} of {_fmt(cpu['offered'], 0)} offered"
    )


def _print_header() -> None:
    print(
        f"{'run':<10} {'workers':>7} {'wall s':>8} {'orders':>8} {'orders/s':>9} "
        f"{'speed-up':>8} | t+ s: {'planned':>7} {'extract':>7} {'partit.':>7} "
        f"{'loaded':>7} {'done':>7} | new renders",
        flush=True,
    )


def _print_run(result: RunResult, baseline: RunResult | None) -> None:
    store = result.stores[0]
    ratio = (
        f"{result.orders_per_second / baseline.orders_per_second:>7.2f}x"
        if baseline and baseline.orders_per_second
        else f"{'-':>8}"
    )
    print(
        f"{result.label:<10} {result.workers:>7} {result.wall:>8.2f} {result.orders:>8} "
        f"{result.orders_per_second:>9.1f} {ratio} |       {_fmt(store.planned)} "
        f"{_fmt(store.extracted)} {_fmt(store.partitioned)} {_fmt(store.loaded)} "
        f"{_fmt(store.completed)} | {result.rendered}",
        flush=True,
    )
    print(f"{'':>10} {_cpu_line(result)}", flush=True)


def _print_many(result: RunResult) -> None:
    finishes = sorted(result.stores, key=lambda store: store.completed)
    times = [store.completed for store in finishes]
    print(
        f"{result.label}: {len(finishes)} stores, {result.workers} workers: "
        f"{result.wall:.2f} s wall, {result.orders} orders, "
        f"{result.orders_per_second:.1f} orders/s over all stores; finishes: first "
        f"{times[0]:.1f} s, median {statistics.median(times):.1f} s, last {times[-1]:.1f} s; "
        f"new renders {result.rendered}",
        flush=True,
    )
    print(f"  {_cpu_line(result)}")
    print(f"  {'#':>3} {'store':<32} {'orders':>7} {'planned':>8} {'extract':>8} {'done s':>8}")
    for rank, store in enumerate(finishes, 1):
        print(
            f"  {rank:>3} {store.domain:<32} {store.orders:>7} {_fmt(store.planned, 8)} "
            f"{_fmt(store.extracted, 8)} {store.completed:>8.2f}"
        )


# ---------------------------------------------------------------------------- driver


def one_store(args: argparse.Namespace, config: RunConfig, root: Path) -> list[RunResult]:
    folder = root / f"store-{args.customers}x{args.orders}"
    token = f"shpat_bench_scale_{secrets.token_hex(6)}"
    emulator = _start_emulator(
        folder,
        domain=BIG_DOMAIN,
        customers=args.customers,
        orders=args.orders,
        seed=1,
        token=token,
    )
    counts = [int(part) for part in args.workers.split(",")]
    results: list[RunResult] = []
    with _served([emulator]):
        print(
            f"one store: {args.customers} customers, {args.orders} orders, "
            f"{args.shards} shards, mode {args.mode}; warm-up with {max(counts)} workers ...",
            flush=True,
        )
        warm = run("warm-up", [emulator], max(counts), args.shards, config, folder)
        _print_header()
        _print_run(warm, None)
        baseline = None
        for workers in counts:
            result = run(f"w{workers}", [emulator], workers, args.shards, config, folder)
            if workers == 1:
                baseline = result
            _print_run(result, baseline)
            results.append(result)
    if not any(result.workers == 1 for result in results):
        print("(no 1-worker run in --workers: the speed-up column is left empty)")
    return [warm, *results]


def many_stores(args: argparse.Namespace, config: RunConfig, root: Path) -> list[RunResult]:
    orders = args.store_orders
    customers = args.store_customers or max(1, orders // 4)
    folder = root / f"many-{customers}x{orders}"
    emulators: list[Emulator] = []
    try:
        for index in range(args.stores):
            emulators.append(
                _start_emulator(
                    folder / f"store-{index:02d}",
                    domain=f"bench-store-{index:02d}.myshopify.com",
                    customers=customers,
                    orders=orders,
                    seed=100 + index,
                    token=f"shpat_bench_scale_{index:02d}_{secrets.token_hex(4)}",
                )
            )
    except BaseException:
        _stop([emulator.process for emulator in emulators])
        raise
    results: list[RunResult] = []
    with _served(emulators):
        rss = sum(psutil.Process(emulator.process.pid).memory_info().rss for emulator in emulators)
        print(
            f"\nmany stores: {args.stores} emulators x ({customers} customers, {orders} "
            f"orders; {rss / 2**20:.0f} MiB RSS in all), shards {args.store_shards or 'auto'}, "
            f"{args.many_workers} workers",
            flush=True,
        )
        labels = ["many-warm", "many"] if args.many_warmup else ["many"]
        for label in labels:
            result = run(label, emulators, args.many_workers, args.store_shards, config, folder)
            _print_many(result)
            results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200_000, help="orders of the large store")
    parser.add_argument("--customers", type=int, help="customers of it (default: orders / 4)")
    parser.add_argument("--shards", type=int, default=4, help="SHOPIFY_BACKFILL_SHARDS")
    parser.add_argument("--workers", default="1,2,4", help="worker processes per measured run")
    parser.add_argument("--mode", default="bulk", choices=("bulk", "paginated", "auto"))
    parser.add_argument("--stores", type=int, default=20, help="many-stores part; 0 skips it")
    parser.add_argument("--store-orders", type=int, default=10_000)
    parser.add_argument("--store-customers", type=int, help="default: store orders / 4")
    parser.add_argument("--store-shards", type=int, default=0, help="0: automatic")
    parser.add_argument("--many-workers", type=int, default=2)
    parser.add_argument("--many-warmup", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--pacing", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    parser.add_argument("--json", type=Path, default=Path("var/bench/scale_out.json"))
    parser.add_argument("--keep", type=Path, help="folder to keep the generated stores in")
    args = parser.parse_args()
    args.customers = args.customers or max(1, args.orders // 4)
    config = RunConfig(args.broker, args.pacing, args.mode, args.timeout)
    print(f"PostgreSQL {sa.make_url(POSTGRES_URL).render_as_string()}, {psutil.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        results = one_store(args, config, root) if args.orders else []
        if args.stores:
            results += many_stores(args, config, root)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps([asdict(result) for result in results], indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
