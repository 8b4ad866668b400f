"""Campaign fixtures: a migrated store on SQLite and PostgreSQL, a connected workspace.

PostgreSQL runs in a fresh schema per module (dropped afterwards), so concurrent runs
in the shared ``test`` database never see each other; each test creates its own
workspace on top.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopify_backfill.campaigns import CampaignSpec, add_campaigns, parse_spec, trigger_hook
from shopify_backfill.campaigns.tables import triggered_messages
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
SHOP = "test-shop.myshopify.com"


@pytest.fixture(scope="module", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated store, on each backend."""
    with migrated_engine(
        request.param, tmp_path_factory.mktemp("campaigns"), "test_campaigns"
    ) as built:
        yield built


@dataclass
class Workspace:
    """One workspace with one connected shop; loads run the trigger hook like the runner."""

    engine: Engine
    workspace_id: int
    connection_id: int

    def context(self, *, historical: bool = True, now: datetime | None = None) -> LoadContext:
        return LoadContext(
            workspace_id=self.workspace_id,
            connection_id=self.connection_id,
            backfill_id=1 if historical else None,
            historical=historical,
            now=now,
        )

    def load(
        self,
        records: Sequence[Customer | Order],
        *,
        historical: bool = True,
        now: datetime | None = None,
    ) -> LoadResult:
        ctx = self.context(historical=historical, now=now)
        with self.engine.begin() as conn:
            result = load_batch(conn, ctx, records)
            trigger_hook(conn, ctx, result)
        return result

    def add(self, *specs: CampaignSpec | dict[str, object]) -> None:
        parsed = [s if isinstance(s, CampaignSpec) else parse_spec(s) for s in specs]
        with self.engine.begin() as conn:
            add_campaigns(conn, self.workspace_id, parsed)

    def outbox(self) -> list[sa.Row[tuple[object, ...]]]:
        tm = triggered_messages
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(tm).where(tm.c.workspace_id == self.workspace_id).order_by(tm.c.id)
                )
            )


def make_workspace(
    engine: Engine, *, trigger_historical: bool = False, shop: str = SHOP
) -> Workspace:
    with engine.begin() as conn:
        workspace_id = create_workspace(
            conn, "Campaign tests", trigger_historical=trigger_historical
        )
        connection_id = create_shop_connection(conn, workspace_id, shop, connected_at=CONNECTED_AT)
    return Workspace(engine, workspace_id, connection_id)
