"""Braze delivery: the request rate as a share of Braze's limit, objects per request, 0 lost.

A generated store (default 50,000 customers x 200,000 orders, its 90-day window is what
is delivered) is served by the Shopify emulator; the Braze stand-in runs as its own
process enforcing Braze's limit (default 3,000 requests per 3 s) and records what it
accepted. Three measurements, in one run:

1. **Ceiling** (the baseline): what this machine can push through the stand-in at all.
   The request bodies the backfill stored, replayed to a stand-in with no limit by the
   same client (``BrazeClient``, ``concurrency`` threads), with no ledger and no pacing.
   Both the stand-in and the sender are Python processes on the same cores, so when the
   ceiling is under Braze's limit, it is the ceiling, not the pacing, that caps (2).
2. **Sender against a backlog**: the backfill runs with delivery held back until the
   extraction ends (a bench-only wrapper turns the per-batch ``deliver`` into a no-op),
   then the final ``deliver`` sends the whole backlog through the ledger and the shared
   limiter as a run does. Its rate is the stand-in's own count of accepted requests
   after the first window (a moving window lets a window's budget go at once), next to
   the limit and (1).
2b. **Sender at a limit this machine can carry** (``--carry-limit``, default 60% of the
   ceiling): the same bodies enqueued again (repeated to span 4 windows) and sent by the
   same destination code to a stand-in enforcing that limit. Where (2) is capped by the
   machine, (2b) shows the share of a limit the sender holds when it is the limit that
   binds (it paces at 97%, ``limiter.HEADROOM``).
3. **End to end**: ``shopify-backfill destinations add braze`` then ``backfill start
   --destination`` as an operator runs them, in a fresh data folder, against a fresh
   stand-in: wall time, requests, objects per request, 429s.

Lost objects: the stand-in's users must hold every event and purchase the backfill
mapped (its report's counts), for (2) and for (3).

    .venv/bin/python bench/braze_delivery.py
    .venv/bin/python bench/braze_delivery.py --customers 5000 --orders 20000 --concurrency 8
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr

from backfill_e2e import DOMAIN, _connect, _serve, _watch
from braze_emulator.served import KEY, ServedBraze, serve_braze
from shopify_backfill.backfill import requests
from shopify_backfill.backfill.ports import Destination
from shopify_backfill.backfill.runner import run_backfill
from shopify_backfill.backfill.store import find_backfill
from shopify_backfill.config import Settings
from shopify_backfill.destinations.braze.client import BrazeClient
from shopify_backfill.destinations.braze.limiter import RequestLimiter
from shopify_backfill.destinations.braze.tables import braze_requests
from shopify_backfill.wiring import Services, build_services
from shopify_backfill.wiring.destinations import add_braze_destination, braze_destinations
from shopify_backfill.wiring.jobs import job_options

UNLIMITED = 10**9


class HeldBack:
    """A destination whose per-batch deliveries wait for the final one (bench only)."""

    def __init__(self, inner: Destination) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.bodies: list[bytes] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def deliver(self, engine: sa.Engine, backfill_id: int, *, final: bool) -> None:
        if final:
            self.bodies = _bodies(engine)  # the ledger drops a body once Braze has it
            started = time.perf_counter()
            self.inner.deliver(engine, backfill_id, final=True)
            self.seconds = time.perf_counter() - started


def _settings(data: Path, concurrency: int, limit: int, window: float) -> Settings:
    return Settings(
        data_dir=data,
        extraction_mode="bulk",
        bulk_poll_seconds=0.5,
        bulk_poll_max_seconds=2,
        braze_concurrency=concurrency,
        braze_requests_per_window=limit,
        braze_window_seconds=window,
    )


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_BACKFILL_")}
    env.update(
        SHOPIFY_BACKFILL_DATA_DIR=str(settings.data_dir),
        SHOPIFY_BACKFILL_EXTRACTION_MODE="bulk",
        SHOPIFY_BACKFILL_BULK_POLL_SECONDS="0.5",
        SHOPIFY_BACKFILL_BULK_POLL_MAX_SECONDS="2",
        SHOPIFY_BACKFILL_BRAZE_CONCURRENCY=str(settings.braze_concurrency),
        SHOPIFY_BACKFILL_BRAZE_REQUESTS_PER_WINDOW=str(settings.braze_requests_per_window),
        SHOPIFY_BACKFILL_BRAZE_WINDOW_SECONDS=str(settings.braze_window_seconds),
    )
    return env


def _sizes(engine: sa.Engine) -> list[int]:
    """Objects per stored request, in sending order."""
    r = braze_requests.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(r.attributes + r.events + r.purchases).order_by(r.id))
        return [int(size) for size in rows.scalars()]


def _bodies(engine: sa.Engine) -> list[bytes]:
    r = braze_requests.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(r.body).where(r.state == "pending").order_by(r.id))
        return [bytes(body) for body in rows.scalars()]


def _held(braze: ServedBraze) -> dict[str, int]:
    users = braze.users()
    return {
        "users": len(users),
        "events": sum(len(user.events) for user in users),
        "purchases": sum(len(user.purchases) for user in users),
    }


def _rate(stats: dict[str, Any], window: float | None = None) -> tuple[int, float]:
    """Accepted requests and their rate in the stand-in's own clock.

    With ``window``, the rate once the first window is over: a moving-window limiter
    lets a whole window's budget go at once, so only what follows shows the pace it
    holds (the whole span when the run is shorter than two windows).
    """
    stamps = sorted(float(stamp) for stamp in stats["timestamps"])
    if len(stamps) < 2:
        return len(stamps), 0.0
    if window is not None and stamps[-1] - stamps[0] >= 2 * window:
        steady = [stamp for stamp in stamps if stamp >= stamps[0] + window]
        return len(stamps), (len(steady) - 1) / (steady[-1] - steady[0])
    return len(stamps), (len(stamps) - 1) / (stamps[-1] - stamps[0])


def replay(
    services: Services,
    backfill_id: int,
    workspace_id: int,
    bodies: list[bytes],
    folder: Path,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """(2b): the same bodies again through the ledger, the limiter and the sender, to a
    stand-in enforcing ``--carry-limit``, a limit this machine can carry: repeated until
    the backlog spans 4 windows, so the pace after the first window is measured."""
    limit = args.carry_limit
    copies = max(1, -(-4 * limit // len(bodies)))
    with serve_braze(folder / "braze-replay", limit=limit, window=args.window) as braze:
        target = add_braze_destination(
            services,
            workspace_id=workspace_id,
            name="bench-replay",
            rest_endpoint=braze.url,
            api_key=SecretStr(KEY),
        )
        now = datetime.now(UTC)
        with services.engine.begin() as conn:
            conn.execute(
                sa.insert(braze_requests),
                [
                    {
                        "destination_id": target.id,
                        "backfill_id": backfill_id,
                        "state": "pending",
                        "body": body,
                        "attributes": 0,
                        "events": 1,
                        "purchases": 0,
                        "created_at": now,
                    }
                    for body in bodies * copies
                ],
            )
        settings = services.settings.model_copy(update={"braze_requests_per_window": limit})
        replaying = replace(services, settings=settings)
        destination = braze_destinations(replaying)(workspace_id, target.id)
        try:
            destination.deliver(services.engine, backfill_id, final=True)
        finally:
            destination.close()
        stats = braze.stats()
        accepted, rate = _rate(stats, args.window)
        return {"limit": limit, "requests": accepted, "rate": rate, "throttled": stats["throttled"]}


def backlog(base: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """(2): the whole backlog through the ledger and the limiter, as a run's final send;
    then (1) and (2b) with the bodies it stored."""
    data = folder / "backlog"
    settings = _settings(data, args.concurrency, args.limit, args.window)
    _connect(data, base)
    services = build_services(settings)
    try:
        with serve_braze(folder / "braze-backlog", limit=args.limit, window=args.window) as braze:
            with services.engine.begin() as conn:
                row = find_backfill(conn, 1, DOMAIN)
                assert row is not None
            target = add_braze_destination(
                services,
                workspace_id=row.workspace_id,
                name="bench",
                rest_endpoint=braze.url,
                api_key=SecretStr(KEY),
            )
            with services.engine.begin() as conn:
                requests.start(conn, row, now=datetime.now(UTC), braze_destination_id=target.id)
            factory = braze_destinations(services)
            held: list[HeldBack] = []

            def destinations(workspace_id: int, destination_id: int) -> Destination:
                held.append(HeldBack(factory(workspace_id, destination_id)))
                return held[-1]

            started = time.perf_counter()
            outcome = run_backfill(
                services, row.id, job_options(services, destinations=destinations)
            )
            total = time.perf_counter() - started
            if outcome.status != "completed":
                raise RuntimeError(
                    f"the backlog run ended {outcome.status}: {outcome.failure_reason}"
                )
            stats = braze.stats()
            accepted, rate = _rate(stats, args.window)
            sizes = _sizes(services.engine)
            report = outcome.report or {}
            result = {
                "expected": {"events": report["events"], "purchases": report["purchases"]},
                "run_seconds": total,
                "deliver_seconds": held[0].seconds,
                "requests": accepted,
                "rate": rate,
                "throttled": stats["throttled"],
                "sizes": sizes,
                "held": _held(braze),
            }
        bodies = held[0].bodies
        result["ceiling"] = ceiling(bodies, folder, args.concurrency)
        if args.carry_limit is None:
            args.carry_limit = int(0.6 * result["ceiling"] * args.window)
        result["replay"] = replay(services, row.id, row.workspace_id, bodies, folder, args)
        return result
    finally:
        services.dispose()


def ceiling(bodies: list[bytes], folder: Path, concurrency: int) -> float:
    """(1): the same bodies, the same client, no limit, no ledger: requests/s."""
    with serve_braze(folder / "braze-ceiling", limit=UNLIMITED, window=1.0) as braze:
        limiter = RequestLimiter("bench-ceiling", requests=UNLIMITED, window_seconds=1.0)
        client = BrazeClient(braze.url, SecretStr(KEY), limiter)
        with client, ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda body: client.track(body, resend_if_unsure=False), bodies))
        _, rate = _rate(braze.stats())
        return rate


def end_to_end(base: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """(3): the operator's two commands in a fresh folder against a fresh stand-in."""
    data = folder / "e2e"
    settings = _settings(data, args.concurrency, args.limit, args.window)
    _connect(data, base)
    env = _env(settings)
    cli = [sys.executable, "-m", "shopify_backfill"]
    with serve_braze(folder / "braze-e2e", limit=args.limit, window=args.window) as braze:
        add = [*cli, "destinations", "add", "braze", "--name", "bench"]
        _watch([*add, "--rest-endpoint", braze.url, "--api-key", KEY], env)
        start = [*cli, "backfill", "start", "--shop", DOMAIN, "--destination", "bench"]
        _, seconds, peak = _watch([*start, "--yes", "--json"], env)
        stats = braze.stats()
        accepted, rate = _rate(stats)
        services = build_services(settings)
        try:
            sizes = _sizes(services.engine)
        finally:
            services.dispose()
        return {
            "seconds": seconds,
            "peak_rss_mib": peak / 2**20,
            "requests": accepted,
            "rate": rate,
            "throttled": stats["throttled"],
            "sizes": sizes,
            "held": _held(braze),
        }


@contextmanager
def _shop(folder: Path, customers: int, orders: int) -> Iterator[str]:
    process, base = _serve(folder, customers, orders)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)


def _fill(sizes: list[int]) -> str:
    body = sizes[:-1] or sizes
    full = sum(1 for size in body if size == max(sizes))
    return (
        f"{sum(body) / len(body):.2f} objects/request except the last "
        f"({full}/{len(body)} at {max(sizes)}; last {sizes[-1]})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--limit", type=int, default=3000, help="requests per window")
    parser.add_argument("--window", type=float, default=3.0, help="seconds")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--carry-limit",
        type=int,
        default=None,
        help="requests per window for (2b); default: 60%% of the measured ceiling",
    )
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--json", type=Path, default=Path("var/bench/braze_delivery.json"))
    args = parser.parse_args()
    per_second = args.limit / args.window
    with tempfile.TemporaryDirectory(prefix="bench-braze-") as scratch:
        folder = Path(scratch)
        print(f"store: {args.customers:,} customers x {args.orders:,} orders (generating...)")
        with _shop(folder, args.customers, args.orders) as base:
            held = backlog(base, folder, args)
            base_rate = held["ceiling"]
            e2e = None if args.skip_e2e else end_to_end(base, folder, args)
    window_orders = held["held"]["events"]
    print(f"window: {window_orders:,} orders delivered; limit {args.limit:,}/{args.window:g} s")
    print("rates after the first window of each run (a moving window lets one go at once)")
    print(f"{'':34} {'req/s':>8} {'of limit':>9} {'of ceiling':>11}")
    print(f"{'limit (Braze)':34} {per_second:8.0f} {1:9.1%}")
    print(f"{'ceiling (no limit, no ledger)':34} {base_rate:8.0f} {base_rate / per_second:9.1%}")
    print(
        f"{'sender, backlog of ' + format(held['requests'], ',') + ' requests':34} "
        f"{held['rate']:8.0f} {held['rate'] / per_second:9.1%} "
        f"{held['rate'] / base_rate:11.1%}"
    )
    print(f"  {_fill(held['sizes'])}; 429s: {held['throttled']}")
    again = held["replay"]
    carried = again["limit"] / args.window
    print(
        f"{'sender at ' + format(again['limit'], ',') + f'/{args.window:g} s (2b)':34} "
        f"{again['rate']:8.0f} {again['rate'] / carried:9.1%} "
        f"{again['rate'] / base_rate:11.1%}   {again['requests']:,} requests, "
        f"429s: {again['throttled']}"
    )
    if e2e is not None:
        print(
            f"{'end to end (CLI)':34} {e2e['rate']:8.0f} {e2e['rate'] / per_second:9.1%} "
            f"{e2e['rate'] / base_rate:11.1%}   {e2e['seconds']:.0f} s wall, "
            f"peak RSS {e2e['peak_rss_mib']:.0f} MiB"
        )
        print(f"  {_fill(e2e['sizes'])}; 429s: {e2e['throttled']}")
    expected = held["expected"]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    figures = {
        "limit_per_second": per_second,
        "ceiling": base_rate,
        "backlog": {k: v for k, v in held.items() if k not in ("sizes", "held", "replay")},
        "replay": held["replay"],
        "end_to_end": (
            {k: v for k, v in e2e.items() if k not in ("sizes", "held")} if e2e else None
        ),
        "held": {"backlog": held["held"], "end_to_end": e2e["held"] if e2e else None},
        "expected": expected,
    }
    args.json.write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
    runs = [("backlog", held["held"])] + ([("end to end", e2e["held"])] if e2e else [])
    for label, counts in runs:
        lost_events = expected["events"] - counts["events"]
        lost_purchases = expected["purchases"] - counts["purchases"]
        print(
            f"lost ({label}): events {lost_events}, purchases {lost_purchases} "
            f"(Braze holds {counts['users']:,} users, {counts['events']:,} events, "
            f"{counts['purchases']:,} purchases)"
        )


if __name__ == "__main__":
    main()
