"""Records not imported, or imported in part, with the reason the report shows.

Entries are unique per record, outcome and reason, so resuming a backfill over the same
bad records does not repeat them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

import sqlalchemy as sa

from shopify_backfill.profiles.dialect import upsert
from shopify_backfill.profiles.results import Issue
from shopify_backfill.profiles.schema import quarantine

REASON_LIMIT: Final = 500


def record_issues(
    conn: sa.Connection,
    workspace_id: int,
    backfill_id: int | None,
    issues: Sequence[Issue],
    now: datetime,
) -> None:
    if not issues:
        return
    rows = [
        {
            "workspace_id": workspace_id,
            "backfill_id": backfill_id,
            "record_kind": issue.record_kind,
            "shopify_id": issue.shopify_id[:128],
            "outcome": issue.outcome,
            "reason": issue.reason[:REASON_LIMIT],
            "payload_excerpt": issue.excerpt,
            "recorded_at": now,
        }
        for issue in issues
    ]
    statement = upsert(conn, quarantine).on_conflict_do_nothing(
        index_elements=["workspace_id", "record_kind", "shopify_id", "outcome", "reason"]
    )
    conn.execute(statement, rows)


def list_issues(
    conn: sa.Connection, workspace_id: int, *, backfill_id: int | None = None
) -> list[Issue]:
    """The workspace's issues (or one backfill's), oldest first."""
    query = (
        sa.select(quarantine)
        .where(quarantine.c.workspace_id == workspace_id)
        .order_by(quarantine.c.id)
    )
    if backfill_id is not None:
        query = query.where(quarantine.c.backfill_id == backfill_id)
    return [
        Issue(
            record_kind=row.record_kind,
            shopify_id=row.shopify_id,
            outcome=row.outcome,
            reason=row.reason,
            excerpt=row.payload_excerpt,
        )
        for row in conn.execute(query)
    ]
