"""The data-point ledger: what each load cost, per workspace and per backfill (SPEC §3.5).

One row per category per batch keeps the ledger small and append-only; totals are sums.
The figures come from ``writes.load_batch``, which counts only writes that happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa

from shopify_backfill.profiles.schema import datapoint_ledger

CATEGORIES = ("attributes", "events", "event_properties", "purchases", "purchase_properties")


def record_datapoints(
    conn: sa.Connection,
    workspace_id: int,
    backfill_id: int | None,
    amounts: Mapping[str, int],
    now: datetime,
) -> None:
    rows = [
        {
            "workspace_id": workspace_id,
            "backfill_id": backfill_id,
            "category": category,
            "amount": amount,
            "recorded_at": now,
        }
        for category, amount in amounts.items()
        if amount
    ]
    if rows:
        conn.execute(sa.insert(datapoint_ledger), rows)


def datapoint_total(
    conn: sa.Connection, workspace_id: int, *, backfill_id: int | None = None
) -> int:
    """Data points used by the workspace, or by one of its backfills when given."""
    query = sa.select(sa.func.coalesce(sa.func.sum(datapoint_ledger.c.amount), 0)).where(
        datapoint_ledger.c.workspace_id == workspace_id
    )
    if backfill_id is not None:
        query = query.where(datapoint_ledger.c.backfill_id == backfill_id)
    return int(conn.execute(query).scalar_one())


def datapoint_breakdown(
    conn: sa.Connection, workspace_id: int, *, backfill_id: int | None = None
) -> dict[str, int]:
    """Totals per category (attributes, events, event_properties, ...)."""
    query = (
        sa.select(datapoint_ledger.c.category, sa.func.sum(datapoint_ledger.c.amount))
        .where(datapoint_ledger.c.workspace_id == workspace_id)
        .group_by(datapoint_ledger.c.category)
    )
    if backfill_id is not None:
        query = query.where(datapoint_ledger.c.backfill_id == backfill_id)
    return {category: int(amount) for category, amount in conn.execute(query)}
