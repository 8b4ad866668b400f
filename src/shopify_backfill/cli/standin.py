"""The one door from the product to the Shopify stand-in (``shopify_emulator``).

The product never imports the emulator, except here: ``shopify-backfill demo`` serves a
synthetic store in-process through it, and ``shopify-backfill emulator serve|check``
mounts the emulator's own commands. The import-linter contract "the product never
imports the stand-ins" names this module as its only exception, so a new use of the
emulator elsewhere in the product fails ``make lint``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from pydantic import SecretStr

from shopify_backfill.config import Settings
from shopify_backfill.shopify.schema import load_schema
from shopify_emulator.app import create_emulator_app
from shopify_emulator.commands import app as emulator_app
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.store import ShopStore
from shopify_emulator.transport import EmulatorTransport

__all__ = ["DemoShop", "demo_shop", "emulator_app"]


@dataclass(frozen=True)
class DemoShop:
    """A generated store served in-process: what a merchant's real store would give us."""

    shop_domain: str
    now: datetime
    """The store's clock: it connects "now", so the window is the 90 days before it."""
    token: SecretStr
    transport: httpx.BaseTransport
    """Requests to ``https://{shop_domain}`` reach the emulator without a port."""


@contextlib.contextmanager
def demo_shop(
    settings: Settings,
    path: Path,
    *,
    customers: int,
    orders: int,
    seed: int,
    now: datetime,
) -> Iterator[DemoShop]:
    """Generate the store at ``path`` and serve it until the block ends."""
    schema = load_schema(settings.schema_path(), settings.cache_dir())
    store = ShopStore.generate(path, customers=customers, orders=orders, seed=seed, now=now)
    application = create_emulator_app(store, schema=schema, config=EmulatorConfig())
    runtime = application.state.runtime
    transport = EmulatorTransport(application)
    try:
        yield DemoShop(
            shop_domain=store.shop_domain,
            now=store.now,
            token=SecretStr(runtime.seed_grant.token),
            transport=transport,
        )
    finally:
        runtime.bulk.shutdown()
        transport.close()
        store.close()
