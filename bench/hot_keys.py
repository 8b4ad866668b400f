"""Benchmark: loading batches that mention a phone thousands of profiles already hold.

A store where ``--holders`` profiles share one phone (a shop's own number typed in for
walk-in customers), each bound to its own Shopify customer; then ``--batches`` batches of
500 new customers, one in ten with that phone. Measured twice in the same run, each on a
fresh copy of the same store: with hot keys resolved on demand (``HOT_KEY_LIMIT``, the
product's setting) and with the limit lifted, which is the full preload every batch paid
before (every holder read into every batch that mentions the phone).

    .venv/bin/python bench/hot_keys.py --holders 5000 --batches 20
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import msgspec

from load_batch import new_workspace
from shopify_backfill.profiles import create_engine, identity, insert_profile, load_batch, upgrade
from shopify_backfill.shopify.records import Customer

PHONE = "+16135550142"


def customers(batch: int, size: int) -> list[Customer]:
    records = []
    for offset in range(size):
        number = batch * size + offset + 1
        payload = {
            "id": f"gid://shopify/Customer/{number}",
            "createdAt": "2026-05-01T00:00:00Z",
            "updatedAt": "2026-06-01T00:00:00Z",
            "defaultEmailAddress": {"emailAddress": f"c{number}@example.com"},
            "defaultPhoneNumber": {"phoneNumber": PHONE} if offset % 10 == 0 else None,
        }
        records.append(msgspec.convert(payload, Customer))
    return records


def run(folder: Path, holders: int, batches: int, limit: int) -> float:
    engine = create_engine(f"sqlite:///{folder / f'limit-{limit}.db'}")
    upgrade(engine)
    context = new_workspace(engine, "hot")
    with engine.begin() as conn:
        for number in range(holders):
            insert_profile(
                conn,
                context.workspace_id,
                attributes={"phone": PHONE},
                alias_names={"shopify_customer_id": str(10_000_000 + number)},
            )
    saved = identity.HOT_KEY_LIMIT
    identity.HOT_KEY_LIMIT = limit
    try:
        start = time.perf_counter()
        for batch in range(batches):
            with engine.begin() as conn:
                load_batch(conn, context, customers(batch, 500))
        return time.perf_counter() - start
    finally:
        identity.HOT_KEY_LIMIT = saved
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--holders", type=int, default=5_000)
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        full = run(Path(tmp), args.holders, args.batches, limit=10**9)
        on_demand = run(Path(tmp), args.holders, args.batches, limit=identity.HOT_KEY_LIMIT)
    records = args.batches * 500
    print(f"{args.holders} profiles share one phone; {records} new customers, 1 in 10 with it")
    print(f"full preload (every holder, every batch) {full:7.2f} s  {records / full:8.0f} rec/s")
    print(
        f"hot key on demand (limit {identity.HOT_KEY_LIMIT:>3})      {on_demand:7.2f} s  "
        f"{records / on_demand:8.0f} rec/s  ({full / on_demand:.1f}x)"
    )


if __name__ == "__main__":
    main()
