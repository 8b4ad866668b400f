"""An emulator store connected to a workspace through the real services, for the
end-to-end tests: the same path the CLI and the workers take (encrypted token, backfill
row, runner with after-batch hooks), with the trigger engine as the runner's hook."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from graphql import GraphQLSchema
from sqlalchemy.engine import Engine

import shop_fixtures
from shop_fixtures import STORE_NOW, Shop, start_and_run
from shopify_backfill.backfill.store import BackfillRow
from shopify_backfill.campaigns import trigger_hook
from shopify_backfill.config import Settings
from shopify_backfill.profiles.connections import TokenCipher
from shopify_backfill.wiring import Services

__all__ = ["STORE_NOW", "Shop", "connect", "open_shop", "services_for", "start_and_run"]


@contextmanager
def open_shop(schema: GraphQLSchema, *, customers: int, orders: int, seed: int) -> Iterator[Shop]:
    shop = shop_fixtures.open_shop(
        schema, customers=customers, orders=orders, seed=seed, hooks=(trigger_hook,)
    )
    try:
        yield shop
    finally:
        shop_fixtures.close_shop(shop)


def services_for(engine: Engine, data_dir: Path) -> Services:
    """Services over a given (migrated) engine: SQLite or a PostgreSQL scratch schema."""
    settings = Settings(
        data_dir=data_dir,
        batch_size=40,
        extraction_mode="paginated",
        lease_seconds=30,
        smtp_host=None,
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    return Services(settings=settings, engine=engine, cipher=TokenCipher.from_settings(settings))


def connect(
    services: Services, shop: Shop, *, trigger_historical: bool, workspace: str = "acme"
) -> BackfillRow:
    """A workspace without notification addresses: these tests look at the outbox only."""
    return shop_fixtures.connect(
        services, shop, workspace=workspace, emails=(), trigger_historical=trigger_historical
    )
