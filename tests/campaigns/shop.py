"""An emulator store connected to a workspace through the real services, for the
end-to-end tests: the same path the CLI and the workers take (encrypted token, backfill
row, runner with after-batch hooks)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graphql import GraphQLSchema
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from shopify_backfill.backfill import requests
from shopify_backfill.backfill.runner import RunOptions, RunOutcome, run_backfill
from shopify_backfill.backfill.store import BackfillRow
from shopify_backfill.campaigns import trigger_hook
from shopify_backfill.config import Settings
from shopify_backfill.emulator.app import EmulatorRuntime, create_emulator_app
from shopify_backfill.emulator.config import EmulatorConfig
from shopify_backfill.emulator.store import ShopStore
from shopify_backfill.emulator.transport import EmulatorTransport
from shopify_backfill.profiles.workspaces import create_workspace
from shopify_backfill.shopify.bulk import BulkPolicy
from shopify_backfill.shopify.connections import TokenCipher, save_connection, verify_token
from shopify_backfill.shopify.retry import RetryPolicy
from shopify_backfill.wiring import Services

STORE_NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
FAST_RETRY = RetryPolicy(max_attempts=8, base_delay=0.01, max_delay=0.1)
FAST_BULK = BulkPolicy(poll_initial=0.02, poll_max=0.1)


@dataclass
class Shop:
    store: ShopStore
    runtime: EmulatorRuntime
    transport: EmulatorTransport
    token: str

    @property
    def domain(self) -> str:
        return self.store.shop_domain

    @property
    def api_url(self) -> str:
        return f"https://{self.store.shop_domain}"

    def options(self, **overrides: Any) -> RunOptions:
        values: dict[str, Any] = {
            "transport": self.transport,
            "retry": FAST_RETRY,
            "bulk_policy": FAST_BULK,
            "hooks": (trigger_hook,),
        }
        values.update(overrides)
        return RunOptions(**values)


@contextmanager
def open_shop(schema: GraphQLSchema, *, customers: int, orders: int, seed: int) -> Iterator[Shop]:
    store = ShopStore.generate(None, customers=customers, orders=orders, seed=seed, now=STORE_NOW)
    app = create_emulator_app(store, schema=schema, config=EmulatorConfig())
    runtime: EmulatorRuntime = app.state.runtime
    shop = Shop(store, runtime, EmulatorTransport(app), runtime.seed_grant.token)
    try:
        yield shop
    finally:
        runtime.bulk.shutdown()
        shop.transport.close()
        store.close()


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
    secret = SecretStr(shop.token)
    scopes = verify_token(
        shop_domain=shop.domain,
        token=secret,
        api_url=shop.api_url,
        api_version=services.settings.api_version,
        transport=shop.transport,
    )
    with services.engine.begin() as conn:
        workspace_id = create_workspace(
            conn, workspace, notification_emails=[], trigger_historical=trigger_historical
        )
        save_connection(
            conn,
            services.cipher,
            workspace_id=workspace_id,
            shop_domain=shop.domain,
            token=secret,
            scopes=scopes,
            api_url=shop.api_url,
            api_version=services.settings.api_version,
            now=shop.store.now,
        )
        return requests.open_backfill(
            conn, workspace_id=workspace_id, shop_domain=shop.domain, now=datetime.now(UTC)
        )


def start_and_run(services: Services, row: BackfillRow, options: RunOptions) -> RunOutcome:
    with services.engine.begin() as conn:
        requests.start(conn, row, now=datetime.now(UTC))
    return run_backfill(services, row.id, options)
