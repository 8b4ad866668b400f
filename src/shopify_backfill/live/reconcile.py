"""Reconciliation: what Shopify changed since the last reconciled point, read and applied.

Shopify does not promise to deliver every webhook. A periodic pass (and ``shopify-backfill
live reconcile`` on demand) reads the shop's customers and orders *updated* since the
shop's reconciled point with the same paced client as the backfill, and applies each
through ``process.apply_record``, so a lost delivery is caught within one interval and a
delivery that did arrive changes nothing a second time (newest wins, the loader
deduplicates). The first point is the shop's ``connected_at``: before it, the backfill's
window. Each pass starts ``OVERLAP`` before the last point, because an object written on
Shopify's side just before a pass may only become visible to search after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import sqlalchemy as sa

from shopify_backfill.backfill.ports import AfterBatchHook
from shopify_backfill.errors import InputError
from shopify_backfill.live.process import apply_record
from shopify_backfill.live.tables import live_sync_state
from shopify_backfill.profiles.dialect import upsert
from shopify_backfill.profiles.schema import shop_connections
from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.paginate import PagedReader
from shopify_backfill.shopify.queries import window_filter
from shopify_backfill.shopify.records import Customer, Order

OVERLAP: Final = timedelta(minutes=5)


@dataclass
class Reconciled:
    since: datetime
    until: datetime
    read: int = 0
    applied: int = 0
    stale: int = 0
    backfills: int = 0
    unreadable: int = 0


def reconciled_point(conn: sa.Connection, shop_domain: str) -> datetime | None:
    """Where the next pass starts: the last pass's end, else the earliest connection."""
    point: datetime | None = conn.execute(
        sa.select(live_sync_state.c.reconciled_through).where(
            live_sync_state.c.shop_domain == shop_domain
        )
    ).scalar_one_or_none()
    if point is not None:
        return point - OVERLAP
    connected: datetime | None = conn.execute(
        sa.select(sa.func.min(shop_connections.c.connected_at)).where(
            shop_connections.c.shop_domain == shop_domain
        )
    ).scalar_one_or_none()
    return connected


def reconcile(
    engine: sa.Engine,
    client: AdminClient,
    shop_domain: str,
    *,
    until: datetime,
    hooks: Sequence[AfterBatchHook] = (),
    now: datetime | None = None,
) -> Reconciled:
    """One pass over ``[reconciled point, until)``; records the new point at the end."""
    with engine.connect() as conn:
        since = reconciled_point(conn, shop_domain)
    if since is None:
        raise InputError(f"{shop_domain} is not connected to any workspace")
    report = Reconciled(since=since, until=until)
    if since >= until:
        return report
    reader = PagedReader(
        client,
        orders_search=window_filter(since, until, "updated_at"),
        customers_search=window_filter(since, until, "updated_at"),
    )
    stamp = now or datetime.now(UTC)
    # Customers first: an order's buyer then finds its profile's attributes in place.
    for pages in (reader.customer_pages(None), reader.order_pages(None)):
        for page in pages:
            with engine.begin() as conn:
                for record in page.records:
                    report.read += 1
                    if not isinstance(record, Customer | Order):
                        report.unreadable += 1
                        continue
                    outcome = apply_record(conn, shop_domain, record, hooks, stamp)
                    setattr(report, outcome, getattr(report, outcome) + 1)
    with engine.begin() as conn:
        statement = upsert(conn, live_sync_state).values(
            shop_domain=shop_domain, reconciled_through=until
        )
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["shop_domain"],
                set_={"reconciled_through": statement.excluded.reconciled_through},
            )
        )
    return report
