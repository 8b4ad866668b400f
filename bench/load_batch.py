"""Benchmark: records/s that ``profiles.load_batch`` sustains, on SQLite and PostgreSQL.

Synthetic customers (each with two orders of two line items) are decoded from JSON bytes
as extraction produces them, then loaded in batches. Every backend also runs a baseline
in the same process: a plain ``executemany`` insert of one event row per order, the floor
any loader pays to write that data. Rows: the baseline, a fresh load, and a reload of the
same records (idempotent: nothing to write).

    .venv/bin/python bench/load_batch.py                       # 2,000 customers, both backends
    .venv/bin/python bench/load_batch.py --customers 10000 --backend sqlite --json out.json

Extending: ``run_load(..., after_batch=hook)`` calls ``hook(conn, ctx, result)`` inside each
batch's transaction (for example the trigger engine), and ``main`` accepts extra rows.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopify_backfill.mapping import MappingOptions, map_record
from shopify_backfill.profiles import (
    LoadContext,
    LoadResult,
    create_engine,
    create_shop_connection,
    create_workspace,
    load_batch,
    scratch_postgres_schema,
    upgrade,
)
from shopify_backfill.profiles.schema import custom_events, users
from shopify_backfill.shopify.records import Customer, Order

POSTGRES_URL = os.environ.get(
    "SHOPIFY_BACKFILL_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
START = datetime(2026, 4, 1, tzinfo=UTC)

AfterBatch = Callable[[sa.Connection, LoadContext, LoadResult], None]
"""Hook run inside each batch's transaction, after ``load_batch``."""


@dataclass(frozen=True)
class Row:
    backend: str
    scenario: str
    records: int
    seconds: float
    data_points: int = 0

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds else float("inf")


def synthetic_payload(customers: int, seed: int = 7) -> bytes:
    """JSON lines of customers and their orders, shaped like the Admin API's records."""
    rng = random.Random(seed)
    lines: list[bytes] = []
    encode = msgspec.json.encode
    for number in range(1, customers + 1):
        customer = {
            "id": f"gid://shopify/Customer/{number}",
            "createdAt": (START + timedelta(minutes=number)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "updatedAt": "2026-06-30T00:00:00Z",
            "firstName": rng.choice(["Ann", "Bo", "Chloé", "Dev", "Émile"]),
            "lastName": f"Buyer{number}",
            "defaultEmailAddress": {
                "emailAddress": f"buyer{number}@example.com",
                "marketingState": rng.choice(["SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED"]),
            },
            "defaultPhoneNumber": {"phoneNumber": f"+1613{number % 10_000_000:07d}"},
            "smsMarketingConsent": {"marketingState": "NOT_SUBSCRIBED"},
            "defaultAddress": {"city": "Ottawa", "countryCodeV2": "CA"},
            "tags": rng.sample(["vip", "wholesale", "newsletter", "b2b"], 2),
            "numberOfOrders": "2",
            "amountSpent": {"amount": f"{rng.randint(1, 90_000) / 100:.2f}", "currencyCode": "CAD"},
        }
        lines.append(b'{"customer":' + encode(customer) + b"}")
        for index in range(2):
            order_number = number * 2 + index
            money = {"shopMoney": {"amount": "42.50", "currencyCode": "CAD"}}
            order = {
                "id": f"gid://shopify/Order/{order_number}",
                "name": f"#{order_number}",
                "number": order_number,
                "createdAt": (START + timedelta(hours=order_number)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "confirmed": True,
                "currencyCode": "CAD",
                "totalPriceSet": money,
                "totalDiscountsSet": {"shopMoney": {"amount": "0.0", "currencyCode": "CAD"}},
                "sourceName": "web",
                "statusPageUrl": f"https://bench.myshopify.com/{order_number}/authenticate",
                "customer": customer,
                "lineItems": [
                    {
                        "id": f"gid://shopify/LineItem/{order_number * 10 + line}",
                        "name": "Widget",
                        "title": "Widget",
                        "quantity": rng.choice([1, 2, 3, 150]),
                        "sku": f"W-{line}",
                        "vendor": "Acme",
                        "product": {"id": f"gid://shopify/Product/{line + 1}"},
                        "originalUnitPriceSet": {
                            "shopMoney": {"amount": "10.625", "currencyCode": "CAD"}
                        },
                    }
                    for line in range(2)
                ],
            }
            lines.append(b'{"order":' + encode(order) + b"}")
    return b"\n".join(lines)


class _Line(msgspec.Struct, omit_defaults=True):
    customer: Customer | None = None
    order: Order | None = None


def decode_records(payload: bytes) -> list[Customer | Order]:
    decoder = msgspec.json.Decoder(_Line)
    records: list[Customer | Order] = []
    for raw in payload.split(b"\n"):
        line = decoder.decode(raw)
        record = line.customer or line.order
        if record is not None:
            records.append(record)
    return records


def new_workspace(engine: Engine, name: str) -> LoadContext:
    with engine.begin() as conn:
        workspace_id = create_workspace(conn, name)
        connection_id = create_shop_connection(
            conn, workspace_id, f"{name}.myshopify.com", connected_at=datetime.now(UTC)
        )
    return LoadContext(workspace_id, connection_id, backfill_id=1, historical=True)


def run_load(
    engine: Engine,
    context: LoadContext,
    records: Sequence[Customer | Order],
    *,
    batch_size: int = 500,
    after_batch: AfterBatch | None = None,
) -> tuple[float, int]:
    """Load ``records`` in batches, one transaction each; returns (seconds, data points)."""
    points = 0
    start = time.perf_counter()
    for offset in range(0, len(records), batch_size):
        with engine.begin() as conn:
            result = load_batch(conn, context, records[offset : offset + batch_size])
            if after_batch is not None:
                after_batch(conn, context, result)
        points += result.counts.data_points
    return time.perf_counter() - start, points


def run_baseline(
    engine: Engine, context: LoadContext, records: Sequence[Customer | Order], batch_size: int
) -> float:
    """Plain executemany of one event row per order onto one user: the write floor."""
    orders = [r for r in records if isinstance(r, Order)]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        user_id = conn.execute(
            sa.insert(users)
            .values(
                workspace_id=context.workspace_id,
                custom_attributes={},
                created_at=now,
                updated_at=now,
            )
            .returning(users.c.id)
        ).scalar_one()
    start = time.perf_counter()
    for offset in range(0, len(orders), batch_size):
        rows = [
            {
                "workspace_id": context.workspace_id,
                "user_id": user_id,
                "name": "baseline_order",
                "time": now,
                "properties": {
                    "order_id": order.id,
                    "total": order.total_price_set and order.total_price_set.shop_money.amount,
                },
                "source": "bench",
                "historical": True,
                "backfill_id": None,
                "dedup_key": order.id,
                "created_at": now,
            }
            for order in orders[offset : offset + batch_size]
        ]
        with engine.begin() as conn:
            conn.execute(sa.insert(custom_events), rows)
    return time.perf_counter() - start


@contextmanager
def backend_engine(backend: str) -> Iterator[Engine]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            engine = create_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
            upgrade(engine)
            try:
                yield engine
            finally:
                engine.dispose()
    else:
        with scratch_postgres_schema(POSTGRES_URL, prefix="bench_load") as engine:
            yield engine


def measure_backend(
    backend: str,
    records: Sequence[Customer | Order],
    batch_size: int,
    extra: Sequence[tuple[str, AfterBatch]] = (),
) -> list[Row]:
    """Baseline, fresh load, reload, then one fresh load per extra hook."""
    rows: list[Row] = []
    count = len(records)
    with backend_engine(backend) as engine:
        seconds = run_baseline(engine, new_workspace(engine, "baseline"), records, batch_size)
        rows.append(Row(backend, "baseline: raw event insert", count, seconds))
        context = new_workspace(engine, "fresh")
        seconds, points = run_load(engine, context, records, batch_size=batch_size)
        rows.append(Row(backend, "load_batch (fresh)", count, seconds, points))
        seconds, points = run_load(engine, context, records, batch_size=batch_size)
        rows.append(Row(backend, "load_batch (reload, no-op)", count, seconds, points))
        for label, hook in extra:
            context = new_workspace(engine, label.replace(" ", "-"))
            seconds, points = run_load(
                engine, context, records, batch_size=batch_size, after_batch=hook
            )
            rows.append(Row(backend, label, count, seconds, points))
    return rows


def print_table(rows: Sequence[Row]) -> None:
    baselines = {r.backend: r for r in rows if r.scenario.startswith("baseline")}
    header = (
        f"{'backend':<10} {'scenario':<30} {'records':>8} {'seconds':>8} {'records/s':>10} "
        f"{'vs baseline':>11} {'data points':>12}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        base = baselines.get(row.backend)
        ratio = f"{row.per_second / base.per_second:.2f}x" if base else "-"
        print(
            f"{row.backend:<10} {row.scenario:<30} {row.records:>8} {row.seconds:>8.2f} "
            f"{row.per_second:>10.0f} {ratio:>11} {row.data_points:>12}"
        )


def main(
    argv: Sequence[str] | None = None, extra: Sequence[tuple[str, AfterBatch]] = ()
) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)

    payload = synthetic_payload(args.customers)
    start = time.perf_counter()
    records = decode_records(payload)
    decoded = time.perf_counter() - start
    options = MappingOptions()
    start = time.perf_counter()
    for record in records:
        map_record(record, options)
    mapped = time.perf_counter() - start
    rows = [
        Row("-", "decode from bytes (msgspec)", len(records), decoded),
        Row("-", "map only (no I/O)", len(records), mapped),
    ]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        rows.extend(measure_backend(backend, records, args.batch_size, extra))
    print(
        f"{len(records)} records ({args.customers} customers, {len(records) - args.customers} "
        f"orders, 2 line items each), batches of {args.batch_size}\n"
    )
    print_table(rows)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps([{**asdict(r), "records_per_second": r.per_second} for r in rows], indent=2)
        )
    return rows


if __name__ == "__main__":
    main()
