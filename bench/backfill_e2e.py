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

    .venv/bin/python bench/backfill_e2e.py                         # 50,000 x 200,000, bulk
    .venv/bin/python bench/backfill_e2e.py --sizes 5000x25000 --modes paginated,bulk
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
from pydantic import SecretStr

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


def _connect(data: Path, base: str) -> None:
    services = build_services(Settings(data_dir=data))
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


def _backfill(data: Path, mode: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_BACKFILL_")}
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


def _floor(files: list[Path], database: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "floor", str(database), *map(str, files)]
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

    def __init__(self, database: Path) -> None:
        engine = create_engine(f"sqlite:///{database}")
        upgrade(engine)
        with engine.begin() as conn:
            self.workspace_id = create_workspace(conn, "floor")
            self.connection_id = create_shop_connection(
                conn, self.workspace_id, DOMAIN, connected_at=NOW
            )
            groups = conn.exec_driver_sql(
                "SELECT channel, id FROM subscription_groups WHERE workspace_id = ?",
                (self.workspace_id,),
            ).all()
        engine.dispose()
        self.groups = dict(groups)
        self.db = sqlite3.connect(database, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            self.db.execute(f"PRAGMA {pragma}")
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
                1,
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
                1,
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
        self.db.execute("BEGIN")
        for name, statement in statements.items():
            if self.pending[name]:
                self.db.executemany(statement, self.pending[name])
                self.pending[name].clear()
        self.db.execute(
            "INSERT INTO datapoint_ledger (workspace_id, backfill_id, category, amount, "
            "recorded_at) VALUES (?, 1, 'attributes', ?, ?)",
            (self.workspace_id, written, self.stamp),
        )
        self.db.execute("COMMIT")
        self.counts["rows"] += written + 1


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as source:
        for raw in source:
            yield orjson.loads(raw)


def _holds_orders(path: Path) -> bool:
    with path.open("rb") as source:
        return b"gid://shopify/Order/" in source.readline()


def run_floor(database: Path, files: list[Path]) -> None:
    """Child side of the floor: prints its counts as JSON."""
    writer = FloorWriter(database)
    for path in sorted(files, key=_holds_orders):
        for record in _lines(path):
            writer.line(record)
    writer.flush()
    writer.db.close()
    print(json.dumps({k: writer.counts[k] for k in ("customers", "orders")}))


# ---------------------------------------------------------------------------- driver


def _row(store: str, result: dict[str, Any]) -> dict[str, Any]:
    seconds = result["seconds"]
    return {
        "store": store,
        **result,
        "seconds": round(seconds, 2),
        "orders_per_second": round(result["orders"] / seconds, 1),
        "peak_rss_mib": round(result["peak_rss_mib"], 1),
    }


def _print(row: dict[str, Any], floor: dict[str, Any] | None) -> None:
    ratio = f"{row['seconds'] / floor['seconds']:6.2f}x floor" if floor else ""
    print(
        f"{row['store']:>13} {row['run']:<30} {row['customers']:>7} customers "
        f"{row['orders']:>7} orders {row['seconds']:>8.2f} s {row['orders_per_second']:>8.1f} "
        f"orders/s  peak RSS {row['peak_rss_mib']:>6.1f} MiB  {ratio}",
        flush=True,
    )


def measure(size: str, modes: list[str], folder: Path) -> list[dict[str, Any]]:
    customers, orders = (int(part) for part in size.split("x"))
    emulator, base = _serve(folder, customers, orders)
    rows: list[dict[str, Any]] = []
    for leftover in [*folder.glob("warm-*"), *(folder / m for m in modes)]:
        shutil.rmtree(leftover, ignore_errors=True)
    (folder / "floor.sqlite").unlink(missing_ok=True)
    try:
        for mode in modes:
            _connect(folder / f"warm-{mode}", base)
            _backfill(folder / f"warm-{mode}", mode)
        rendered = sorted((folder / "shop-bulk").glob("rendered-*.jsonl"))
        floor = _row(size, _floor(rendered, folder / "floor.sqlite"))
        rows.append(floor)
        _print(floor, None)
        for mode in modes:
            _connect(folder / mode, base)
            row = _row(size, _backfill(folder / mode, mode))
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
    parser.add_argument("--json", type=Path, default=Path("var/bench/backfill_e2e.json"))
    parser.add_argument("--keep", type=Path, help="folder to keep stores and databases in")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        root = args.keep or Path(tmp)
        for size in args.sizes.split(","):
            folder = root / size
            folder.mkdir(parents=True, exist_ok=True)
            rows.extend(measure(size, args.modes.split(","), folder))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["floor"]:
        run_floor(Path(sys.argv[2]), [Path(p) for p in sys.argv[3:]])
    else:
        main()
