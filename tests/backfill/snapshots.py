"""What "the same final store" means for the resume and crash tests.

Profiles with attributes, aliases, subscriptions, events and purchases (the export has
no internal ids), the data-point total and the report's counts, without the fields that
legitimately differ between runs (timestamps, durations, attempt numbers, row ids).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shopify_backfill.backfill.store import get_backfill
from shopify_backfill.profiles import datapoint_total, export_profiles
from shopify_backfill.profiles.schema import custom_events, purchases, user_subscriptions
from shopify_backfill.profiles.types import json_dumps

VOLATILE_REPORT_KEYS = ("backfill_id", "started_at", "finished_at", "duration_ms", "attempts")


def store_snapshot(conn: sa.Connection, backfill_id: int) -> dict[str, Any]:
    row = get_backfill(conn, backfill_id)
    workspace_id = row.workspace_id
    report = dict(row.report or {})
    for key in VOLATILE_REPORT_KEYS:
        report.pop(key, None)

    def count(table: sa.Table) -> int:
        query = sa.select(sa.func.count()).where(table.c.workspace_id == workspace_id)
        return int(conn.execute(query).scalar_one())

    return {
        "status": row.status,
        "profiles": json_dumps(export_profiles(conn, workspace_id)),
        "events": count(custom_events),
        "purchases": count(purchases),
        "subscriptions": count(user_subscriptions),
        "data_points": datapoint_total(conn, workspace_id, backfill_id=backfill_id),
        "counts": row.counts,
        "report": json_dumps(report),
    }
