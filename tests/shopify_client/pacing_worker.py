"""One worker process of the shared-pacing test: a few heavy queries at once on one shop.

Run as ``python pacing_worker.py API_URL TOKEN REDIS_URL|- QUERIES``; prints the client's
stats as JSON. With ``-`` the process paces itself (the in-process ``CostPacer``).
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor

import redis
from pydantic import SecretStr

from shopify_backfill.clock import SystemClock
from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.pacing import Pacer
from shopify_backfill.shopify.shared_pacing import RedisCostPacer, bucket_key

HEAVY = (
    "{ customers(first: 20) { nodes { id orders(first: 250) { nodes { id "
    "lineItems(first: 250) { nodes { id } } } } } } }"
)
DOMAIN = "emulator-shop.myshopify.com"


def main(api_url: str, token: str, redis_url: str, queries: int) -> None:
    clock = SystemClock()
    pacer: Pacer | None = None
    if redis_url != "-":
        pacer = RedisCostPacer(redis.Redis.from_url(redis_url), bucket_key(DOMAIN, token), clock)
    with AdminClient(api_url=api_url, token=SecretStr(token), clock=clock, pacer=pacer) as client:
        with ThreadPoolExecutor(max_workers=queries) as pool:
            list(pool.map(lambda _: client.graphql(HEAVY), range(queries)))
        stats = client.stats
        print(
            json.dumps(
                {
                    "requests": stats.requests,
                    "throttled": stats.throttled,
                    "requested_cost": stats.requested_cost,
                    "waited": client.pacer.waited_seconds,
                }
            )
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
