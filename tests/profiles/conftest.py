"""Profile-store fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL tests get a fresh schema per module in the shared ``test`` database (dropped
afterwards), so concurrent runs never see each other; tests isolate themselves further
by creating their own workspace.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from shopify_backfill.mapping.intents import ProductIdentifier
from shopify_backfill.profiles import (
    LoadContext,
    LoadResult,
    create_shop_connection,
    create_workspace,
    load_batch,
)
from shopify_backfill.shopify.records import Customer, Order
from store_engines import BACKENDS, migrated_engine

CONNECTED_AT = datetime(2026, 7, 1, tzinfo=UTC)
LOAD_TIME = datetime(2026, 7, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated store, on each backend."""
    with migrated_engine(request.param, tmp_path_factory.mktemp("store"), "test_profiles") as built:
        yield built


@dataclass
class Store:
    """One workspace with one connected shop, and a shortcut to load into it."""

    engine: Engine
    workspace_id: int
    connection_id: int

    def context(self, backfill_id: int | None = 1) -> LoadContext:
        """Data is historical exactly when it is backfilled."""
        return LoadContext(
            workspace_id=self.workspace_id,
            connection_id=self.connection_id,
            backfill_id=backfill_id,
            historical=backfill_id is not None,
            now=LOAD_TIME,
        )

    def load(self, records: Sequence[Customer | Order], backfill_id: int | None = 1) -> LoadResult:
        with self.engine.begin() as conn:
            return load_batch(conn, self.context(backfill_id), records)


def make_store(engine: Engine, product_identifier: ProductIdentifier = "product_id") -> Store:
    with engine.begin() as conn:
        workspace_id = create_workspace(conn, "Test workspace")
        connection_id = create_shop_connection(
            conn,
            workspace_id,
            "test-shop.myshopify.com",
            connected_at=CONNECTED_AT,
            granted_scopes=["read_customers", "read_orders", "read_all_orders"],
            product_identifier=product_identifier,
        )
    return Store(engine, workspace_id, connection_id)


@pytest.fixture
def store(engine: Engine) -> Store:
    """A fresh workspace in the module's store."""
    return make_store(engine)
