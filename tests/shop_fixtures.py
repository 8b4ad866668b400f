"""An in-process emulator store connected to a workspace through the real services.

Shared by the backfill and campaign end-to-end tests: the same path the CLI and the
workers take (verified token, encrypted connection, backfill row, the runner with its
after-batch hooks). The emulator runs on the real clock (bulk jobs on real threads);
stores stay small and polls short so that a full run takes a second or two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graphql import GraphQLSchema
from pydantic import SecretStr
from sqlalchemy import Connection

from shopify_backfill.backfill import requests
from shopify_backfill.backfill.ports import AfterBatchHook
from shopify_backfill.backfill.runner import RunOptions, RunOutcome, run_backfill
from shopify_backfill.backfill.store import BackfillRow
from shopify_backfill.profiles.connections import save_connection
from shopify_backfill.profiles.workspaces import create_workspace
from shopify_backfill.shopify.bulk import BulkPolicy
from shopify_backfill.shopify.retry import RetryPolicy
from shopify_backfill.shopify.verify import verify_token
from shopify_backfill.wiring import Services
from shopify_emulator.app import create_emulator_app
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.runtime import EmulatorRuntime
from shopify_emulator.store import ShopStore
from shopify_emulator.transport import EmulatorTransport

STORE_NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
FAST_RETRY = RetryPolicy(max_attempts=8, base_delay=0.01, max_delay=0.1)
FAST_BULK = BulkPolicy(poll_initial=0.02, poll_max=0.1)
RECIPIENTS = ("merchant@example.com", "ops@example.com")


@dataclass
class Shop:
    """A running in-process emulator and what a client needs to reach it."""

    store: ShopStore
    runtime: EmulatorRuntime
    transport: EmulatorTransport
    token: str
    hooks: Sequence[AfterBatchHook] = ()
    """After-batch hooks every run of this shop gets (the campaign tests' trigger engine)."""

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
            "hooks": tuple(self.hooks),
        }
        values.update(overrides)
        return RunOptions(**values)


def open_shop(
    schema: GraphQLSchema,
    *,
    customers: int,
    orders: int,
    seed: int,
    config: EmulatorConfig | None = None,
    path: Path | None = None,
    hooks: Sequence[AfterBatchHook] = (),
) -> Shop:
    store = ShopStore.generate(path, customers=customers, orders=orders, seed=seed, now=STORE_NOW)
    app = create_emulator_app(store, schema=schema, config=config or EmulatorConfig())
    runtime: EmulatorRuntime = app.state.runtime
    return Shop(store, runtime, EmulatorTransport(app), runtime.seed_grant.token, hooks)


def close_shop(shop: Shop) -> None:
    shop.runtime.bulk.shutdown()
    shop.runtime.webhooks.close()
    shop.transport.close()
    shop.store.close()


def connect(
    services: Services,
    shop: Shop,
    *,
    workspace: str = "acme",
    emails: tuple[str, ...] = RECIPIENTS,
    token: str | None = None,
    trigger_historical: bool = False,
) -> BackfillRow:
    """Connect ``shop`` to a new workspace as of the store's "now"; the backfill row."""
    with services.engine.begin() as conn:
        workspace_id = create_workspace(
            conn,
            workspace,
            notification_emails=list(emails),
            trigger_historical=trigger_historical,
        )
        save_verified_token(
            conn, services, shop, workspace_id, token or shop.token, now=shop.store.now
        )
        return requests.open_backfill(
            conn, workspace_id=workspace_id, shop_domain=shop.domain, now=datetime.now(UTC)
        )


def save_verified_token(
    conn: Connection,
    services: Services,
    shop: Shop,
    workspace_id: int,
    token: str,
    *,
    now: datetime | None = None,
) -> None:
    """What ``shopify-backfill connect --token`` does: prove the token, store it encrypted."""
    secret = SecretStr(token)
    scopes = verify_token(
        shop_domain=shop.domain,
        token=secret,
        api_url=shop.api_url,
        api_version=services.settings.api_version,
        transport=shop.transport,
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
        now=now,
    )


def start_and_run(services: Services, row: BackfillRow, options: RunOptions) -> RunOutcome:
    with services.engine.begin() as conn:
        requests.start(conn, row, now=datetime.now(UTC))
    return run_backfill(services, row.id, options)
