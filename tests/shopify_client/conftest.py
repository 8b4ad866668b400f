"""Emulator handles for the source's tests: in-process through the emulator's transport.

Ground truth comes from the emulator's store documents, computed here independently of
the extraction code under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema
from pydantic import SecretStr

from shopify_backfill.clock import Clock, SystemClock, VirtualClock
from shopify_backfill.shopify.bulk import BulkPolicy
from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.extract import Batch, ExtractionCheckpoint, ExtractionMode, Extractor
from shopify_backfill.shopify.retry import RetryPolicy
from shopify_emulator.app import create_emulator_app
from shopify_emulator.config import EmulatorConfig, FaultPlan
from shopify_emulator.runtime import EmulatorRuntime
from shopify_emulator.store import ShopStore
from shopify_emulator.transport import EmulatorTransport

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
WINDOW_START = NOW - timedelta(days=90)
TOKEN = "shpat_source_tests"
BASE_URL = "http://emulator-shop.myshopify.com"
FAST_BULK = BulkPolicy(poll_initial=0.01, poll_max=0.05, poll_factor=1.5)


@dataclass
class Emulator:
    store: ShopStore
    transport: EmulatorTransport
    runtime: EmulatorRuntime
    clock: Clock

    def client(
        self,
        *,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        token: SecretStr | str = TOKEN,
    ) -> AdminClient:
        return AdminClient(
            api_url=BASE_URL,
            token=token,
            transport=self.transport,
            clock=clock or self.clock,
            retry=retry or RetryPolicy(max_attempts=12, base_delay=0.01, max_delay=0.2),
        )

    def faults(self, **settings: Any) -> None:
        self.runtime.faults.replace(FaultPlan(**settings))


class SleepingVirtualClock:
    """Virtual time that also really sleeps: bulk jobs run on real threads."""

    def __init__(self, virtual: VirtualClock) -> None:
        self.virtual = virtual

    def monotonic(self) -> float:
        return self.virtual.monotonic()

    def sleep(self, seconds: float) -> None:
        SystemClock().sleep(seconds)
        self.virtual.sleep(seconds)


def bulk_clock(emulator: Emulator) -> Clock:
    if isinstance(emulator.clock, VirtualClock):
        return SleepingVirtualClock(emulator.clock)
    return emulator.clock


def start_emulator(
    schema: GraphQLSchema,
    *,
    customers: int,
    orders: int,
    seed: int,
    virtual: bool = True,
    config: EmulatorConfig | None = None,
    path: Path | None = None,
) -> Emulator:
    store = ShopStore.generate(path, customers=customers, orders=orders, seed=seed, now=NOW)
    clock: Clock = VirtualClock() if virtual else SystemClock()
    base = config or EmulatorConfig()
    config = base.model_copy(update={"seed_token": TOKEN})
    app = create_emulator_app(store, schema=schema, config=config, clock=clock.monotonic)
    return Emulator(
        store=store, transport=EmulatorTransport(app), runtime=app.state.runtime, clock=clock
    )


@pytest.fixture
def make_emulator(admin_schema: GraphQLSchema) -> Iterator[Any]:
    started: list[Emulator] = []

    def factory(**kwargs: Any) -> Emulator:
        emulator = start_emulator(admin_schema, **kwargs)
        started.append(emulator)
        return emulator

    yield factory
    for emulator in started:
        emulator.runtime.bulk.shutdown()
        emulator.transport.close()
        emulator.store.close()


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def expected_ids(
    store: ShopStore, start: datetime = WINDOW_START, end: datetime = NOW
) -> tuple[set[str], set[str], dict[str, int]]:
    """(order ids, customer ids, line items per order) the window rule selects."""
    orders: set[str] = set()
    items: dict[str, int] = {}
    for order in store.iter_all_orders(with_line_items=True):
        if start <= _parse(order["createdAt"]) < end:
            orders.add(order["id"])
            items[order["id"]] = len(order["_lineItems"])
    customers = {
        customer["id"]
        for customer in store.iter_all_customers()
        if start <= _parse(customer["createdAt"]) < end
    }
    return orders, customers, items


def extract_all(
    emulator: Emulator,
    mode: ExtractionMode,
    staging: Path,
    *,
    checkpoint: ExtractionCheckpoint | None = None,
    stop_after: int | None = None,
    batch_size: int = 50,
    client: AdminClient | None = None,
) -> list[Batch]:
    """Run an extraction (optionally stopping after ``stop_after`` batches, like a crash)."""
    clock = emulator.clock if mode == "paginated" else bulk_clock(emulator)
    extractor = Extractor(
        client or emulator.client(clock=clock),
        window_start=WINDOW_START,
        window_end=NOW,
        staging_path=staging,
        clock=clock,
        batch_size=batch_size,
        bulk_policy=FAST_BULK,
    )
    batches: list[Batch] = []
    for batch in extractor.batches(checkpoint or ExtractionCheckpoint(mode=mode)):
        batches.append(batch)
        if stop_after is not None and len(batches) >= stop_after:
            break
    return batches
