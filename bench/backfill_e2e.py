"""End-to-end backfill: wall time, orders/s and peak RSS, next to the raw floor.

Each size is what an operator does. The emulator serves a generated store as its own
process (its CPU and memory are not counted) with ``--reuse-bulk-results``; a first,
unmeasured backfill into a scratch folder has it render the window's bulk results, so the
measured one downloads files that are already rendered, as on Shopify where the export
runs on Shopify's machines. Measured: ``shopify-backfill backfill start --yes --json`` in a
fresh data folder, as a child process whose RSS is sampled every 10 ms.

The floor, in the same run and measured the same way (a child process, wall time from
spawn to exit): the same rendered JSONL files parsed line by line with orjson, and the
equivalent rows (a user, an alias and two subscription states per customer; one event per
order; one purchase per line item; a ledger row per batch) inserted with sqlite3's
``executemany`` into a freshly migrated database of the same schema, one transaction per
500 orders. No identity resolution, no attribute diffing, no checkpoints: what parsing
and writing that data costs at the least.

``--backend postgresql`` runs both sides against the machine's PostgreSQL
(``SHOPIFY_BACKFILL_BENCH_POSTGRES_URL``, default ``postgres@127.0.0.1:5432/test``), each
in a database of its own created for the run and dropped after it: the backfill with
``SHOPIFY_BACKFILL_DATABASE_URL`` pointing there, the floor with psycopg's
``executemany`` (pipelined) of the same rows into the same migrated schema.

    .venv/bin/python bench/backfill_e2e.py                         # 50,000 x 200,000, bulk
    .venv/bin/python bench/backfill_e2e.py --sizes 5000x25000 --modes paginated,bulk
    .venv/bin/python bench/backfill_e2e.py --sizes 20000x100000 --backend both
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import psycopg
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from shopify_backfill.backfill import requests
from shopify_backfill.config import Settings
from shopify_backfill.profiles import create_engine, create_shop_connection, upgrade
from shopify_backfill.profiles.connections import save_connection
from shopify_backfill.profiles.workspaces import create_workspace
from shopify_backfill.shopify.verify import verify_token
from shopify_backfill.wiring import build_services

TOKEN = "shpat_bench_backfill_e2e"  # noqa: S105 - the emulator's seeded test token
NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)
DOMAIN = "emulator-shop.myshopify.com"
REPO = Path(__file__).resolve().parents[1]
FLOOR_BATCH = 500
POSTGRES_URL = os.environ.get(
    "SHOPIFY_BACKFILL_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as psycopg's own connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def _scratch_database(label: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one measured run; dropped afterwards."""
    name = f"bench_e2e_{label}_{secrets.token_hex(4)}"
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _database(backend: str, folder: Path, label: str) -> Iterator[str]:
    """Where one run writes: a fresh SQLite file in ``folder`` or a scratch PG database."""
    if backend == "sqlite":
        path = folder / f"{label}.sqlite"
        path.unlink(missing_ok=True)
        yield f"sqlite:///{path}"
    else:
        with _scratch_database(label) as url:
            yield url


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(folder: Path, customers: int, orders: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "shopify_backfill",
        "emulator",
        "serve",
        "--port",
        str(port),
        "--db",
        str(folder / "shop.sqlite"),
        "--customers",
        str(customers),
        "--orders",
        str(orders),
        "--seed",
        "1",
        "--token",
        TOKEN,
        "--plan",
        "enterprise",
        "--now",
        NOW.isoformat(),
        "--reuse-bulk-results",
    ]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900
    while True:
        try:
            httpx.get(base + "/admin/oauth/access_scopes.json", timeout=1)
            return process, base
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start") from None
            time.sleep(0.2)


def _connect(data: Path, base: str, database_url: str | None = None) -> None:
    services = build_services(Settings(data_dir=data, database_url=database_url))
    try:
        token = SecretStr(TOKEN)
        scopes = verify_token(
            shop_domain=DOMAIN, token=token, api_url=base, api_version=services.settings.api_version
        )
        with services.engine.begin() as conn:
            workspace_id = create_workspace(conn, "default")
            save_connection(
                conn,
                services.cipher,
                workspace_id=workspace_id,
                shop_domain=DOMAIN,
                token=token,
                scopes=scopes,
                api_url=base,
                api_version=services.settings.api_version,
                now=NOW,
            )
            requests.open_backfill(conn, workspace_id=workspace_id, shop_domain=DOMAIN, now=NOW)
    finally:
        services.dispose()


def _watch(command: list[str], env: dict[str, str] | None = None) -> tuple[bytes, float, int]:
    """Run a child to its end: (stdout, wall seconds, peak RSS in bytes)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    watched = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.01)
    output = child.stdout.read() if child.stdout else b""
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:5])} exited with {child.returncode}")
    return output, seconds, peak


def _backfill(data: Path, mode: str, database_url: str | None = None) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_BACKFILL_")}
    if database_url is not None:
        env["SHOPIFY_BACKFILL_DATABASE_URL"] = database_url
    env.update(
        SHOPIFY_BACKFILL_DATA_DIR=str(data),
        SHOPIFY_BACKFILL_EXTRACTION_MODE=mode,
        SHOPIFY_BACKFILL_BULK_POLL_SECONDS="0.5",
        SHOPIFY_BACKFILL_BULK_POLL_MAX_SECONDS="2",
    )
    command = [sys.executable, "-m", "shopify_backfill", "backfill", "start"]
    output, seconds, peak = _watch([*command, "--shop", DOMAIN, "--yes", "--json"], env)
    view = json.loads(output)
    return {
        "run": f"backfill ({mode})",
        "customers": view["customers"]["done"],
        "orders": view["orders"]["done"],
        "seconds": seconds,
        "peak_rss_mib": peak / 2**20,
        "data_points": view["report"]["data_points"]["total"],
    }


def _floor(files: list[Path], database_url: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "floor", database_url, *map(str, files)]
    output, seconds, peak = _watch(command)
    counts = json.loads(output)
    return {
        "run": "floor (orjson + executemany)",
        **counts,
        "seconds": seconds,
        "peak_rss_mib": peak / 2**20,
    }


# ---------------------------------------------------------------------------- the floor


class FloorWriter:
    """Equivalent rows for the rendered files, written with nothing between parse and insert."""

    def __init__(self, database_url: str) -> None:
        engine = create_engine(database_url)
        upgrade(engine)
        with engine.begin() as conn:
            self.workspace_id = create_workspace(conn, "floor")
            self.connection_id = create_shop_connection(
                conn, self.workspace_id, DOMAIN, connected_at=NOW
            )
            groups = conn.execute(
                sa.text("SELECT channel, id FROM subscription_groups WHERE workspace_id = :w"),
                {"w": self.workspace_id},
            ).all()
        engine.dispose()
        self.groups = dict(groups)
        self.db = _FloorDatabase(database_url)
        self.stamp = NOW.isoformat()
        self.next_user = 1
        self.users_by_key: dict[str, int] = {}
        self.orders: dict[str, tuple[int, str, str]] = {}
        self.pending: dict[str, list[tuple[Any, ...]]] = {
            name: [] for name in ("users", "aliases", "user_subscriptions", "events", "purchases")
        }
        self.counts = {"customers": 0, "orders": 0, "rows": 0}

    def user_for(self, customer: dict[str, Any] | None, email: str | None) -> int:
        key = customer["id"] if customer else f"email:{email}"
        known = self.users_by_key.get(key)
        if known is not None:
            return known
        user_id = self.next_user
        self.next_user += 1
        self.users_by_key[key] = user_id
        customer = customer or {}
        address = customer.get("defaultAddress") or {}
        email_field = customer.get("defaultEmailAddress") or {}
        phone_field = customer.get("defaultPhoneNumber") or {}
        attributes = {
            "shopify_tags": customer.get("tags") or [],
            "shopify_orders": customer.get("numberOfOrders"),
        }
        self.pending["users"].append(
            (
                user_id,
                self.workspace_id,
                email_field.get("emailAddress") or email,
                phone_field.get("phoneNumber"),
                customer.get("firstName"),
                customer.get("lastName"),
                address.get("city"),
                address.get("countryCodeV2"),
                orjson.dumps(attributes).decode(),
                self.stamp,
                self.stamp,
                customer.get("createdAt"),
                1,
            )
        )
        if customer:
            self.pending["aliases"].append(
                (self.workspace_id, user_id, "shopify_customer_id", customer["id"], self.stamp)
            )
            for channel in ("email", "sms"):
                self.pending["user_subscriptions"].append(
                    (self.workspace_id, user_id, self.groups[channel], "subscribed", self.stamp)
                )
        return user_id

    def line(self, record: dict[str, Any]) -> None:
        parent = record.get("__parentId")
        identifier = record.get("id", "")
        if parent is not None:
            if record.get("__typename") == "LineItem":
                self.purchase(parent, record)
            return
        if identifier.startswith("gid://shopify/Customer/"):
            self.user_for(record, None)
            self.counts["customers"] += 1
        elif identifier.startswith("gid://shopify/Order/"):
            self.order(record)
            if self.counts["orders"] % FLOOR_BATCH == 0:
                self.flush()

    def order(self, record: dict[str, Any]) -> None:
        user_id = self.user_for(record.get("customer"), record.get("email"))
        total = ((record.get("totalPriceSet") or {}).get("shopMoney") or {}).get("amount")
        properties = {
            "order_id": record["id"],
            "order_name": record.get("name"),
            "total_price": total,
            "currency": record.get("currencyCode"),
            "tags": record.get("tags"),
            "source_name": record.get("sourceName"),
        }
        self.pending["events"].append(
            (
                self.workspace_id,
                user_id,
                "shopify_created_order",
                record["createdAt"],
                orjson.dumps(properties).decode(),
                "shopify_backfill",
                True,
                1,
                record["id"],
                self.stamp,
            )
        )
        self.orders[record["id"]] = (user_id, record["createdAt"], record.get("currencyCode", ""))
        self.counts["orders"] += 1

    def purchase(self, parent: str, item: dict[str, Any]) -> None:
        user_id, moment, currency = self.orders[parent]
        price = ((item.get("originalUnitPriceSet") or {}).get("shopMoney") or {}).get("amount")
        product = (item.get("product") or {}).get("id") or item.get("title")
        properties = {"order_id": parent, "sku": item.get("sku"), "title": item.get("title")}
        self.pending["purchases"].append(
            (
                self.workspace_id,
                user_id,
                product,
                currency,
                price,
                min(int(item.get("quantity") or 1), 100),
                moment,
                orjson.dumps(properties).decode(),
                "shopify_backfill",
                True,
                1,
                item["id"],
                self.stamp,
            )
        )

    def flush(self) -> None:
        statements = {
            "users": "INSERT INTO users (id, workspace_id, email, phone, first_name, last_name, "
            "home_city, country, custom_attributes, created_at, updated_at, last_activity, "
            "created_by_backfill) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            "aliases": "INSERT INTO aliases (workspace_id, user_id, label, name, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            "user_subscriptions": "INSERT INTO user_subscriptions (workspace_id, user_id, "
            "group_id, state, updated_at) VALUES (?, ?, ?, ?, ?)",
            "events": "INSERT INTO custom_events (workspace_id, user_id, name, time, properties, "
            "source, historical, backfill_id, dedup_key, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            "purchases": "INSERT INTO purchases (workspace_id, user_id, product_id, currency, "
            "price, quantity, time, properties, source, historical, backfill_id, dedup_key, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        }
        written = sum(len(rows) for rows in self.pending.values())
        batches = [(statement, self.pending[name]) for name, statement in statements.items()]
        ledger = (
            "INSERT INTO datapoint_ledger (workspace_id, backfill_id, category, amount, "
            "recorded_at) VALUES (?, 1, 'attributes', ?, ?)"
        )
        batches.append((ledger, [(self.workspace_id, written, self.stamp)]))
        self.db.write(batches)
        for rows in self.pending.values():
            rows.clear()
        self.counts["rows"] += written + 1


class _FloorDatabase:
    """One transaction of ``executemany`` calls: sqlite3 on SQLite, psycopg on PostgreSQL."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.postgres = url.get_backend_name() == "postgresql"
        if self.postgres:
            self.pg = psycopg.connect(_libpq(database_url))
        else:
            self.lite = sqlite3.connect(url.database or ":memory:", isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
                self.lite.execute(f"PRAGMA {pragma}")

    def write(self, batches: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        if self.postgres:
            with self.pg.transaction(), self.pg.cursor() as cursor:
                for statement, rows in batches:
                    if rows:
                        cursor.executemany(statement.replace("?", "%s"), rows)
            return
        self.lite.execute("BEGIN")
        for statement, rows in batches:
            if rows:
                self.lite.executemany(statement, rows)
        self.lite.execute("COMMIT")

    def close(self) -> None:
        if self.postgres:
            self.pg.close()
        else:
            self.lite.close()


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as source:
        for raw in source:
            yield orjson.loads(raw)


def _holds_orders(path: Path) -> bool:
    with path.open("rb") as source:
        return b"gid://shopify/Order/" in source.readline()


def run_floor(database_url: str, files: list[Path]) -> None:
    """Child side of the floor: prints its counts as JSON."""
    writer = FloorWriter(database_url)
    for path in sorted(files, key=_holds_orders):
        for record in _lines(path):
            writer.line(record)
    writer.flush()
    writer.db.close()
    print(json.dumps({k: writer.counts[k] for k in ("customers", "orders")}))


# ---------------------------------------------------------------------------- driver


def _row(store: str, backend: str, result: dict[str, Any]) -> dict[str, Any]:
    seconds = result["seconds"]
    return {
        "store": store,
        "backend": backend,
        **result,
        "seconds": round(seconds, 2),
        "orders_per_second": round(result["orders"] / seconds, 1),
        "peak_rss_mib": round(result["peak_rss_mib"], 1),
    }


def _print(row: dict[str, Any], floor: dict[str, Any] | None) -> None:
    ratio = f"{row['seconds'] / floor['seconds']:6.2f}x floor" if floor else ""
    print(
        f"{row['store']:>13} {row['backend']:<10} {row['run']:<30} {row['customers']:>7} "
        f"customers {row['orders']:>7} orders {row['seconds']:>8.2f} s "
        f"{row['orders_per_second']:>8.1f} orders/s  peak RSS {row['peak_rss_mib']:>6.1f} MiB"
        f"  {ratio}",
        flush=True,
    )


def measure(size: str, modes: list[str], backends: list[str], folder: Path) -> list[dict[str, Any]]:
    customers, orders = (int(part) for part in size.split("x"))
    emulator, base = _serve(folder, customers, orders)
    rows: list[dict[str, Any]] = []
    for leftover in folder.glob("run-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    try:
        for mode in modes:
            _connect(folder / f"run-warm-{mode}", base)
            _backfill(folder / f"run-warm-{mode}", mode)
        rendered = sorted((folder / "shop-bulk").glob("rendered-*.jsonl"))
        for backend in backends:
            with _database(backend, folder, "floor") as url:
                floor = _row(size, backend, _floor(rendered, url))
            rows.append(floor)
            _print(floor, None)
            for mode in modes:
                data = folder / f"run-{backend}-{mode}"
                with _database(backend, data, "backfill") as url:
                    _connect(data, base, url)
                    row = _row(size, backend, _backfill(data, mode, url))
                if (row["customers"], row["orders"]) != (floor["customers"], floor["orders"]):
                    raise RuntimeError(f"the backfill and the floor disagree on counts: {row}")
                rows.append(row)
                _print(row, floor)
        after = sorted((folder / "shop-bulk").glob("rendered-*.jsonl"))
        if after != rendered:
            raise RuntimeError("the measured backfill rendered its bulk results again")
    finally:
        emulator.terminate()
        emulator.wait(timeout=60)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50000x200000", help="CUSTOMERSxORDERS,...")
    parser.add_argument("--modes", default="bulk", help="bulk,paginated")
    parser.add_argument(
        "--backend", default="sqlite", choices=("sqlite", "postgresql", "both"), help="store"
    )
    parser.add_argument("--json", type=Path, default=Path("var/bench/backfill_e2e.json"))
    parser.add_argument("--keep", type=Path, help="folder to keep stores and databases in")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        root = args.keep or Path(tmp)
        for size in args.sizes.split(","):
            folder = root / size
            folder.mkdir(parents=True, exist_ok=True)
            rows.extend(measure(size, args.modes.split(","), backends, folder))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["floor"]:
        run_floor(sys.argv[2], [Path(p) for p in sys.argv[3:]])
    else:
        main()
