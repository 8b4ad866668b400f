"""Reading a backfill's state from any process: what ``status`` and the web page show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shopify_backfill.backfill.notify import deliveries_of
from shopify_backfill.backfill.progress import progress_view
from shopify_backfill.backfill.store import BackfillRow, get_backfill


def status_view(row: BackfillRow, *, now: datetime | None = None) -> dict[str, Any]:
    view = progress_view(
        row.progress,
        status=row.status,
        status_label=row.status_label,
        failure_reason=row.failure_reason,
        now=now,
    )
    view["backfill_id"] = row.id
    view["shop"] = row.shop_domain
    view["window"] = {"start": row.window.start.isoformat(), "end": row.window.end.isoformat()}
    view["started_at"] = row.started_at.isoformat() if row.started_at else None
    view["finished_at"] = row.finished_at.isoformat() if row.finished_at else None
    view["attempts"] = row.attempts
    return view


def read_status(
    conn: sa.Connection, backfill_id: int, *, workspace_id: int | None = None
) -> dict[str, Any]:
    """Status, live progress, the report once completed, and the emails sent about it.

    ``workspace_id`` confines the read to one tenant (the web page always passes it).
    """
    row = get_backfill(conn, backfill_id, workspace_id=workspace_id)
    view = status_view(row)
    view["report"] = row.report
    view["emails"] = [
        {
            "kind": delivery.kind,
            "status": delivery.status,
            "to": list(delivery.recipients),
            "attempts": delivery.attempts,
            "delivered_to": delivery.delivered_to,
            "last_error": delivery.last_error,
        }
        for delivery in deliveries_of(conn, backfill_id)
    ]
    return view
