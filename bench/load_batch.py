"""Benchmark: rows/s that ``profiles.load_batch`` sustains, next to the driver's floor.

Synthetic customers (each with two orders of two line items) are decoded from JSON bytes
as extraction produces them, then loaded in batches of one transaction each. The floor,
measured in the same run, takes the very rows the loader left in the store (users,
aliases, events, purchases, subscriptions, ledger, sightings) and inserts them into a
fresh database of the same schema with the raw driver's ``executemany``, in as many
transactions: what writing that data costs with no lookups, conflicts or mapping. A
reload of the same records shows the idempotent path (nothing to write, no data points).

    .venv/bin/python bench/load_batch.py                      # 200,000 orders into SQLite
    .venv/bin/python bench/load_batch.py --orders 20000 --backend both --json out.json

``run_load(..., after_batch=hook)`` calls ``hook(conn, ctx, result)`` inside each batch's
transaction; ``bench/trigger_overhead.py`` times the trigger engine that way.
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
from typing import Any

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
from shopify_backfill.profiles.schema import metadata
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
    rows: int
    """Rows the scenario left written (a no-op reload writes none)."""
    seconds: float
    data_points: int = 0

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds else float("inf")

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


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


SETUP_TABLES = frozenset({"workspaces", "shop_connections", "subscription_groups"})
"""Written when a workspace and its shop are created, before any load."""

WRITTEN_TABLES = tuple(
    table
    for table in metadata.sorted_tables
    if "workspace_id" in table.c and table.name not in SETUP_TABLES
)
"""Everything ``load_batch`` writes, parents before children."""

StoredRows = dict[str, list[tuple[Any, ...]]]


def _placeholder(backend: str) -> str:
    return "?" if backend == "sqlite" else "%s"


def stored_rows(engine: Engine, workspace_id: int) -> StoredRows:
    """A workspace's rows as the database holds them, read through the raw driver.

    PostgreSQL values are read as text and written back untyped so that the floor pays
    for no Python-side adaptation either (the server casts them to the column types).
    """
    backend = engine.dialect.name
    mark = _placeholder(backend)
    rows: StoredRows = {}
    with engine.connect() as conn:
        cursor = conn.connection.cursor()
        for table in WRITTEN_TABLES:
            names = [column.name for column in table.c]
            selected = names if backend == "sqlite" else [f"CAST({n} AS TEXT)" for n in names]
            order = ", ".join(column.name for column in table.primary_key) or names[0]
            cursor.execute(
                f"SELECT {', '.join(selected)} FROM {table.name} "  # noqa: S608 - metadata names
                f"WHERE workspace_id = {mark} ORDER BY {order}",
                (workspace_id,),
            )
            rows[table.name] = [tuple(row) for row in cursor.fetchall()]
        cursor.close()
    return rows


def split_rows(rows: StoredRows, transactions: int) -> list[StoredRows]:
    """Equal shares of every table; a row that points at a user goes with its user."""
    users_rows = rows["users"]
    share_of: dict[Any, int] = {}
    for position, row in enumerate(users_rows):
        share_of[row[0]] = position * transactions // max(1, len(users_rows))
    shares: list[StoredRows] = [
        {table.name: [] for table in WRITTEN_TABLES} for _ in range(transactions)
    ]
    for table in WRITTEN_TABLES:
        table_rows = rows[table.name]
        if "user_id" in table.c and table.name != "users":
            column = list(table.c.keys()).index("user_id")
            for row in table_rows:
                shares[share_of[row[column]]][table.name].append(row)
            continue
        for position, row in enumerate(table_rows):
            shares[position * transactions // max(1, len(table_rows))][table.name].append(row)
    return shares


def run_floor(engine: Engine, rows: StoredRows, transactions: int) -> float:
    """The same rows into the same schema with the driver's ``executemany``: the floor.

    As many transactions as the loader used, each carrying a share of every table, so the
    floor pays the same commits; no lookups, no conflicts, no mapping.
    """
    mark = _placeholder(engine.dialect.name)
    sqlite = engine.dialect.name == "sqlite"  # the engine leaves BEGIN to its caller
    statements = {
        table.name: (
            f"INSERT INTO {table.name} ({', '.join(c.name for c in table.c)}) "  # noqa: S608
            f"VALUES ({', '.join(mark for _ in table.c)})"
        )
        for table in WRITTEN_TABLES
    }
    shares = split_rows(rows, transactions)
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        start = time.perf_counter()
        for share in shares:
            cursor = raw.cursor()
            if sqlite:
                cursor.execute("BEGIN")
            for table in WRITTEN_TABLES:
                if share[table.name]:
                    cursor.executemany(statements[table.name], share[table.name])
            raw.commit()
            cursor.close()
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
    backend: str, records: Sequence[Customer | Order], batch_size: int
) -> list[Row]:
    """Floor, fresh load and reload of the same records on one backend."""
    count = len(records)
    transactions = -(-count // batch_size)
    with backend_engine(backend) as engine:
        context = new_workspace(engine, "fresh")
        seconds, points = run_load(engine, context, records, batch_size=batch_size)
        stored = stored_rows(engine, context.workspace_id)
        written = sum(len(rows) for rows in stored.values())
        fresh = Row(backend, "load_batch (fresh)", count, written, seconds, points)
        seconds, points = run_load(engine, context, records, batch_size=batch_size)
        reload = Row(backend, "load_batch (reload, no-op)", count, 0, seconds, points)
    with backend_engine(backend) as engine:
        floor_context = new_workspace(engine, "fresh")
        ids = (floor_context.workspace_id, floor_context.connection_id)
        assert ids == (context.workspace_id, context.connection_id), "ids must line up"
        seconds = run_floor(engine, stored, transactions)
        assert stored_rows(engine, floor_context.workspace_id) == stored, "floor copy differs"
        floor = Row(backend, "floor: executemany, same rows", count, written, seconds)
    return [floor, fresh, reload]


def print_table(rows: Sequence[Row]) -> None:
    floors = {r.backend: r for r in rows if r.scenario.startswith("floor")}
    header = (
        f"{'backend':<10} {'scenario':<30} {'records':>8} {'rows':>9} {'seconds':>8} "
        f"{'records/s':>10} {'rows/s':>9} {'vs floor':>9} {'data points':>12}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        floor = floors.get(row.backend)
        ratio = f"{row.seconds / floor.seconds:.2f}x" if floor and floor.seconds else "-"
        print(
            f"{row.backend:<10} {row.scenario:<30} {row.records:>8} {row.rows:>9} "
            f"{row.seconds:>8.2f} {row.per_second:>10.0f} {row.rows_per_second:>9.0f} "
            f"{ratio:>9} {row.data_points:>12}"
        )
    print("\nvs floor: the scenario's time over the floor's (1.00x is the driver's limit)")


def main(argv: Sequence[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=200_000, help="two per customer")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)

    customers = max(1, args.orders // 2)
    payload = synthetic_payload(customers)
    start = time.perf_counter()
    records = decode_records(payload)
    decoded = time.perf_counter() - start
    options = MappingOptions()
    start = time.perf_counter()
    for record in records:
        map_record(record, options)
    mapped = time.perf_counter() - start
    rows = [
        Row("-", "decode from bytes (msgspec)", len(records), 0, decoded),
        Row("-", "map only (no I/O)", len(records), 0, mapped),
    ]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        rows.extend(measure_backend(backend, records, args.batch_size))
    print(
        f"{len(records)} records ({customers} customers, {len(records) - customers} "
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
