"""The two ends of a backfill: completed once, or failed with a reason, both notified.

Shared by the single-process run and the coordinator of a sharded one, so that a
merchant gets the same report, notification and email whichever way it ran. Each is
one transaction under the backfill's lease: the status change, the report, the
dashboard note and the queued email commit together or not at all (emails are
delivered after the commit, from the outbox).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from shopify_backfill.backfill.errors import BackfillStateError
from shopify_backfill.backfill.notify import post_notification, queue_email
from shopify_backfill.backfill.ports import CompletionNote, Destination
from shopify_backfill.backfill.progress import Progress
from shopify_backfill.backfill.report import build_report, render_report
from shopify_backfill.backfill.store import BackfillRow, Lease, complete, fail, get_backfill

log = logging.getLogger(__name__)


def complete_backfill(
    conn: sa.Connection,
    lease: Lease,
    progress: Progress,
    *,
    connection_id: int,
    completion_notes: Sequence[CompletionNote],
    now: datetime,
    destination: Destination | None = None,
) -> dict[str, Any]:
    """Report, ``completed``, notification and queued email, on ``conn``'s transaction.

    A destination that still has something to deliver refuses the completion: Completed
    means the merchant's data is where they sent it.
    """
    row = get_backfill(conn, lease.backfill_id)
    if destination is not None and (left := destination.unfinished(conn, row.id)):
        raise BackfillStateError(
            f"backfill {row.id} cannot complete: {left} requests to {destination.name} are "
            "not delivered yet"
        )
    data_workspace = destination.data_workspace_id if destination is not None else None
    report = build_report(
        conn,
        backfill_id=row.id,
        workspace_id=data_workspace or row.workspace_id,
        shop_domain=row.shop_domain,
        window_start=row.window.start,
        window_end=row.window.end,
        mode=row.extraction_mode,
        counts=row.counts,
        started_at=row.started_at,
        finished_at=now,
        attempts=row.attempts,
    )
    follow_up = [
        line for note in completion_notes if (line := note(conn, row.workspace_id, connection_id))
    ]
    report["follow_up"] = follow_up
    # What the run read, for the next preview's duration estimate (web/estimate.py).
    report["records_read"] = {"customers": progress.customers_done, "orders": progress.orders_done}
    delivery = destination.summary(conn, row.id) if destination is not None else None
    if delivery is not None:
        report["delivery"] = delivery
    complete(conn, lease, report=report, progress=progress, now=now)
    post_notification(
        conn,
        workspace_id=row.workspace_id,
        backfill_id=row.id,
        kind="completed",
        level="success",
        title=f"Shopify backfill of {row.shop_domain} completed",
        body=(
            f"{report['customers']['created']} customers created, "
            f"{report['orders']['imported']} orders and "
            f"{report['purchases']} purchases imported, "
            f"{report['data_points']['total']} data points."
            + "".join(f" {line}" for line in follow_up)
        ),
        now=now,
    )
    queue_email(
        conn,
        workspace_id=row.workspace_id,
        backfill_id=row.id,
        kind="completed",
        subject=f"Shopify backfill of {row.shop_domain} completed",
        body=render_report(report) + "\n",
        now=now,
    )
    return report


def record_failure(
    engine: sa.Engine,
    lease: Lease,
    row: BackfillRow,
    progress: Progress,
    reason: str,
    *,
    notify: bool = True,
) -> None:
    """``failed`` (resumable) with ``reason``; ``notify`` adds the dashboard note and the
    email. Never raises: a failure to record a failure is logged."""
    now = datetime.now(UTC)
    progress.phase = "failed"
    progress.updated_at = now
    try:
        with engine.begin() as conn:
            if not fail(conn, lease, reason=reason, progress=progress, now=now):
                return
            if not notify:
                return
            shop = row.shop_domain
            post_notification(
                conn,
                workspace_id=row.workspace_id,
                backfill_id=row.id,
                kind="failed",
                level="error",
                title=f"Shopify backfill of {shop} failed - resumable",
                body=reason,
                now=now,
            )
            queue_email(
                conn,
                workspace_id=row.workspace_id,
                backfill_id=row.id,
                kind="failed",
                subject=f"Shopify backfill of {shop} failed - resumable",
                body=(
                    f"The backfill of {shop} stopped: {reason}\n\n"
                    "Nothing already imported is lost. Resume it from the partner page or "
                    f"with `shopify-backfill backfill resume --shop {shop}`; it continues "
                    "from its last checkpoint.\n"
                ),
                now=now,
            )
    except Exception:
        log.exception("backfill %s: could not record the failure", row.id)
