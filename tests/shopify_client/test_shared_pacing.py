"""Workers on one shop share its Shopify cost budget through Redis.

Shopify keeps one leaky bucket per app and shop
(https://shopify.dev/docs/api/usage/limits#the-leaky-bucket-algorithm). Separate
processes that each mirror it privately admit requests against the same points; the
shared mirror admits them once. Real Redis on 127.0.0.1:6379, real worker processes,
the emulator served over HTTP on its real clock.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from graphql import GraphQLSchema

from emulator_fixtures import STORE_NOW, serve_on_port
from shopify_backfill.clock import SystemClock
from shopify_backfill.shopify.pacing import CostPacer
from shopify_backfill.shopify.shared_pacing import KEY_PREFIX, RedisCostPacer, bucket_key
from shopify_backfill.shopify.throttle import ThrottleStatus
from shopify_emulator.app import create_emulator_app
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.store import ShopStore

pytest_plugins = ["emulator_fixtures"]

REDIS_URL = "redis://127.0.0.1:6379/12"
TOKEN = "shpat_shared_pacing_test"
WORKER = Path(__file__).with_name("pacing_worker.py")


@pytest.fixture
def shared() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    assert client.ping(), "Redis must run on 127.0.0.1:6379 for the shared-pacing tests"
    yield client
    for key in client.scan_iter(f"{KEY_PREFIX}*"):
        client.delete(key)
    client.close()


def _key() -> str:
    return bucket_key(f"pacing-{secrets.token_hex(4)}.myshopify.com", "shpat_x")


class _Recorder(SystemClock):
    def __init__(self) -> None:
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        super().sleep(seconds)


REPORT = ThrottleStatus(maximum_available=1000, currently_available=1000, restore_rate=1000)


def test_two_pacers_on_one_key_share_the_points(shared: redis.Redis) -> None:
    key = _key()
    clocks = (_Recorder(), _Recorder())
    first, second = (RedisCostPacer(shared, key, clock) for clock in clocks)
    first.acquire(1)
    first.release(1, REPORT)
    first.acquire(800)
    spent = ThrottleStatus(maximum_available=1000, currently_available=200, restore_rate=1000)
    answered = threading.Timer(0.3, first.release, (800, spent))
    started = time.monotonic()
    answered.start()
    second.acquire(800)  # 200 left while the first's request is out; then 200 + 1000/s
    waited = time.monotonic() - started
    assert clocks[1].waits, "the second process must wait for the points the first holds"
    assert 0.3 <= waited < 3
    projected = second.projected_available()
    assert projected is not None and projected < 1000 - 800 + 1000 * waited


def test_private_pacers_do_not_see_each_others_reservations() -> None:
    """The contrast: two in-process mirrors both admit 800 of the same 1,000 points."""
    clocks = (_Recorder(), _Recorder())
    first, second = (CostPacer(clock) for clock in clocks)
    for pacer in (first, second):
        pacer.acquire(1)
        pacer.release(1, REPORT)
        pacer.acquire(800)
    assert clocks[0].waits == [] and clocks[1].waits == []


def test_a_dead_workers_reservation_expires(shared: redis.Redis) -> None:
    key = _key()
    dead = RedisCostPacer(shared, key, SystemClock(), lease_seconds=0.3)
    dead.acquire(1)
    dead.release(1, REPORT)
    dead.acquire(900)  # the process dies here: never released
    survivor = RedisCostPacer(shared, key, SystemClock())
    projected = survivor.projected_available()
    assert projected is not None and projected <= 200
    time.sleep(0.4)
    assert survivor.projected_available() == pytest.approx(1000, abs=1)


def test_before_any_report_one_request_at_a_time_probes(shared: redis.Redis) -> None:
    key = _key()
    clock = _Recorder()
    first, second = (RedisCostPacer(shared, key, c) for c in (SystemClock(), clock))
    first.acquire(50)
    # The second waits until the probe's answer tells the bucket's state.
    probe_done = time.monotonic() + 0.2
    threading.Timer(0.2, first.release, (50, REPORT)).start()
    second.acquire(50)
    assert clock.waits and time.monotonic() >= probe_done


def _run_workers(api_url: str, redis_url: str) -> list[dict[str, Any]]:
    processes = [
        subprocess.Popen(
            [sys.executable, str(WORKER), api_url, TOKEN, redis_url, "3"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        results.append(json.loads(out))
    return results


def test_two_worker_processes_on_one_shop_are_never_throttled(
    admin_schema: GraphQLSchema, shared: redis.Redis
) -> None:
    """Six ~800-point queries at once on an advanced-plan bucket (4,000, 200/s).

    The shared pacer admits what the bucket holds and waits for the rest. (Private
    pacers may be throttled here, depending on how fast the emulator answers; the
    deterministic contrast is ``test_private_pacers_do_not_see_each_others_reservations``.)
    """
    store = ShopStore.generate(None, customers=30, orders=120, seed=3, now=STORE_NOW)
    config = EmulatorConfig(plan="advanced", seed_token=TOKEN)
    try:
        with serve_on_port(create_emulator_app(store, schema=admin_schema, config=config)) as url:
            together = _run_workers(url, REDIS_URL)
    finally:
        store.close()
    assert sum(r["requested_cost"] for r in together) > 4_000
    assert sum(r["throttled"] for r in together) == 0
    assert sum(r["waited"] for r in together) > 0


def test_runs_share_the_bucket_when_the_deployment_names_a_redis(shared: redis.Redis) -> None:
    from pydantic import SecretStr, ValidationError

    from shopify_backfill.config import Settings
    from shopify_backfill.wiring.jobs import shared_pacer_factory

    assert shared_pacer_factory(None) is None
    factory = shared_pacer_factory(REDIS_URL)
    assert factory is not None
    one = factory("a.myshopify.com", SecretStr("shpat_1"), SystemClock())
    other = factory("a.myshopify.com", SecretStr("shpat_1"), SystemClock())
    one.acquire(1)
    one.release(1, REPORT)
    assert other.projected_available() == pytest.approx(1000, abs=5)
    assert not any(b"shpat_1" in key for key in shared.scan_iter(f"{KEY_PREFIX}*"))
    with pytest.raises(ValidationError, match="pacing_redis_url must be a redis://"):
        Settings(pacing_redis_url="http://127.0.0.1:6379")
