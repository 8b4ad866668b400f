"""The preview (with its risk audit's dry run) never holds the live SQLite file's lock."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

import httpx

from shopify_backfill.campaigns import add_campaigns, parse_spec
from shopify_backfill.wiring import make_preview

from .conftest import Shop, connect


class WritingTransport(httpx.BaseTransport):
    """Before each Shopify call of the preview, another writer takes the file's lock."""

    def __init__(self, inner: httpx.BaseTransport, database: str) -> None:
        self.inner = inner
        self.database = database
        self.attempts: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            with closing(sqlite3.connect(self.database, timeout=0.2)) as other:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            self.attempts.append("written")
        except sqlite3.OperationalError as error:
            self.attempts.append(str(error))
        return self.inner.handle_request(request)


def test_a_dry_run_preview_leaves_the_store_writable(make_shop: Any, make_services: Any) -> None:
    shop: Shop = make_shop(customers=30, orders=120, seed=5)
    services = make_services()
    assert services.engine.dialect.name == "sqlite"
    row = connect(services, shop)
    spec = {"name": "Post-purchase", "start_at": "2026-01-01T00:00:00Z"}
    with services.engine.begin() as conn:
        add_campaigns(
            conn, row.workspace_id, [parse_spec({**spec, "trigger": {"type": "make_purchase"}})]
        )
    database = services.engine.url.database
    assert database is not None
    watcher = WritingTransport(shop.transport, database)
    preview = make_preview(services, row, shop.options(transport=watcher))
    [risk] = [section for section in preview.sections if section.key == "campaign_risk"]
    assert any(line.startswith("window read:") for line in risk.lines), risk.lines
    assert len(watcher.attempts) >= 3, "preflight, counts and the dry run's extraction"
    assert set(watcher.attempts) == {"written"}
